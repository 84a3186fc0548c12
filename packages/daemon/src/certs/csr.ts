// The node's key and its PKCS#10 certificate signing request (RFC 2986), as client-go's certificate manager makes
// them: a fresh ECDSA P-256 key for every request, the subject `O=<org>, CN=<name>` in Go's order, no attributes,
// signed with ecdsa-with-SHA256.
import { createPublicKey, generateKeyPair, type KeyObject, sign } from 'node:crypto';
import { promisify } from 'node:util';
import { bitString, contextConstructed, directoryString, integer, oid, sequence, setOf } from './der.ts';

const OID_COMMON_NAME = '2.5.4.3';
const OID_ORGANIZATION = '2.5.4.10';
const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

export interface CsrSubject {
  commonName: string;
  organizations: readonly string[];
}

/** The subject upstream asks for: CN `system:multus:<node>`, O `system:multus`. */
export function multusNodeSubject(nodeName: string): CsrSubject {
  return { commonName: `system:multus:${nodeName}`, organizations: ['system:multus'] };
}

const generate = promisify(generateKeyPair);

/** A new ECDSA P-256 private key. */
export async function newClientKey(): Promise<KeyObject> {
  const { privateKey } = await generate('ec', { namedCurve: 'P-256' });
  return privateKey;
}

/** SEC 1 PEM (`EC PRIVATE KEY`), the form client-go's file store writes. */
export function keyToPem(key: KeyObject): string {
  return key.export({ type: 'sec1', format: 'pem' }).toString();
}

function attribute(type: string, value: string): Buffer {
  return sequence(oid(type), directoryString(value));
}

/** A Name in the order Go's pkix.Name lists it (O before CN); several organizations share one RDN. */
export function encodeSubject(subject: CsrSubject): Buffer {
  if (subject.commonName === '') throw new Error('csr: the subject needs a common name');
  const rdns: Buffer[] = [];
  if (subject.organizations.length > 0) {
    rdns.push(setOf(...subject.organizations.map((o) => attribute(OID_ORGANIZATION, o))));
  }
  rdns.push(setOf(attribute(OID_COMMON_NAME, subject.commonName)));
  return sequence(...rdns);
}

/** The DER CertificationRequest for `subject`, signed by `key` (ECDSA P-256). */
export function createCsrDer(subject: CsrSubject, key: KeyObject): Buffer {
  if (
    key.type !== 'private' ||
    key.asymmetricKeyType !== 'ec' ||
    key.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
  ) {
    throw new Error('csr: the key must be an ECDSA P-256 private key');
  }
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const info = sequence(integer(0), encodeSubject(subject), spki, contextConstructed(0, Buffer.alloc(0)));
  const signature = sign('sha256', info, key);
  return sequence(info, sequence(oid(OID_ECDSA_WITH_SHA256)), bitString(signature));
}

/** PEM text (`CERTIFICATE REQUEST`), 64 characters a line as RFC 7468 asks. */
export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export function createCsrPem(subject: CsrSubject, key: KeyObject): string {
  return toPem('CERTIFICATE REQUEST', createCsrDer(subject, key));
}
