import { describe, expect, it } from 'vitest';
import { convertResult } from './convert.ts';
import { CniError } from './errors.ts';
import { type CniResult, parseResult } from './result.ts';
import { type CniVersion, SUPPORTED_VERSIONS } from './version.ts';

const dns = {
  nameservers: ['10.96.0.10'],
  domain: 'cluster.local',
  search: ['svc.cluster.local'],
  options: ['ndots:5'],
};

/** A sample for each version carrying every field that version can express (and nothing else). */
function sample(v: CniVersion): CniResult {
  switch (v) {
    case '0.1.0':
    case '0.2.0':
      return parseResult({
        cniVersion: v,
        ip4: {
          ip: '10.1.1.5/24',
          gateway: '10.1.1.1',
          routes: [{ dst: '0.0.0.0/0', gw: '10.1.1.1' }, { dst: '192.168.0.0/16' }],
        },
        ip6: { ip: 'fd00:1::5/64', gateway: 'fd00:1::1', routes: [{ dst: '::/0', gw: 'fd00:1::1' }] },
        dns,
      });
    case '0.3.0':
    case '0.3.1':
    case '0.4.0':
      return parseResult({
        cniVersion: v,
        interfaces: [
          { name: 'br0', mac: '0a:00:00:00:00:01' },
          { name: 'eth0', mac: '0a:00:00:00:00:02', sandbox: '/run/netns/a' },
        ],
        ips: [
          { version: '4', interface: 1, address: '10.1.1.5/24', gateway: '10.1.1.1' },
          { version: '6', interface: 1, address: 'fd00:1::5/64', gateway: 'fd00:1::1' },
          { version: '4', address: '10.2.2.5/24' },
        ],
        routes: [{ dst: '0.0.0.0/0', gw: '10.1.1.1' }, { dst: '::/0' }],
        dns,
      });
    case '1.0.0':
      return parseResult({
        cniVersion: v,
        interfaces: [
          { name: 'br0', mac: '0a:00:00:00:00:01' },
          { name: 'eth0', mac: '0a:00:00:00:00:02', sandbox: '/run/netns/a' },
        ],
        ips: [
          { interface: 1, address: '10.1.1.5/24', gateway: '10.1.1.1' },
          { interface: 1, address: 'fd00:1::5/64', gateway: 'fd00:1::1' },
          { address: '10.2.2.5/24' },
        ],
        routes: [{ dst: '0.0.0.0/0', gw: '10.1.1.1' }, { dst: '::/0' }],
        dns,
      });
    case '1.1.0':
      return parseResult({
        cniVersion: v,
        interfaces: [
          { name: 'br0', mac: '0a:00:00:00:00:01', mtu: 9000 },
          {
            name: 'eth0',
            mac: '0a:00:00:00:00:02',
            mtu: 1500,
            sandbox: '/run/netns/a',
            socketPath: '/run/vhost.sock',
            pciID: '0000:04:00.5',
          },
        ],
        ips: [
          { interface: 1, address: '10.1.1.5/24', gateway: '10.1.1.1' },
          { interface: 1, address: 'fd00:1::5/64', gateway: 'fd00:1::1' },
          { address: '10.2.2.5/24' },
        ],
        routes: [
          { dst: '0.0.0.0/0', gw: '10.1.1.1', mtu: 1400, advmss: 1360, priority: 100, table: 254, scope: 0 },
          { dst: '::/0' },
        ],
        dns,
      });
  }
}

const family = (v: string) => (v < '0.3.0' ? 'legacy' : v < '1.0.0' ? '04x' : v === '1.0.0' ? '100' : '110');
/** Whether everything a `from` sample holds fits in `to`. */
function lossless(from: CniVersion, to: CniVersion): boolean {
  const f = family(from);
  const t = family(to);
  if (f === 'legacy') return true;
  if (f === '110') return t === '110';
  return t !== 'legacy';
}

