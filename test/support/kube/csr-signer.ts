// A test-side approver and signer for CertificateSigningRequests: what upstream's cert-approver and the
// kube-controller-manager's kube-apiserver-client signer do in a cluster. It watches the emulator's store, checks
// each new request with openssl (signature, subject), decides (by default with cert-approver's rules), writes the
// Approved or Denied condition through the `approval` subresource rules and the certificate, signed with the
// emulator's CA by `openssl ca`, through the `status` ones. Validity defaults to the real signer's: from 5 minutes
// before now until now + expirationSeconds; a test can choose other dates (e.g. a nearly expired certificate).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { certificateSigningRequests as csrDef } from './csr-resource.ts';
import type { KubeEmulator } from './emulator.ts';
import { isObject, type KubeObject } from './types.ts';

const run = promisify(execFile);

export interface CsrView {
  name: string;
  username: string;
  groups: string[];
  usages: string[];
  signerName: string;
  expirationSeconds: number | undefined;
  /** From the PKCS#10 request itself (openssl-verified). */
  commonName: string;
  organizations: string[];
}

export interface CsrDecision {
  approve: boolean;
  /** Why, for a denial (the Denied condition's message). */
  message?: string;
  notBefore?: Date;
  notAfter?: Date;
}

export interface CsrSignerOptions {
  /** Decides each new request (`index` counts requests in arrival order). Default: cert-approver's rules. */
  decide?: (csr: CsrView, index: number) => CsrDecision;
}

export interface IssuedCert {
  csr: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  pem: string;
}

export interface CsrApprover {
  issued: IssuedCert[];
  denied: string[];
  /** Requests that could not be processed (bad PKCS#10, openssl failures): a test asserts this stays empty. */
  failures: string[];
  /** Resolves once `n` certificates have been issued. */
  waitForIssued(n: number, timeoutMs?: number): Promise<IssuedCert>;
  stop(): Promise<void>;
}

const SIGNER = 'kubernetes.io/kube-apiserver-client';
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Upstream cert-approver's rules (reference §7.2) plus the signer name. */
export function certApproverRules(csr: CsrView): CsrDecision {
  const deny = (message: string): CsrDecision => ({ approve: false, message });
  if (csr.signerName !== SIGNER) return deny(`signerName is not ${SIGNER}`);
  if (!/^system:(node|multus)/.test(csr.username))
    return deny('username is not system:node* or system:multus*');
  const node = csr.username.slice(csr.username.lastIndexOf(':') + 1);
  if (!DNS1123_SUBDOMAIN.test(node) || node.length > 253)
    return deny(`node name "${node}" is not a DNS subdomain`);
  if (
    csr.usages.length !== 2 ||
    !csr.usages.includes('digital signature') ||
    !csr.usages.includes('client auth')
  )
    return deny('usages are not exactly digital signature and client auth');
  const allowedGroups = ['system:nodes', 'system:multus', 'system:authenticated'];
  if (!csr.groups.every((g) => allowedGroups.includes(g))) return deny('groups outside the allowed set');
  if (csr.commonName !== `system:multus:${node}`) return deny(`CN is not system:multus:${node}`);
  if (csr.organizations.length !== 1 || csr.organizations[0] !== 'system:multus')
    return deny('O is not [system:multus]');
  if (csr.expirationSeconds === undefined || csr.expirationSeconds > 365 * 24 * 3600)
    return deny('expirationSeconds is unset or more than a year');
  return { approve: true };
}

/** openssl's YYMMDDHHMMSSZ. */
const asn1Time = (d: Date): string => `${d.toISOString().slice(2, 19).replace(/[-T:]/g, '')}Z`;

function caConfig(dir: string): string {
  return [
    '[ ca ]',
    'default_ca = emu',
    '[ emu ]',
    `database = ${join(dir, 'index.txt')}`,
    `new_certs_dir = ${dir}`,
    `serial = ${join(dir, 'serial')}`,
    'default_md = sha256',
    'policy = any_subject',
    'unique_subject = no',
    'copy_extensions = none',
    'x509_extensions = client_cert',
    '[ any_subject ]',
    'organizationName = optional',
    'commonName = supplied',
    '[ client_cert ]',
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature',
    'extendedKeyUsage = clientAuth',
    '',
  ].join('\n');
}

