// The CSR checked by an independent implementation: `openssl req -verify -noout -text` must accept the
// self-signature and show the subject, key and algorithm upstream's certificate manager asks for.
import { spawnSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCsrDer,
  createCsrPem,
  encodeSubject,
  keyToPem,
  multusNodeSubject,
  newClientKey,
} from './csr.ts';

let dir: string;
beforeAll(() => {
  if (!['/usr/bin/openssl', '/bin/openssl'].some(existsSync)) {
    throw new Error(
      'these tests verify CSRs with the openssl binary, which is missing (apt-get install openssl)',
    );
  }
  dir = mkdtempSync(join(tmpdir(), 'mts-csr-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** stdout and stderr together: `req -verify` reports its verdict on stderr (and OpenSSL 3.0 exits 0 either way). */
function openssl(args: string[], pem: string): string {
  const file = join(dir, `in-${++n}.pem`);
  writeFileSync(file, pem);
  const r = spawnSync('openssl', [...args, '-in', file], { encoding: 'utf8' });
  if (r.error) throw r.error;
  return `${r.stdout}${r.stderr}`;
}

describe('PKCS#10 certificate signing request', () => {
  it('is a valid, self-signed ECDSA P-256 / SHA-256 request for CN=system:multus:<node>, O=system:multus', async () => {
    const key = await newClientKey();
    const pem = createCsrPem(multusNodeSubject('node-1'), key);
    expect(pem).toMatch(
      /^-----BEGIN CERTIFICATE REQUEST-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE REQUEST-----\n$/,
    );
    const text = openssl(['req', '-verify', '-noout', '-text', '-nameopt', 'RFC2253'], pem);
    expect(text).toContain('Certificate request self-signature verify OK');
    expect(text).toContain('Subject: CN=system:multus:node-1,O=system:multus');
    expect(text).toContain('Public Key Algorithm: id-ecPublicKey');
    expect(text).toContain('ASN1 OID: prime256v1');
    expect(text).toContain('Signature Algorithm: ecdsa-with-SHA256');
    expect(text).toMatch(/Attributes:\s*\n\s*\(none\)/);
    // the request carries this key's public half
    const pub = openssl(['req', '-noout', '-pubkey'], pem);
    expect(createPublicKey(pub).export({ type: 'spki', format: 'der' })).toEqual(
      createPublicKey(key).export({ type: 'spki', format: 'der' }),
    );
    // upstream's order: O first, then CN; version 0
    const parsed = openssl(['asn1parse'], pem);
    expect(parsed.indexOf('organizationName')).toBeLessThan(parsed.indexOf('commonName'));
    expect(parsed).toMatch(/INTEGER\s+:00/);
  });

  it('fails verification when a byte of the signed part changes', async () => {
    const der = createCsrDer(multusNodeSubject('node-1'), await newClientKey());
    const idx = der.indexOf(Buffer.from('node-1'));
    der[idx] = 'm'.charCodeAt(0);
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    const verdict = openssl(['req', '-verify', '-noout'], tampered);
    expect(verdict).toContain('verify failure');
    expect(verdict).not.toContain('verify OK');
  });

  it('encodes several organizations in one RDN and non-printable names as UTF8String', async () => {
    const key = await newClientKey();
    const pem = createCsrPem({ commonName: 'nöde_1', organizations: ['system:multus', 'b-org'] }, key);
    const text = openssl(['req', '-verify', '-noout', '-subject', '-nameopt', 'RFC2253,-esc_msb'], pem);
    expect(text).toContain('verify OK');
    // one multi-valued RDN (RFC 2253 joins its values with "+"; openssl prints a name in reverse)
    expect(text).toMatch(/subject=CN=nöde_1,O=system:multus\+O=b-org/);
    expect(openssl(['asn1parse'], pem)).toContain('UTF8STRING');
  });

  it('writes the key as SEC 1 PEM', async () => {
    expect(keyToPem(await newClientKey())).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n/);
  });

  it('refuses keys other than an ECDSA P-256 private key, and an empty common name', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    const pub = createPublicKey(await newClientKey());
    for (const k of [rsa, p384, pub]) expect(() => createCsrDer(multusNodeSubject('n'), k)).toThrow(/P-256/);
    expect(() => encodeSubject({ commonName: '', organizations: [] })).toThrow(/common name/);
  });
});