describe('convertResult: the full matrix', () => {
  for (const from of SUPPORTED_VERSIONS) {
    for (const to of SUPPORTED_VERSIONS) {
      it(`${from} -> ${to}`, () => {
        const src = sample(from);
        const before = structuredClone(src);
        const out = convertResult(src, to);
        expect(out.cniVersion).toBe(to);
        // The source is never mutated, and the output is a valid result of the target version.
        expect(src).toEqual(before);
        expect(parseResult(JSON.parse(JSON.stringify(out)))).toEqual(out);
        const json = JSON.stringify(out);

        if (family(to) === 'legacy') {
          expect(Object.keys(out).sort()).toEqual(['cniVersion', 'dns', 'ip4', 'ip6']);
          expect(out).toMatchObject({
            ip4: { ip: '10.1.1.5/24', gateway: '10.1.1.1' },
            ip6: { ip: 'fd00:1::5/64', gateway: 'fd00:1::1' },
          });
          // Only the first address per family survives.
          expect(json).not.toContain('10.2.2.5');
          const o = out as { ip4: { routes?: unknown[] }; ip6: { routes?: unknown[] } };
          expect(o.ip4.routes?.[0]).toEqual({ dst: '0.0.0.0/0', gw: '10.1.1.1' });
          expect(o.ip6.routes?.[0]).toEqual(
            family(from) === 'legacy' ? { dst: '::/0', gw: 'fd00:1::1' } : { dst: '::/0' },
          );
        } else {
          const o = out as {
            ips: { version?: string; address: string; interface?: number }[];
            interfaces?: unknown[];
          };
          expect(o.ips.map((ip) => ip.address)).toEqual(
            family(from) === 'legacy'
              ? ['10.1.1.5/24', 'fd00:1::5/64']
              : ['10.1.1.5/24', 'fd00:1::5/64', '10.2.2.5/24'],
          );
          if (family(to) === '04x') {
            expect(o.ips.map((ip) => ip.version)).toEqual(
              family(from) === 'legacy' ? ['4', '6'] : ['4', '6', '4'],
            );
          } else {
            expect(json).not.toContain('"version"');
          }
          if (family(from) === 'legacy') {
            // Built without interfaces: 0.2.0 had none.
            expect(o.interfaces).toBeUndefined();
            expect(o.ips.every((ip) => ip.interface === undefined)).toBe(true);
          } else {
            expect(o.ips[0]!.interface).toBe(1);
            expect(o.interfaces).toHaveLength(2);
          }
        }
        expect((out as { dns?: unknown }).dns).toEqual(dns);

        // 1.1.0-only fields exist only in 1.1.0 output.
        for (const key of [
          '"mtu"',
          '"advmss"',
          '"priority"',
          '"table"',
          '"scope"',
          '"socketPath"',
          '"pciID"',
        ]) {
          expect(json.includes(key)).toBe(from === '1.1.0' && to === '1.1.0');
        }

        // Round trip back to the source version.
        const back = convertResult(out, from);
        if (lossless(from, to)) expect(back).toEqual(src);
        else expect(back).not.toEqual(src);
      });
    }
  }
});

describe('convertResult: specific rules', () => {
  it('drops routes of a family without an address when going to 0.2.0', () => {
    const r = parseResult({
      cniVersion: '1.0.0',
      ips: [{ address: '10.0.0.2/8' }],
      routes: [{ dst: 'fd00::/8' }, { dst: '10.0.0.0/8' }],
    });
    expect(convertResult(r, '0.2.0')).toEqual({
      cniVersion: '0.2.0',
      ip4: { ip: '10.0.0.2/8', routes: [{ dst: '10.0.0.0/8' }] },
    });
  });
  it('leaves empty arrays out and keeps results without any addresses valid', () => {
    const r = parseResult({ cniVersion: '0.4.0', interfaces: [], ips: [], routes: [] });
    expect(convertResult(r, '1.0.0')).toEqual({ cniVersion: '1.0.0' });
    expect(convertResult(parseResult({ cniVersion: '1.0.0' }), '0.2.0')).toEqual({ cniVersion: '0.2.0' });
  });
  it('same-version conversion is an unchanged copy', () => {
    const r = sample('1.1.0');
    const c = convertResult(r, '1.1.0');
    expect(c).toEqual(r);
    expect(c).not.toBe(r);
  });
  it('1.0.0 labelled results that carry 1.1.0 fields keep them going up and lose them going down', () => {
    const r = parseResult({ cniVersion: '1.0.0', interfaces: [{ name: 'a', mtu: 1500 }] });
    expect(convertResult(r, '1.1.0')).toEqual({
      cniVersion: '1.1.0',
      interfaces: [{ name: 'a', mtu: 1500 }],
    });
    expect(convertResult(r, '0.4.0')).toEqual({ cniVersion: '0.4.0', interfaces: [{ name: 'a' }] });
  });
  it('refuses unknown versions with code 1', () => {
    const bogus = { cniVersion: '9.0.0' } as unknown as CniResult;
    for (const fn of [
      () => convertResult(bogus, '1.0.0'),
      () => convertResult(sample('1.0.0'), '2.0.0' as CniVersion),
    ]) {
      try {
        fn();
        throw new Error('expected a throw');
      } catch (err) {
        expect(err).toBeInstanceOf(CniError);
        expect((err as CniError).code).toBe(1);
      }
    }
  });
});
