// Just enough DER (ITU-T X.690) to write a PKCS#10 certificate request: definite lengths, the universal types a
// subject name and a signature need, and context-specific tags. Encoding only; the daemon never parses ASN.1
// (node:crypto's X509Certificate reads the certificates it gets back).

const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

function lengthOf(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One tag-length-value. */
export function tlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), lengthOf(content.length), content]);
}

export const sequence = (...items: Uint8Array[]): Buffer => tlv(TAG.SEQUENCE, Buffer.concat(items));

/** SET OF: DER sorts the encoded elements (X.690 11.6), so the same set always has the same bytes. */
export const setOf = (...items: Buffer[]): Buffer =>
  tlv(TAG.SET, Buffer.concat([...items].sort(Buffer.compare)));

export const nullValue = (): Buffer => tlv(TAG.NULL, Buffer.alloc(0));

/** A non-negative integer in the fewest bytes, with a leading 0 when the high bit would make it negative. */
export function integer(value: number | bigint): Buffer {
  let v = BigInt(value);
  if (v < 0n) throw new RangeError('der: negative integers are not supported');
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (v > 0n);
  if ((bytes[0] as number) & 0x80) bytes.unshift(0);
  return tlv(TAG.INTEGER, Buffer.from(bytes));
}

/** An OBJECT IDENTIFIER from dotted text ("2.5.4.3"). */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((a) => {
    if (!/^\d+$/.test(a)) throw new RangeError(`der: bad OID arc in "${dotted}"`);
    return BigInt(a);
  });
  const [first, second, ...rest] = arcs;
  if (first === undefined || second === undefined || first > 2n || (first < 2n && second > 39n)) {
    throw new RangeError(`der: bad OID "${dotted}"`);
  }
  const out: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) {
    const chunk: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) chunk.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...chunk);
  }
  return tlv(TAG.OID, Buffer.from(out));
}

/** X.680 PrintableString's alphabet. */
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** A directory string as Go's encoding/asn1 writes one: PrintableString when it can, UTF8String otherwise. */
export function directoryString(text: string): Buffer {
  return PRINTABLE.test(text)
    ? tlv(TAG.PRINTABLE_STRING, Buffer.from(text, 'latin1'))
    : tlv(TAG.UTF8_STRING, Buffer.from(text, 'utf8'));
}

/** A BIT STRING of whole bytes (no unused bits). */
export const bitString = (bytes: Uint8Array): Buffer =>
  tlv(TAG.BIT_STRING, Buffer.concat([Buffer.from([0]), bytes]));

/** A context-specific constructed tag [n] around already-encoded content (IMPLICIT SET OF in PKCS#10). */
export const contextConstructed = (n: number, content: Uint8Array): Buffer => {
  if (n < 0 || n > 30) throw new RangeError('der: context tag out of range');
  return tlv(0xa0 | n, content);
};
