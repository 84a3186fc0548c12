// The certificates.k8s.io/v1 side of a per-node certificate (certs/): create a CertificateSigningRequest for
// the kube-apiserver-client signer, then wait until it is approved and signed (or denied, or failed). Only create,
// get and watch are used, so a bootstrap credential that may do nothing else is enough. These calls are made with
// the bootstrap or the node's own credentials, never with the daemon's service account.
import { z } from 'zod';
import { seg } from './client.ts';
import type { KubeClient } from './http.ts';

export const CSR_PATH = '/apis/certificates.k8s.io/v1/certificatesigningrequests';
export const KUBE_APISERVER_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client';
export const CLIENT_USAGES = ['digital signature', 'client auth'] as const;

const conditionSchema = z.object({
  type: z.string(),
  status: z.string().optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
});

/** What the daemon reads of a CertificateSigningRequest: zod at the API boundary. */
const csrSchema = z.object({
  metadata: z.object({
    name: z.string().optional(),
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
  }),
  status: z
    .object({
      certificate: z.string().optional(),
      conditions: z.array(conditionSchema).optional(),
    })
    .optional(),
});

type CsrObject = z.infer<typeof csrSchema>;

/** A final answer that waiting longer cannot change: denied, failed, replaced or deleted. */
export class CsrRejectedError extends Error {
  override readonly name = 'CsrRejectedError';
}

export interface SubmittedCsr {
  name: string;
  uid: string;
  resourceVersion: string;
}

function parseCsr(obj: unknown, what: string): CsrObject {
  const r = csrSchema.safeParse(obj);
  if (!r.success)
    throw new Error(`${what}: not a CertificateSigningRequest: ${r.error.issues[0]?.message ?? ''}`);
  return r.data;
}

/** Creates the request (generated name `csr-…`, as client-go names it) and returns its identity. */
export async function submitCsr(
  client: KubeClient,
  csrPem: string,
  expirationSeconds: number,
): Promise<SubmittedCsr> {
  const body = {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { generateName: 'csr-' },
    spec: {
      request: Buffer.from(csrPem).toString('base64'),
      signerName: KUBE_APISERVER_CLIENT_SIGNER,
      expirationSeconds,
      usages: [...CLIENT_USAGES],
    },
  };
  let created: CsrObject;
  try {
    created = parseCsr(await client.request('POST', CSR_PATH, { body }), 'create');
  } catch (err) {
    throw new Error(`cannot create certificate signing request: ${(err as Error).message}`);
  }
  const { name, uid, resourceVersion } = created.metadata;
  if (!name || !uid)
    throw new Error('cannot create certificate signing request: the answer has no name or uid');
  return { name, uid, resourceVersion: resourceVersion ?? '' };
}

/** The issued PEM, an Error for a final refusal, or undefined while the request is pending. */
function outcomeOf(csr: CsrObject, want: SubmittedCsr): string | Error | undefined {
  if (csr.metadata.uid !== undefined && csr.metadata.uid !== want.uid) {
    return new CsrRejectedError(
      `certificate signing request "${want.name}" was replaced (uid ${csr.metadata.uid})`,
    );
  }
  const conditions = (csr.status?.conditions ?? []).filter((c) => (c.status ?? 'True') === 'True');
  for (const type of ['Denied', 'Failed'] as const) {
    const c = conditions.find((x) => x.type === type);
    if (c) {
      const what = type === 'Denied' ? 'is denied' : 'failed';
      return new CsrRejectedError(
        `certificate signing request ${what}, reason: ${c.reason ?? ''}, message: ${c.message ?? ''}`,
      );
    }
  }
  const approved = conditions.some((c) => c.type === 'Approved');
  const cert = csr.status?.certificate;
  if (!approved || !cert) return undefined;
  const pem = Buffer.from(cert, 'base64').toString('utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    return new CsrRejectedError(
      `certificate signing request "${want.name}": status.certificate holds no PEM certificate`,
    );
  }
  return pem;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Waits for the request's certificate: a GET, then a watch of that one object (field selector on its name) until
 * a decisive event; a broken watch falls back to another GET after a second. Rejects on denial, failure, a
 * replaced object or the deadline.
 */
export async function waitForCertificate(
  client: KubeClient,
  csr: SubmittedCsr,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted) throw new Error(`stopped waiting for certificate signing request "${csr.name}"`);
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    let rv: string;
    try {
      const current = parseCsr(
        await client.request('GET', `${CSR_PATH}/${seg(csr.name)}`, { timeoutMs: remaining }),
        'get',
      );
      const done = outcomeOf(current, csr);
      if (done instanceof Error) throw done;
      if (done !== undefined) return done;
      rv = current.metadata.resourceVersion ?? '';
    } catch (err) {
      if (err instanceof CsrRejectedError) throw err;
      await sleep(Math.min(1000, Math.max(0, deadline - Date.now())), signal);
      continue;
    }
    let outcome: string | Error | undefined;
    const abort = new AbortController();
    const stop = () => abort.abort();
    signal?.addEventListener('abort', stop, { once: true });
    const timer = setTimeout(stop, Math.max(1, deadline - Date.now()));
    try {
      await client.watch(
        CSR_PATH,
        {
          fieldSelector: `metadata.name=${csr.name}`,
          resourceVersion: rv,
          timeoutSeconds: String(Math.max(1, Math.ceil((deadline - Date.now()) / 1000))),
        },
        (type, obj) => {
          if (type === 'DELETED')
            outcome = new CsrRejectedError(`certificate signing request "${csr.name}" was deleted`);
          else if (type === 'ADDED' || type === 'MODIFIED') {
            const parsed = csrSchema.safeParse(obj);
            if (parsed.success) outcome = outcomeOf(parsed.data, csr);
          }
          if (outcome !== undefined || type === 'ERROR') abort.abort();
        },
        abort.signal,
        Math.max(1000, deadline - Date.now() + 5000),
      );
    } catch {
      // aborted (decided or out of time) or broken: decided below, or retried with a GET
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', stop);
    }
    if (outcome instanceof Error) throw outcome;
    if (outcome !== undefined) return outcome;
    // The watch ended undecided (server timeout, 410, a broken stream): look again shortly.
    await sleep(Math.min(1000, Math.max(0, deadline - Date.now())), signal);
  }
  throw new Error(`timed out waiting for certificate signing request "${csr.name}" to be signed`);
}

/** GET /version: whether the server accepts these credentials at all (how client-go validates a certificate). */
export async function serverVersion(client: KubeClient, timeoutMs = 10_000): Promise<void> {
  await client.request('GET', '/version', { timeoutMs });
}
