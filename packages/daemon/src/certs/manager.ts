// perNodeCertificate: the daemon talks to the API server as `system:multus:<node>` with a client certificate of
// its own, obtained with the bootstrap kubeconfig through a CertificateSigningRequest and rotated before it
// expires (client-go's certificate manager, as upstream's PerNodeK8sClient uses it):
// - at start a stored, unexpired certificate for this node is reused; otherwise one is requested, waiting up to
//   2 minutes, and the daemon does not start without it;
// - rotation is due at a random point between 70% and 90% of the certificate's lifetime; the new CSR is sent with
//   the current certificate when it still works (GET /version), else with the bootstrap credentials, which are
//   re-read from their file every time (a rotated bootstrap token or CA is picked up);
// - a failed rotation is retried with capped exponential backoff while the current certificate stays in use.
import type { KubeTarget } from '../kube/config.ts';
import { serverVersion, submitCsr, waitForCertificate } from '../kube/csr.ts';
import { KubeClient } from '../kube/http.ts';
import { createCsrPem, keyToPem, multusNodeSubject, newClientKey } from './csr.ts';
import { CertStoreError, loadCert, matchesSubject, type StoredCert, saveCert } from './store.ts';

/** Where in a certificate's lifetime rotation may fall (client-go: 70% plus up to 20% jitter). */
export const ROTATION_WINDOW = { from: 0.7, to: 0.9 } as const;
/** How long the daemon waits for its first certificate (upstream: 2 min, polled every second). */
export const DEFAULT_WAIT_MS = 120_000;
const RETRY_FIRST_MS = 2_000;
const RETRY_MAX_MS = 5 * 60_000;
/** setTimeout's limit; longer waits are split. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The rotation deadline of a certificate valid from `notBefore` to `notAfter` (ms since epoch). */
export function rotationDeadline(
  notBefore: number,
  notAfter: number,
  random: () => number = Math.random,
): number {
  const r = Math.min(1, Math.max(0, random()));
  const fraction = ROTATION_WINDOW.from + (ROTATION_WINDOW.to - ROTATION_WINDOW.from) * r;
  return notBefore + (notAfter - notBefore) * fraction;
}

/** The bootstrap target with its credentials replaced by the node's certificate (no token). */
export function perNodeTarget(bootstrap: KubeTarget, cert: StoredCert): KubeTarget {
  return {
    server: bootstrap.server,
    ...(bootstrap.ca ? { ca: bootstrap.ca } : {}),
    cert: Buffer.from(cert.certPem),
    key: Buffer.from(cert.keyPem),
    insecureSkipTlsVerify: bootstrap.insecureSkipTlsVerify,
    token: () => undefined,
  };
}

export type CertLog = (
  level: 'info' | 'warn' | 'error',
  msg: string,
  fields?: Record<string, unknown>,
) => void;

export interface CertManagerOptions {
  certDir: string;
  nodeName: string;
  certDurationMs: number;
  /** Loads the bootstrap credentials; called whenever they are needed, so the file is re-read. */
  bootstrap: () => Promise<KubeTarget>;
  log?: CertLog;
  /** Deadline for one certificate request (and for the first certificate). Default 2 min. */
  waitTimeoutMs?: number;
  /** Source of the rotation jitter, 0..1. */
  random?: () => number;
}

const describe = (err: unknown): string => (err === undefined ? '<nil>' : (err as Error).message);

export class CertManager {
  readonly #opts: CertManagerOptions;
  readonly #subject;
  #current: StoredCert | undefined;
  #rotateAt: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #retryMs = RETRY_FIRST_MS;
  #onRotate: ((target: KubeTarget) => void) | undefined;
  #stopped = false;
  /** Aborted by stop(): cuts a CSR round trip short so shutdown stays bounded. */
  readonly #abort = new AbortController();
  #rotating: Promise<void> | undefined;

  constructor(opts: CertManagerOptions) {
    this.#opts = opts;
    this.#subject = multusNodeSubject(opts.nodeName);
  }

  get current(): StoredCert | undefined {
    return this.#current;
  }

  /** When the next rotation is due (ms since epoch), once scheduled. */
  get rotateAt(): number | undefined {
    return this.#rotateAt;
  }

