import { describe, expect, it } from 'vitest';
import {
  bitString,
  contextConstructed,
  directoryString,
  integer,
  nullValue,
  oid,
  sequence,
  setOf,
  tlv,
} from './der.ts';

const hex = (b: Buffer) => b.toString('hex');

describe('DER encoding', () => {
  it('writes short and long definite lengths', () => {
    expect(hex(tlv(0x04, Buffer.alloc(0)))).toBe('0400');
    expect(hex(tlv(0x04, Buffer.alloc(127))).slice(0, 4)).toBe('047f');
    expect(hex(tlv(0x04, Buffer.alloc(128))).slice(0, 6)).toBe('048180');
    expect(hex(tlv(0x04, Buffer.alloc(256))).slice(0, 8)).toBe('04820100');
    expect(hex(tlv(0x04, Buffer.alloc(70000))).slice(0, 10)).toBe('0483011170');
  });

  it('writes integers in the fewest bytes, with a sign byte when needed', () => {
    expect(hex(integer(0))).toBe('020100');
    expect(hex(integer(127))).toBe('02017f');
    expect(hex(integer(128))).toBe('02020080');
    expect(hex(integer(256))).toBe('02020100');
    expect(hex(integer(2n ** 64n))).toBe('0209010000000000000000');
    expect(() => integer(-1)).toThrow(/negative/);
  });

  it('writes object identifiers (X.690 8.19)', () => {
    expect(hex(oid('2.5.4.3'))).toBe('0603550403');
    expect(hex(oid('2.5.4.10'))).toBe('060355040a');
    expect(hex(oid('1.2.840.10045.4.3.2'))).toBe('06082a8648ce3d040302');
    expect(hex(oid('2.999.3'))).toBe('0603883703');
    for (const bad of ['', '1', '1.x', '3.1', '1.40', '1..2', '-1.2']) expect(() => oid(bad)).toThrow(/OID/);
  });

  it('picks PrintableString when it can and UTF8String otherwise, as Go does', () => {
    expect(hex(directoryString('system:multus:node-1')).slice(0, 4)).toBe('1314');
    expect(directoryString('nöde')[0]).toBe(0x0c);
    expect(directoryString('a_b')[0]).toBe(0x0c); // '_' is not in PrintableString
    expect(directoryString('a@b')[0]).toBe(0x0c);
    expect(directoryString('nöde').subarray(2).toString('utf8')).toBe('nöde');
  });

  it('sorts SET OF elements and frames sequences, bit strings, NULL and context tags', () => {
    expect(hex(setOf(Buffer.from([0x05, 0x00]), Buffer.from([0x02, 0x01, 0x01])))).toBe(
      '310502010105' + '00',
    );
    expect(hex(sequence(nullValue(), integer(1)))).toBe('3005' + '0500' + '020101');
    expect(hex(bitString(Buffer.from([0xab])))).toBe('030200ab');
    expect(hex(contextConstructed(0, Buffer.alloc(0)))).toBe('a000');
    expect(() => contextConstructed(31, Buffer.alloc(0))).toThrow(/range/);
  });
});
