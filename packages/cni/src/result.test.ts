import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CniError } from './errors.ts';
import { emptyResult, isErrorResult, parseErrorResult, parseResult } from './result.ts';
import { cidrFamily, ipFamily } from './result-schemas.ts';
import { SUPPORTED_VERSIONS } from './version.ts';

function errOf(fn: () => unknown): CniError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CniError) return err;
    throw new Error(`expected a CniError, got ${String(err)}`);
  }
  throw new Error('expected a CniError, nothing was thrown');
}

const r110 = {
  cniVersion: '1.1.0',
  interfaces: [
    {
      name: 'eth0',
      mac: '0a:58:0a:f4:00:05',
      mtu: 1450,
      sandbox: '/var/run/netns/x',
      socketPath: '/s',
      pciID: '0000:04:00.5',
    },
  ],
  ips: [{ interface: 0, address: '10.1.1.5/24', gateway: '10.1.1.1' }],
  routes: [{ dst: '0.0.0.0/0', gw: '10.1.1.1', mtu: 1400, advmss: 1360, priority: 100, table: 10, scope: 0 }],
  dns: { nameservers: ['10.96.0.10'], domain: 'cluster.local', search: ['svc'], options: ['ndots:5'] },
};

describe('parseResult', () => {
  it('parses a full 1.1.0 result and keeps every spec field in libcni key order', () => {
    const r = parseResult(r110);
    expect(r).toEqual(r110);
    expect(JSON.stringify(r)).toBe(JSON.stringify(r110));
  });
  it('drops unknown keys but not spec fields', () => {
    const r = parseResult({ ...r110, extra: 1, interfaces: [{ name: 'a', vendor: true }] });
    expect(r).not.toHaveProperty('extra');
    expect(r).toEqual({ ...r110, interfaces: [{ name: 'a' }] });
  });
  it('orders keys the way Go marshals them regardless of input order', () => {
    const r = parseResult({
      dns: {},
      ips: [{ gateway: '10.0.0.1', address: '10.0.0.2/8', interface: 1 }],
      cniVersion: '1.0.0',
    });
    expect(JSON.stringify(r)).toBe(
      '{"cniVersion":"1.0.0","ips":[{"interface":1,"address":"10.0.0.2/8","gateway":"10.0.0.1"}],"dns":{}}',
    );
  });
  it('keeps 1.1.0 fields on a result that calls itself 1.0.0 (libcni has one type for both)', () => {
    const r = parseResult({ ...r110, cniVersion: '1.0.0' });
    expect(r).toEqual({ ...r110, cniVersion: '1.0.0' });
  });
  it('parses 0.4.0 and fills a missing ips[].version from the address', () => {
    const r = parseResult({
      cniVersion: '0.4.0',
      ips: [
        { address: '10.0.0.2/8' },
        { address: 'fd00::2/64', version: '6', interface: 0 },
        { address: '::ffff:1.2.3.4/120' },
      ],
    });
    expect(r).toEqual({
      cniVersion: '0.4.0',
      ips: [
        { version: '4', address: '10.0.0.2/8' },
        { version: '6', interface: 0, address: 'fd00::2/64' },
        { version: '4', address: '::ffff:1.2.3.4/120' },
      ],
    });
  });
  it('parses legacy 0.2.0 and 0.1.0 results', () => {
    const legacy = {
      cniVersion: '0.2.0',
      ip4: { ip: '10.0.0.2/8', gateway: '10.0.0.1', routes: [{ dst: '0.0.0.0/0' }] },
      ip6: { ip: 'fd00::2/64' },
      dns: { nameservers: ['1.1.1.1'] },
    };
    expect(parseResult(legacy)).toEqual(legacy);
    expect(parseResult({ ...legacy, cniVersion: '0.1.0' }).cniVersion).toBe('0.1.0');
  });
  it('accepts JSON text and bytes', () => {
    expect(parseResult(JSON.stringify(r110))).toEqual(r110);
    expect(parseResult(new TextEncoder().encode(JSON.stringify(r110)))).toEqual(r110);
  });
  it('uses the result’s own version, the expected one only when it has none', () => {
    expect(parseResult({ cniVersion: '0.3.1' }, '1.0.0').cniVersion).toBe('0.3.1');
    expect(parseResult({ ips: [{ address: '10.0.0.1/32' }] }, '1.0.0')).toEqual({
      cniVersion: '1.0.0',
      ips: [{ address: '10.0.0.1/32' }],
    });
  });

  const hostile: [string, unknown, number][] = [
    ['not JSON text', '{"cniVersion":', 6],
    ['invalid UTF-8 bytes', new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]), 6],
    ['an array', [], 6],
    ['null', null, 6],
    ['a number', 42, 6],
    ['no version anywhere', { ips: [] }, 6],
    ['numeric cniVersion', { cniVersion: 1 }, 6],
    ['unknown version', { cniVersion: '1.2.0' }, 1],
    ['garbage version', { cniVersion: 'latest' }, 1],
    ['unknown expected version', { ips: [] }, 1],
    ['bad address', { cniVersion: '1.0.0', ips: [{ address: '10.0.0.300/24' }] }, 6],
    ['address without prefix', { cniVersion: '1.0.0', ips: [{ address: '10.0.0.3' }] }, 6],
    ['prefix too long', { cniVersion: '1.0.0', ips: [{ address: '10.0.0.3/33' }] }, 6],
    ['v6 prefix too long', { cniVersion: '1.0.0', ips: [{ address: 'fd00::1/129' }] }, 6],
    ['zone in address', { cniVersion: '1.0.0', ips: [{ address: 'fe80::1%eth0/64' }] }, 6],
    [
      'gateway is a CIDR',
      { cniVersion: '1.0.0', ips: [{ address: '10.0.0.3/8', gateway: '10.0.0.1/8' }] },
      6,
    ],
    [
      'fractional interface index',
      { cniVersion: '1.0.0', ips: [{ address: '10.0.0.3/8', interface: 0.5 }] },
      6,
    ],
    ['interfaces not an array', { cniVersion: '1.0.0', interfaces: {} }, 6],
    ['interface without name', { cniVersion: '1.0.0', interfaces: [{ mac: 'x' }] }, 6],
    ['route without dst', { cniVersion: '1.0.0', routes: [{ gw: '10.0.0.1' }] }, 6],
    ['route mtu as string', { cniVersion: '1.1.0', routes: [{ dst: '0.0.0.0/0', mtu: '1500' }] }, 6],
    ['bad ips version', { cniVersion: '0.4.0', ips: [{ version: '5', address: '10.0.0.3/8' }] }, 6],
    ['dns nameservers not strings', { cniVersion: '0.3.1', dns: { nameservers: [1] } }, 6],
    ['legacy ip4 without ip', { cniVersion: '0.2.0', ip4: { gateway: '10.0.0.1' } }, 6],
  ];
  for (const [what, input, code] of hostile) {
    it(`${what} -> code ${code}`, () => {
      const expected = what === 'unknown expected version' ? '9.9.9' : undefined;
      expect(errOf(() => parseResult(input, expected)).code).toBe(code);
    });
  }
  it('accepts a negative interface index (Go decodes *int; multi-net-spec 5.3.3 gives it a meaning)', () => {
    const r = parseResult({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.3/8', interface: -1 }] });
    expect(r).toMatchObject({ ips: [{ interface: -1 }] });
  });
  it('names the offending field', () => {
    const e = errOf(() => parseResult({ cniVersion: '1.0.0', ips: [{ address: 'nope' }] }));
    expect(e.details).toContain('ips[0].address');
  });
  it('is not fooled by __proto__ keys', () => {
    const r = parseResult(JSON.parse('{"cniVersion":"1.0.0","__proto__":{"ips":"x"},"ips":[]}'));
    expect(r).toEqual({ cniVersion: '1.0.0', ips: [] });
    expect(Object.getPrototypeOf(r)).toBe(Object.prototype);
  });

  it('ignores deeply nested unknown keys and rejects deep nesting in spec fields with code 6', () => {
    const depth = 100_000;
    const deep = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    expect(parseResult(`{"cniVersion":"1.0.0","x":${deep}}`)).toEqual({ cniVersion: '1.0.0' });
    expect(errOf(() => parseResult(`{"cniVersion":"1.0.0","ips":${deep}}`)).code).toBe(6);
  });
  it('property: arbitrary strings and bytes only ever produce CniError', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.uint8Array({ maxLength: 200 })),
        (x) => {
          try {
            parseResult(x);
          } catch (err) {
            expect(err).toBeInstanceOf(CniError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
  it('property: arbitrary JSON in result positions only ever produces CniError', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SUPPORTED_VERSIONS), fc.jsonValue(), fc.jsonValue(), (v, a, b) => {
        for (const doc of [
          a,
          { cniVersion: v, ips: a, routes: b },
          { cniVersion: v, interfaces: [a], ips: [{ address: a, gateway: b }] },
          { cniVersion: v, ip4: a, ip6: { ip: a, routes: b }, dns: b },
          { cniVersion: a },
        ]) {
          try {
            const r = parseResult(doc, v);
            // Whatever parses must survive a second parse unchanged.
            expect(parseResult(JSON.parse(JSON.stringify(r)))).toEqual(r);
          } catch (err) {
            expect(err).toBeInstanceOf(CniError);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('error results', () => {
  it('recognises and decodes plugin errors', () => {
    const e = { cniVersion: '1.0.0', code: 7, msg: 'bad', details: 'why', extra: 1 };
    expect(isErrorResult(e)).toBe(true);
    expect(parseErrorResult(e)).toMatchObject({ code: 7, msg: 'bad', details: 'why' });
    expect(isErrorResult(r110)).toBe(false);
    expect(errOf(() => parseErrorResult({ code: '7', msg: 'x' })).code).toBe(6);
    expect(errOf(() => parseErrorResult({ code: 7 })).code).toBe(6);
  });
});

describe('emptyResult', () => {
  it('is the multus pod-not-found placeholder on the 1.1.0 wire', () => {
    expect(JSON.stringify(emptyResult('1.1.0', 'eth0', '/var/run/netns/a'))).toBe(
      '{"cniVersion":"1.1.0","interfaces":[{"name":"eth0","sandbox":"/var/run/netns/a"}],"ips":[{"address":"0.0.0.0/0","gateway":"0.0.0.0"}]}',
    );
  });
  it('has the right shape, and parses, in every version', () => {
    for (const v of SUPPORTED_VERSIONS) {
      expect(emptyResult(v)).toEqual({ cniVersion: v });
      const r = emptyResult(v, 'net1');
      expect(parseResult(JSON.parse(JSON.stringify(r)))).toEqual(r);
    }
    expect(emptyResult('0.2.0', 'net1')).toEqual({
      cniVersion: '0.2.0',
      ip4: { ip: '0.0.0.0/0', gateway: '0.0.0.0' },
    });
    expect(emptyResult('0.3.1', 'net1')).toEqual({
      cniVersion: '0.3.1',
      interfaces: [{ name: 'net1' }],
      ips: [{ version: '4', address: '0.0.0.0/0', gateway: '0.0.0.0' }],
    });
  });
  it('refuses an unknown version with code 1', () => {
    expect(errOf(() => emptyResult('2.0.0' as '1.0.0')).code).toBe(1);
  });
});

describe('address helpers', () => {
  it('classify addresses and prefixes', () => {
    expect(ipFamily('10.0.0.1')).toBe(4);
    expect(ipFamily('fd00::1')).toBe(6);
    expect(ipFamily('010.0.0.1')).toBe(0);
    expect(ipFamily('fe80::1%eth0')).toBe(0);
    expect(cidrFamily('10.0.0.1/0')).toBe(4);
    expect(cidrFamily('fd00::/128')).toBe(6);
    expect(cidrFamily('10.0.0.1/+8')).toBe(0);
    expect(cidrFamily('10.0.0.1/')).toBe(0);
    expect(cidrFamily('/8')).toBe(0);
  });
});
