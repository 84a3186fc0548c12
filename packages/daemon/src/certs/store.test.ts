// The cert store file: round trip, atomic replacement with mode 0600, and every way a file can be unusable.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyToPem, multusNodeSubject, newClientKey } from './csr.ts';
import { CERT_FILE_NAME, CertStoreError, loadCert, matchesSubject, saveCert, subjectOf } from './store.ts';

let dir: string;
let certPem: string;
let keyPem: string;

function selfSigned(subj: string, name: string): { cert: string; key: string } {
  const k = join(dir, `${name}.key`);
  const c = join(dir, `${name}.crt`);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  execFileSync('openssl', ['req', '-x509', ...ec, '-keyout', k, '-out', c, '-days', '1', '-subj', subj], {
    stdio: 'ignore',
  });
  return { cert: readFileSync(c, 'utf8'), key: readFileSync(k, 'utf8') };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mts-certstore-'));
  const pair = selfSigned('/O=system:multus/CN=system:multus:node-1', 'a');
  certPem = pair.cert;
  keyPem = pair.key;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function problemOf(certDir: string): Promise<string> {
  try {
    await loadCert(certDir);
  } catch (err) {
    expect(err).toBeInstanceOf(CertStoreError);
    return `${(err as CertStoreError).problem}: ${(err as Error).message}`;
  }
  throw new Error('expected loadCert to fail');
}

describe('cert store', () => {
  it('saves certificate + key atomically with mode 0600 and reads them back', async () => {
    const certDir = join(dir, 'store-ok', 'nested');
    const saved = await saveCert(certDir, certPem, keyPem);
    const path = join(certDir, CERT_FILE_NAME);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(certDir).mode & 0o777).toBe(0o700);
    const text = readFileSync(path, 'utf8');
    expect(text.indexOf('BEGIN CERTIFICATE')).toBeLessThan(text.indexOf('PRIVATE KEY'));
    const loaded = await loadCert(certDir);
    expect(loaded.leaf.serialNumber).toBe(saved.leaf.serialNumber);
    expect(loaded.notAfter).toBeGreaterThan(loaded.notBefore);
    expect(matchesSubject(loaded.leaf, multusNodeSubject('node-1'))).toBe(true);
    expect(matchesSubject(loaded.leaf, multusNodeSubject('node-2'))).toBe(false);
    expect(subjectOf(loaded.leaf)).toEqual({
      commonName: 'system:multus:node-1',
      organizations: ['system:multus'],
    });
    // a second save replaces the pair, leaving no temp file behind
    const other = selfSigned('/O=system:multus/CN=system:multus:node-1', 'b');
    await saveCert(certDir, other.cert, other.key);
    expect((await loadCert(certDir)).leaf.serialNumber).not.toBe(saved.leaf.serialNumber);
    expect(
      readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('-----BEGIN')),
    ).toHaveLength(2);
  });

  it('reports a missing file, a file without PEM, and broken PEM as distinct problems', async () => {
    const d = join(dir, 'bad');
    expect(await problemOf(d)).toMatch(/^missing: no cert\/key file at .*multus-client-current\.pem$/);
    await saveCert(d, certPem, keyPem);
    const path = join(d, CERT_FILE_NAME);
    writeFileSync(path, '');
    expect(await problemOf(d)).toMatch(/^no-pem: failed to find any PEM data in /);
    writeFileSync(path, 'hello\x00world');
    expect(await problemOf(d)).toMatch(/^no-pem: /);
    writeFileSync(path, keyPem);
    expect(await problemOf(d)).toMatch(/^invalid: invalid PEM in .*: no CERTIFICATE block/);
    writeFileSync(path, certPem);
    expect(await problemOf(d)).toMatch(/expected one private key, found 0/);
    writeFileSync(path, `${certPem}${keyPem}${keyPem}`);
    expect(await problemOf(d)).toMatch(/expected one private key, found 2/);
    writeFileSync(path, `-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n${keyPem}`);
    expect(await problemOf(d)).toMatch(/^invalid: invalid PEM in /);
    writeFileSync(path, `${certPem}${keyToPem(await newClientKey())}`);
    expect(await problemOf(d)).toMatch(/the private key does not match the certificate/);
    writeFileSync(path, `${certPem}${'#'.repeat(1024 * 1024)}${keyPem}`);
    expect(await problemOf(d)).toMatch(/larger than 1048576 bytes/);
  });

  it('refuses to store a certificate that does not match the key', async () => {
    const d = join(dir, 'mismatch');
    await expect(saveCert(d, certPem, keyToPem(await newClientKey()))).rejects.toThrow(/does not match/);
    expect(await problemOf(d)).toMatch(/^missing: /);
  });
});
