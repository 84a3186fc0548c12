import { describe, expect, it } from 'vitest';
import { goFormatValue, goJsonString } from './go-json.ts';

describe('goJsonString (Go encoding/json)', () => {
  it('plain strings match JSON.stringify', () => {
    for (const s of ['', 'abc', '/etc/cni/net.d/10-calico.conflist', 'ünï€😀', 'a/b']) {
      expect(goJsonString(s)).toBe(JSON.stringify(s));
    }
  });

  it('escapes like Go: HTML characters, U+2028/9, short control escapes, lower-case hex', () => {
    expect(goJsonString('<a&b>')).toBe('"\\u003ca\\u0026b\\u003e"');
    expect(goJsonString('\u2028\u2029')).toBe('"\\u2028\\u2029"');
    expect(goJsonString('"\\\b\f\n\r\t')).toBe('"\\"\\\\\\b\\f\\n\\r\\t"');
    expect(goJsonString('\u0001\u001f\u007f')).toBe('"\\u0001\\u001f\u007f"');
  });

  it('lone surrogates become U+FFFD (Go writes invalid UTF-8 that way)', () => {
    expect(goJsonString('a\ud800b')).toBe('"a\ufffdb"');
    expect(goJsonString('\udc00')).toBe('"\ufffd"');
    expect(goJsonString('\ud83d\ude00')).toBe('"😀"');
  });
});

describe('goFormatValue (Go %v of decoded JSON)', () => {
  it('maps sorted, slices space-separated, floats as Go prints them', () => {
    expect(goFormatValue({ type: 'x', name: '', ipam: {}, n: 1440, l: [1, 'a'], z: null, t: true })).toBe(
      'map[ipam:map[] l:[1 a] n:1440 name: t:true type:x z:<nil>]',
    );
    expect(goFormatValue(1e6)).toBe('1e+06');
    expect(goFormatValue(123456)).toBe('123456');
    expect(goFormatValue(1234567)).toBe('1.234567e+06');
    expect(goFormatValue(0.0001)).toBe('0.0001');
    expect(goFormatValue(0.00001)).toBe('1e-05');
    expect(goFormatValue(-2.5)).toBe('-2.5');
  });
});