  #log(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
    this.#opts.log?.(level, msg, { ...fields, area: 'certs' });
  }

  /** The stored certificate when it is for this node and not expired; otherwise why not. */
  async #loadUsable(): Promise<StoredCert> {
    const stored = await loadCert(this.#opts.certDir);
    if (!matchesSubject(stored.leaf, this.#subject)) {
      throw new CertStoreError(
        'invalid',
        `the stored certificate is for ${stored.leaf.subject.replace(/\n/g, ', ')}`,
      );
    }
    if (stored.notAfter <= Date.now()) {
      throw new CertStoreError(
        'invalid',
        `the stored certificate expired at ${new Date(stored.notAfter).toISOString()}`,
      );
    }
    return stored;
  }

  /**
   * The per-node target to build the daemon's client with: the stored certificate, or a new one. Rejects with
   * upstream's `certificate was not signed, ...` once the wait is over.
   */
  async init(): Promise<KubeTarget> {
    let storeErr: unknown;
    try {
      this.#current = await this.#loadUsable();
    } catch (err) {
      storeErr = err;
      this.#log('info', 'no usable per-node certificate: requesting one', { reason: describe(err) });
    }
    if (this.#current) {
      this.#log('info', 'using the stored per-node certificate', this.#certFields(this.#current));
      return perNodeTarget(await this.#opts.bootstrap(), this.#current);
    }
    const deadline = Date.now() + (this.#opts.waitTimeoutMs ?? DEFAULT_WAIT_MS);
    let lastErr: unknown;
    while (!this.#stopped && Date.now() < deadline) {
      try {
        const { target } = await this.#obtain(deadline);
        return target;
      } catch (err) {
        lastErr = err;
        this.#log('warn', 'per-node certificate request failed: retrying', { err: describe(err) });
        await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, deadline - Date.now()))));
      }
    }
    throw new Error(
      `certificate was not signed, last cert store err: ${describe(storeErr)} err: ${describe(lastErr)}`,
    );
  }

  /** Starts rotating; `onRotate` gets the target with each new certificate. */
  start(onRotate: (target: KubeTarget) => void): void {
    this.#onRotate = onRotate;
    this.#scheduleNext();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    if (this.#timer) clearTimeout(this.#timer);
    await this.#rotating?.catch(() => undefined);
  }

  /** Rotates now (what the timer does when the deadline comes). */
  rotateNow(): Promise<void> {
    this.#rotating ??= this.#rotate().finally(() => {
      this.#rotating = undefined;
    });
    return this.#rotating;
  }

  #scheduleNext(): void {
    const cert = this.#current;
    if (!cert || this.#stopped) return;
    this.#rotateAt = rotationDeadline(cert.notBefore, cert.notAfter, this.#opts.random);
    this.#log('info', 'per-node certificate rotation scheduled', {
      ...this.#certFields(cert),
      rotateAt: new Date(this.#rotateAt).toISOString(),
    });
    this.#armAt(this.#rotateAt);
  }

  #armAt(when: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    const delay = Math.max(0, when - Date.now());
    this.#timer = setTimeout(
      () => {
        if (Date.now() < when) this.#armAt(when);
        else void this.rotateNow();
      },
      Math.min(delay, MAX_TIMER_MS),
    );
    this.#timer.unref();
  }

  async #rotate(): Promise<void> {
    if (this.#stopped) return;
    try {
      const { target } = await this.#obtain(Date.now() + (this.#opts.waitTimeoutMs ?? DEFAULT_WAIT_MS));
      this.#retryMs = RETRY_FIRST_MS;
      if (this.#stopped) return;
      this.#onRotate?.(target);
      this.#scheduleNext();
    } catch (err) {
      if (this.#stopped) return; // cut short by stop(): not a failure
      const retryIn = this.#retryMs;
      this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
      this.#log('error', 'per-node certificate rotation failed: keeping the current certificate', {
        err: describe(err),
        retryInMs: retryIn,
      });
      this.#armAt(Date.now() + retryIn);
    }
  }

  /** One CSR round trip: key, request, approval and signature, then the store. */
  async #obtain(deadline: number): Promise<{ cert: StoredCert; target: KubeTarget }> {
    const bootstrap = await this.#opts.bootstrap();
    const { client, via } = await this.#csrClient(bootstrap);
    const signal = this.#abort.signal;
    // Closing the client fails a request in flight at once.
    const onAbort = () => client.close();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal.aborted) throw new Error('the certificate manager is stopped');
      const key = await newClientKey();
      const expirationSeconds = Math.floor(this.#opts.certDurationMs / 1000);
      const csr = await submitCsr(client, createCsrPem(this.#subject, key), expirationSeconds);
      this.#log('info', 'certificate signing request created: waiting for its approval', {
        csr: csr.name,
        via,
      });
      const certPem = await waitForCertificate(client, csr, Math.max(0, deadline - Date.now()), signal);
      if (signal.aborted) throw new Error('the certificate manager is stopped');
      const cert = await saveCert(this.#opts.certDir, certPem, keyToPem(key));
      if (!matchesSubject(cert.leaf, this.#subject)) {
        this.#log('warn', 'the signer issued a certificate with another subject', this.#certFields(cert));
      }
      this.#current = cert;
      this.#log('info', 'per-node certificate issued', { ...this.#certFields(cert), csr: csr.name });
      return { cert, target: perNodeTarget(bootstrap, cert) };
    } finally {
      signal.removeEventListener('abort', onAbort);
      client.close();
    }
  }

  /** The current certificate's client when the server still accepts it, else the bootstrap credentials'. */
  async #csrClient(bootstrap: KubeTarget): Promise<{ client: KubeClient; via: string }> {
    const cur = this.#current;
    if (cur && cur.notAfter > Date.now()) {
      const client = new KubeClient(perNodeTarget(bootstrap, cur), { maxSockets: 2 });
      try {
        await serverVersion(client);
        return { client, via: 'current certificate' };
      } catch (err) {
        client.close();
        this.#log('warn', 'the current certificate is not accepted: using the bootstrap credentials', {
          err: describe(err),
        });
      }
    }
    return { client: new KubeClient(bootstrap, { maxSockets: 2 }), via: 'bootstrap kubeconfig' };
  }

  #certFields(cert: StoredCert): Record<string, unknown> {
    return {
      serial: cert.leaf.serialNumber,
      notBefore: new Date(cert.notBefore).toISOString(),
      notAfter: new Date(cert.notAfter).toISOString(),
    };
  }
}
