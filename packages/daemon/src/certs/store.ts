// The per-node certificate on disk: `<certDir>/multus-client-current.pem` holds the certificate (chain) and its
// private key in PEM, as client-go's file store (prefix `multus-client`) keeps it. It is replaced atomically (temp
// file + rename, mode 0600), so a reader (another daemon starting, a crash mid-write) sees the old or the new
// pair, never half of one. Everything read back is validated: PEM framing, X.509, the key matching the certificate.
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@multus-ts/cni';
import type { CsrSubject } from './csr.ts';

export const CERT_FILE_NAME = 'multus-client-current.pem';
/** A cert store file is a few KB; anything much larger is not one. */
const MAX_STORE_BYTES = 1024 * 1024;

export interface StoredCert {
  /** The certificate, then any intermediates, as PEM. */
  certPem: string;
  keyPem: string;
  leaf: X509Certificate;
  key: KeyObject;
  notBefore: number;
  notAfter: number;
}

export type CertStoreProblem = 'missing' | 'no-pem' | 'invalid';

export class CertStoreError extends Error {
  override readonly name = 'CertStoreError';
  readonly problem: CertStoreProblem;
  constructor(problem: CertStoreProblem, message: string) {
    super(message);
    this.problem = problem;
  }
}

export const certPath = (certDir: string): string => join(certDir, CERT_FILE_NAME);

interface PemBlock {
  label: string;
  text: string;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]*?)-----END \1-----/g;

function pemBlocks(text: string): PemBlock[] {
  return [...text.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1] as string, text: m[0] }));
}

const KEY_LABELS = new Set(['EC PRIVATE KEY', 'PRIVATE KEY', 'RSA PRIVATE KEY']);

/** Parses and checks a certificate + key PEM bundle; `source` names it in errors. */
export function parseCertBundle(text: string, source: string): StoredCert {
  const blocks = pemBlocks(text);
  if (blocks.length === 0) throw new CertStoreError('no-pem', `failed to find any PEM data in ${source}`);
  const certs = blocks.filter((b) => b.label === 'CERTIFICATE');
  const keys = blocks.filter((b) => KEY_LABELS.has(b.label));
  if (certs.length === 0)
    throw new CertStoreError('invalid', `invalid PEM in ${source}: no CERTIFICATE block`);
  if (keys.length !== 1) {
    throw new CertStoreError(
      'invalid',
      `invalid PEM in ${source}: expected one private key, found ${keys.length}`,
    );
  }
  let leaf: X509Certificate;
  let key: KeyObject;
  try {
    leaf = new X509Certificate((certs[0] as PemBlock).text);
    for (const c of certs.slice(1)) new X509Certificate(c.text);
    key = createPrivateKey((keys[0] as PemBlock).text);
  } catch (err) {
    throw new CertStoreError('invalid', `invalid PEM in ${source}: ${(err as Error).message}`);
  }
  if (!leaf.checkPrivateKey(key)) {
    throw new CertStoreError(
      'invalid',
      `invalid PEM in ${source}: the private key does not match the certificate`,
    );
  }
  return {
    certPem: `${certs.map((c) => c.text).join('\n')}\n`,
    keyPem: `${(keys[0] as PemBlock).text}\n`,
    leaf,
    key,
    notBefore: leaf.validFromDate.getTime(),
    notAfter: leaf.validToDate.getTime(),
  };
}

/** The stored pair; throws CertStoreError when there is none or it is unusable. */
export async function loadCert(certDir: string): Promise<StoredCert> {
  const path = certPath(certDir);
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CertStoreError('missing', `no cert/key file at ${path}`);
    throw new CertStoreError('invalid', `could not read ${path}: ${(err as Error).message}`);
  }
  if (data.length > MAX_STORE_BYTES) {
    throw new CertStoreError('invalid', `invalid PEM in ${path}: larger than ${MAX_STORE_BYTES} bytes`);
  }
  return parseCertBundle(data.toString('utf8'), path);
}

/** Validates the pair, then replaces the stored one atomically (mode 0600; the directory is made 0700). */
export async function saveCert(certDir: string, certPem: string, keyPem: string): Promise<StoredCert> {
  const path = certPath(certDir);
  const bundle = `${certPem.trimEnd()}\n${keyPem.trimEnd()}\n`;
  const parsed = parseCertBundle(bundle, 'the issued certificate');
  await mkdir(certDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, bundle, { mode: 0o600 });
  return parsed;
}

/** The subject's CN and O values, from X509Certificate's one-`key=value`-a-line form. */
export function subjectOf(cert: X509Certificate): CsrSubject {
  let commonName = '';
  const organizations: string[] = [];
  for (const line of cert.subject.split('\n')) {
    const eq = line.indexOf('=');
    const k = line.slice(0, eq);
    const v = line.slice(eq + 1);
    if (k === 'CN') commonName = v;
    else if (k === 'O') organizations.push(v);
  }
  return { commonName, organizations };
}

/** Whether the certificate was issued for `want` (client-go rotates a certificate that no longer matches). */
export function matchesSubject(cert: X509Certificate, want: CsrSubject): boolean {
  const got = subjectOf(cert);
  const sorted = (a: readonly string[]) => [...a].sort().join('\n');
  return got.commonName === want.commonName && sorted(got.organizations) === sorted(want.organizations);
}
