import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalAddress,
  formatIp,
  isDefaultDestination,
  isIpOrCidr,
  parseHardwareAddr,
  parseIp,
} from './ip.ts';

describe('IP parsing and Go-style formatting', () => {
  it.each([
    ['10.1.1.11', '10.1.1.11', 4],
    ['::', '::', 6],
    ['::1', '::1', 6],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1', 6],
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1', 6],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1', 6],
    ['::ffff:10.0.0.1', '10.0.0.1', 4],
    ['::10.0.0.1', '::a00:1', 6],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0', 6],
    ['fe80::1:2', 'fe80::1:2', 6],
  ])('%s -> %s (IPv%i)', (input, formatted, family) => {
    const ip = parseIp(input);
    expect(ip?.family).toBe(family);
    expect(ip && formatIp(ip)).toBe(formatted);
  });
  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '01.2.3.4',
    '256.1.1.1',
    '1.2.3.-1',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    'fe80::1%eth0',
    '::ffff:1.2.3',
    'g::1',
    ' 1.2.3.4',
  ])('refuses %j', (s) => {
    expect(parseIp(s)).toBeUndefined();
  });
  it('CIDRs and default destinations', () => {
    expect(isIpOrCidr('10.0.0.0/8')).toBe(true);
    expect(isIpOrCidr('10.0.0.0/33')).toBe(false);
    expect(isIpOrCidr('::/128')).toBe(true);
    expect(isIpOrCidr('::/129')).toBe(false);
    expect(isIpOrCidr('10.0.0.0/08')).toBe(false);
    expect(canonicalAddress('2001:db8::0:5/64')).toBe('2001:db8::5');
    for (const d of ['0.0.0.0/0', '::/0', '::0/0']) expect(isDefaultDestination(d)).toBe(true);
    expect(isDefaultDestination('0.0.0.0/1')).toBe(false);
  });
  it('property: agrees with node:net on what is an address, for generated and random text', () => {
    const v6 = fc.ipV6();
    const v4 = fc.ipV4();
    fc.assert(
      fc.property(fc.oneof(v4, v6, fc.string({ maxLength: 20 })), (s) => {
        const ours = parseIp(s) !== undefined;
        const node = isIP(s) !== 0 && !s.includes('%');
        expect(ours).toBe(node);
        const ip = parseIp(s);
        if (ip) expect(parseIp(formatIp(ip))?.bytes).toEqual(ip.bytes);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('hardware addresses', () => {
  it('accepts Go notations with the exact size', () => {
    expect(parseHardwareAddr('c2:11:22:33:44:55', 6)).toEqual(
      new Uint8Array([0xc2, 0x11, 0x22, 0x33, 0x44, 0x55]),
    );
    expect(parseHardwareAddr('c211.2233.4455', 6)).toHaveLength(6);
    expect(parseHardwareAddr('c2:11:22:33:44:55', 8)).toBeUndefined();
    expect(parseHardwareAddr('c2:11-22:33:44:55', 6)).toBeUndefined();
    expect(parseHardwareAddr('c2:1:22:33:44:55', 6)).toBeUndefined();
  });
});