function subjectFields(line: string): { cn: string; o: string[] } {
  // `subject=O = system:multus, CN = system:multus:node-1` (openssl's default name format)
  const text = line.replace(/^subject=/, '').trim();
  const o: string[] = [];
  let cn = '';
  for (const part of text.split(/,\s*/)) {
    const [k, ...v] = part.split(' = ');
    if (k === 'CN') cn = v.join(' = ');
    else if (k === 'O') o.push(v.join(' = '));
  }
  return { cn, o };
}

/** `openssl ca` over the emulator's CA, one signature at a time (it keeps its serial and index in files). */
class OpensslCa {
  readonly dir: string;
  readonly #emu: { caFile: string; caKeyFile: string };
  #counter = 0;
  #chain: Promise<unknown> = Promise.resolve();

  private constructor(dir: string, emu: { caFile: string; caKeyFile: string }) {
    this.dir = dir;
    this.#emu = emu;
  }

  static async open(emu: KubeEmulator): Promise<OpensslCa> {
    if (!emu.caFile || !emu.caKeyFile)
      throw new Error('the CSR signer needs an emulator started with { tls: true }');
    const dir = await mkdtemp(join(tmpdir(), 'kube-emulator-signer-'));
    await writeFile(join(dir, 'index.txt'), '');
    await writeFile(join(dir, 'serial'), `${(Date.now() % 1e12).toString(16).padStart(12, '0')}\n`);
    await writeFile(join(dir, 'ca.cnf'), caConfig(dir));
    return new OpensslCa(dir, { caFile: emu.caFile, caKeyFile: emu.caKeyFile });
  }

  nextFile(prefix: string): string {
    return join(this.dir, `${prefix}-${++this.#counter}.pem`);
  }

  /** Signs the PKCS#10 request in `reqFile` for [notBefore, notAfter]. */
  sign(reqFile: string, notBefore: Date, notAfter: Date): Promise<{ pem: string; serial: string }> {
    const job = this.#chain.then(async () => {
      const certFile = this.nextFile('cert');
      // -preserveDN keeps the request's RDN order (O, CN), as the Go signer copies the subject.
      const args = ['ca', '-batch', '-config', join(this.dir, 'ca.cnf'), '-cert', this.#emu.caFile];
      args.push('-keyfile', this.#emu.caKeyFile, '-in', reqFile, '-out', certFile, '-notext', '-preserveDN');
      args.push('-startdate', asn1Time(notBefore), '-enddate', asn1Time(notAfter));
      await run('openssl', args);
      const pem = await readFile(certFile, 'utf8');
      const { stdout } = await run('openssl', ['x509', '-in', certFile, '-noout', '-serial']);
      return {
        pem,
        serial: stdout
          .trim()
          .replace(/^serial=/, '')
          .toUpperCase(),
      };
    });
    this.#chain = job.catch(() => undefined);
    return job;
  }

  close(): Promise<void> {
    return rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * A client certificate from the emulator's CA without going through the API (tests of client-certificate
 * authentication): an ECDSA P-256 key and a certificate for `O=<organizations>, CN=<commonName>`.
 */
export async function issueClientCertificate(
  emu: KubeEmulator,
  subject: { commonName: string; organizations?: string[]; notBefore?: Date; notAfter?: Date },
): Promise<{ certPem: string; keyPem: string; serial: string }> {
  const ca = await OpensslCa.open(emu);
  try {
    const keyFile = ca.nextFile('key');
    const reqFile = ca.nextFile('req');
    const subj = [...(subject.organizations ?? []).map((o) => `/O=${o}`), `/CN=${subject.commonName}`].join(
      '',
    );
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    await run('openssl', ['req', '-new', ...ec, '-keyout', keyFile, '-out', reqFile, '-subj', subj]);
    const now = Date.now();
    const signed = await ca.sign(
      reqFile,
      subject.notBefore ?? new Date(now - 60_000),
      subject.notAfter ?? new Date(now + 3600_000),
    );
    return { certPem: signed.pem, keyPem: await readFile(keyFile, 'utf8'), serial: signed.serial };
  } finally {
    await ca.close();
  }
}

export async function startCsrApprover(emu: KubeEmulator, opts: CsrSignerOptions = {}): Promise<CsrApprover> {
  const ca = await OpensslCa.open(emu);
  const decide = opts.decide ?? certApproverRules;
  const state: CsrApprover = {
    issued: [],
    denied: [],
    failures: [],
    waitForIssued: async (n, timeoutMs = 30_000) => {
      const end = Date.now() + timeoutMs;
      while (state.issued.length < n) {
        if (Date.now() > end)
          throw new Error(`CSR signer: ${state.issued.length} of ${n} certificates issued`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return state.issued[n - 1] as IssuedCert;
    },
    stop: async () => {
      unsubscribe();
      await queue;
      await ca.close();
    },
  };
  let arrivals = 0;

  const handle = async (obj: KubeObject): Promise<void> => {
    const name = obj.metadata.name ?? '';
    const spec = isObject(obj.spec) ? obj.spec : {};
    const reqFile = ca.nextFile('req');
    await writeFile(reqFile, Buffer.from(String(spec.request ?? ''), 'base64'));
    let parsed: { cn: string; o: string[] };
    try {
      const { stdout, stderr } = await run('openssl', [
        'req',
        '-in',
        reqFile,
        '-noout',
        '-verify',
        '-subject',
      ]);
      // OpenSSL 3.0 exits 0 on a bad self-signature: the verdict is on stderr.
      if (!/verify OK/.test(stderr)) throw new Error(`bad self-signature: ${stderr.trim()}`);
      parsed = subjectFields(stdout.split('\n').find((l) => l.startsWith('subject=')) ?? '');
    } catch (err) {
      state.failures.push(`${name}: openssl rejects the request: ${(err as Error).message}`);
      return;
    }
    const view: CsrView = {
      name,
      username: String(spec.username ?? ''),
      groups: Array.isArray(spec.groups) ? spec.groups.map(String) : [],
      usages: Array.isArray(spec.usages) ? spec.usages.map(String) : [],
      signerName: String(spec.signerName ?? ''),
      expirationSeconds: typeof spec.expirationSeconds === 'number' ? spec.expirationSeconds : undefined,
      commonName: parsed.cn,
      organizations: parsed.o,
    };
    const decision = decide(view, arrivals++);
    const condition = decision.approve
      ? { type: 'Approved', status: 'True', reason: 'AutoApproved', message: 'approved by the test approver' }
      : { type: 'Denied', status: 'True', reason: 'Denied', message: decision.message ?? 'denied' };
    const appendCondition = (cur: KubeObject | undefined): KubeObject => {
      const o = cur as KubeObject;
      const st = isObject(o.status) ? o.status : {};
      const list = Array.isArray(st.conditions) ? st.conditions : [];
      o.status = { ...st, conditions: [...list, condition] };
      return o;
    };
    emu.store.update(csrDef, '', name, appendCondition, {
      subresource: 'approval',
      manager: 'test-approver',
    });
    if (!decision.approve) {
      state.denied.push(name);
      return;
    }
    const now = Date.now();
    const notBefore = decision.notBefore ?? new Date(now - 5 * 60_000);
    const notAfter = decision.notAfter ?? new Date(now + (view.expirationSeconds ?? 3600) * 1000);
    let signed: { pem: string; serial: string };
    try {
      signed = await ca.sign(reqFile, notBefore, notAfter);
    } catch (err) {
      state.failures.push(`${name}: openssl ca failed: ${(err as Error).message}`);
      return;
    }
    const setCertificate = (cur: KubeObject | undefined): KubeObject => {
      const o = cur as KubeObject;
      const certificate = Buffer.from(signed.pem).toString('base64');
      o.status = { ...(isObject(o.status) ? o.status : {}), certificate };
      return o;
    };
    emu.store.update(csrDef, '', name, setCertificate, { subresource: 'status', manager: 'test-signer' });
    state.issued.push({ csr: name, serial: signed.serial, notBefore, notAfter, pem: signed.pem });
  };

  let queue: Promise<void> = Promise.resolve();
  const enqueue = (obj: KubeObject) => {
    queue = queue
      .then(() => handle(obj))
      .catch((err: unknown) => {
        state.failures.push(`${obj.metadata.name ?? ''}: ${(err as Error).message}`);
      });
  };
  const unsubscribe = emu.store.onEvent((e) => {
    if (e.storage === csrDef.storage && e.type === 'ADDED') enqueue(structuredClone(e.object));
  });
  return state;
}
