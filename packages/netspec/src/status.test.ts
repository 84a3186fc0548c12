import { CniError } from '@multus-ts/cni';
import { describe, expect, it } from 'vitest';
import { buildNetworkStatus, formatNetworkStatus, parseNetworkStatus, type StatusInput } from './status.ts';

const NS = '/var/run/netns/cni-1234';

function status(result: unknown, extra: Partial<StatusInput> = {}) {
  return buildNetworkStatus({ network: 'default/net', ifName: 'net1', isDefault: false, result, ...extra });
}

// A bridge-style result: two host-side interfaces, then the sandbox one.
const bridgeResult = {
  cniVersion: '1.0.0',
  interfaces: [
    { name: 'cni0', mac: '0a:58:0a:f4:01:01' },
    { name: 'veth1234', mac: '12:34:56:78:9a:bc' },
    { name: 'eth0', mac: 'de:c3:b0:e3:f4:ee', sandbox: NS },
  ],
  ips: [
    { address: '10.244.1.1/24', interface: 0 },
    { address: '192.168.1.47/24', gateway: '192.168.1.1', interface: 2 },
  ],
  routes: [{ dst: '0.0.0.0/0', gw: '192.168.1.1' }, { dst: '10.96.0.0/12' }],
};

describe('5.1 status comes from the first sandboxed interface', () => {
  it('5.1 picks the first interface with a non-empty sandbox', () => {
    const r = {
      cniVersion: '1.1.0',
      interfaces: [
        { name: 'host0' },
        { name: 'empty', sandbox: '' },
        { name: 'net1', sandbox: NS, mac: '02:00:00:00:00:01' },
        { name: 'net1b', sandbox: NS },
      ],
      ips: [
        { address: '10.0.0.2/24', interface: 2 },
        { address: '10.0.0.3/24', interface: 3 },
      ],
    };
    expect(status(r)).toMatchObject({ interface: 'net1', ips: ['10.0.0.2'], mac: '02:00:00:00:00:01' });
  });
  it('5.1 an attachment without a result still gets a minimal entry', () => {
    expect(status(undefined)).toEqual({ name: 'default/net', default: false, dns: {} });
  });
});

describe('5.2 / 5.3.5 default', () => {
  it('5.2 the cluster default network entry has "default": true', () => {
    expect(status(bridgeResult, { isDefault: true }).default).toBe(true);
  });
  it('5.3.5 every other entry says false, so at most one is true', () => {
    const list = [true, false, false].map((isDefault) => status(bridgeResult, { isDefault }));
    expect(list.filter((s) => s.default)).toHaveLength(1);
    expect(list.every((s) => typeof s.default === 'boolean')).toBe(true);
  });
});

describe('5.3 fields', () => {
  it('5.3.1 name is the namespaced network name given', () => {
    expect(status(bridgeResult, { network: 'multus/macvlan-conf' }).name).toBe('multus/macvlan-conf');
  });
  it.each([
    ['0.1.0', { cniVersion: '0.1.0', ip4: { ip: '10.1.0.5/16', gateway: '10.1.0.1' } }],
    ['0.2.0', { cniVersion: '0.2.0', ip4: { ip: '10.1.0.5/16' }, ip6: { ip: '2001:db8::5/64' } }],
  ])('5.3.2 a %s result (no interfaces) reports CNI_IFNAME as the interface', (_v, r) => {
    const s = status(r);
    expect(s.interface).toBe('net1');
    expect(s.ips?.[0]).toBe('10.1.0.5');
  });
  it.each(['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'])(
    '5.3.2 a %s result reports the sandboxed interface',
    (v) => {
      const r = {
        cniVersion: v,
        interfaces: [{ name: 'vethx' }, { name: 'data0', sandbox: NS, mac: '02:00:00:00:00:02' }],
        ips: [{ ...(v < '1' ? { version: '4' } : {}), address: '10.2.0.7/24', interface: 1 }],
      };
      expect(status(r)).toMatchObject({ interface: 'data0', ips: ['10.2.0.7'], mac: '02:00:00:00:00:02' });
    },
  );
  it('5.3.2 a result with interfaces but none sandboxed has no interface or mac', () => {
    const s = status({
      cniVersion: '0.4.0',
      interfaces: [{ name: 'host', mac: '02:00:00:00:00:03' }],
      ips: [{ version: '4', address: '10.0.0.1/24', interface: 0 }],
    });
    expect(s).not.toHaveProperty('interface');
    expect(s).not.toHaveProperty('mac');
    expect(s).not.toHaveProperty('ips');
  });
  it('5.3.3 never reports host-side IPs; strips prefixes; canonicalises IPv6 as Go does', () => {
    const s = status({
      ...bridgeResult,
      ips: [
        ...bridgeResult.ips,
        { address: '2001:0DB8:0:0::0001/64', interface: 2 },
        { address: '10.9.9.9/8', interface: 7 },
      ],
    });
    expect(s.ips).toEqual(['192.168.1.47', '2001:db8::1']);
  });
  it('5.3.3 without sandboxed interfaces, IPs without an interface index are used', () => {
    const s = status({ cniVersion: '1.0.0', ips: [{ address: '10.3.0.4/24' }, { address: 'fd00::4/64' }] });
    expect(s.ips).toEqual(['10.3.0.4', 'fd00::4']);
    expect(s).not.toHaveProperty('interface');
  });
  it('5.3.3 unindexed IPs count for the sandboxed interface only when it is the sole interface', () => {
    const lone = status({
      cniVersion: '1.0.0',
      interfaces: [{ name: 'net1', sandbox: NS }],
      ips: [{ address: '10.4.0.2/24' }],
    });
    expect(lone.ips).toEqual(['10.4.0.2']);
    const shared = status({
      cniVersion: '1.0.0',
      interfaces: [{ name: 'h' }, { name: 'net1', sandbox: NS }],
      ips: [{ address: '10.4.0.2/24' }],
    });
    expect(shared).not.toHaveProperty('ips');
  });
  it('5.3.4 mac comes from the sandboxed interface and only with an interface', () => {
    const s = status(bridgeResult);
    expect(s.mac).toBe('de:c3:b0:e3:f4:ee');
    expect(s.interface).toBe('eth0');
  });
  it('5.3.6 dns is always present, {} when the result has none, else its fields', () => {
    expect(status(bridgeResult).dns).toEqual({});
    const withDns = {
      ...bridgeResult,
      dns: {
        nameservers: ['10.96.0.10'],
        domain: 'cluster.local',
        search: ['svc.cluster.local'],
        options: ['ndots:5'],
      },
    };
    expect(status(withDns).dns).toEqual(withDns.dns);
    expect(status({ ...bridgeResult, dns: { nameservers: [] } }).dns).toEqual({});
  });
  it('5.3.6.4 default-route lists the gateways the element asked for', () => {
    expect(status(bridgeResult, { defaultRoute: ['10.1.1.254'] })['default-route']).toEqual(['10.1.1.254']);
    expect(status(bridgeResult, { defaultRoute: [] })['default-route']).toEqual([]);
    expect(status(bridgeResult)).not.toHaveProperty('default-route');
  });
  it('5.3.7 device-info is included when given', () => {
    const deviceInfo = { type: 'pci' as const, version: '1.1.0', pci: { 'pci-address': '0000:04:00.2' } };
    expect(status(bridgeResult, { deviceInfo })['device-info']).toEqual(deviceInfo);
  });
  it('mtu comes from a 1.1.0 interface', () => {
    const r = { cniVersion: '1.1.0', interfaces: [{ name: 'net1', sandbox: NS, mtu: 9000 }] };
    expect(status(r).mtu).toBe(9000);
  });
  it('gateway lists default-route gateways and is left out when there is none (never "<nil>")', () => {
    expect(status(bridgeResult).gateway).toEqual(['192.168.1.1']);
    const noGw = {
      cniVersion: '0.3.0',
      interfaces: [{ name: 'net1', sandbox: NS }],
      ips: [{ version: '4', address: '192.168.1.201/24', interface: 0 }],
      routes: [{ dst: '0.0.0.0/0' }],
    };
    expect(status(noGw)).not.toHaveProperty('gateway');
    const v6 = {
      cniVersion: '1.0.0',
      routes: [
        { dst: '::/0', gw: 'fe80::0001' },
        { dst: '::0/0', gw: 'fe80::2' },
      ],
    };
    expect(status(v6).gateway).toEqual(['fe80::1', 'fe80::2']);
  });
  it('refuses an undecodable result with code 6, naming the network', () => {
    for (const bad of [
      { cniVersion: '1.0.0', ips: [{ address: 'nope' }] },
      { cniVersion: '7.0.0' },
      'text',
      [1],
    ]) {
      try {
        status(bad);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(CniError);
        expect((e as CniError).id).toBe('ERR_RESULT_INVALID');
        expect((e as CniError).code).toBe(6);
        expect((e as CniError).msg).toContain('default/net');
      }
    }
  });
});

describe('serialisation (upstream format, multus-thick.md 5.15)', () => {
  const kindnet = {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'eth0', mac: 'aa:bb:cc:dd:ee:ff', sandbox: NS }],
    ips: [{ address: '10.244.1.5/24', interface: 0 }],
    routes: [{ dst: '0.0.0.0/0', gw: '10.244.1.1' }],
  };
  const macvlan = {
    cniVersion: '0.3.1',
    interfaces: [{ name: 'net1', mac: '02:11:22:33:44:55', sandbox: NS }],
    ips: [{ version: '4', address: '10.1.1.11/24', interface: 0 }],
  };
  const expected = `[{
    "name": "kindnet",
    "interface": "eth0",
    "ips": [
        "10.244.1.5"
    ],
    "mac": "aa:bb:cc:dd:ee:ff",
    "default": true,
    "dns": {},
    "gateway": [
        "10.244.1.1"
    ]
},{
    "name": "default/macvlan1-config",
    "interface": "net1",
    "ips": [
        "10.1.1.11"
    ],
    "mac": "02:11:22:33:44:55",
    "default": false,
    "dns": {}
}]`;
  it('5 formats entries like Go MarshalIndent joined by commas, upstream key order', () => {
    const list = [
      buildNetworkStatus({ network: 'kindnet', ifName: 'eth0', isDefault: true, result: kindnet }),
      buildNetworkStatus({
        network: 'default/macvlan1-config',
        ifName: 'net1',
        isDefault: false,
        result: macvlan,
      }),
    ];
    expect(formatNetworkStatus(list)).toBe(expected);
  });
  it('5 escapes <, > and & the way Go does', () => {
    expect(formatNetworkStatus([{ name: 'a<b>&c', default: false, dns: {} }])).toContain(
      '"a\\u003cb\\u003e\\u0026c"',
    );
  });
  it('5 an empty list is []', () => {
    expect(formatNetworkStatus([])).toBe('[]');
  });
});

describe('parsing network-status', () => {
  // fixtures/seeds/network-status-thick.json (upstream output, including its "<nil>" gateway bug)
  const thick = `[{
    "name": "cbr0", "interface": "eth0", "ips": [ "192.168.1.47" ], "mac": "de:c3:b0:e3:f4:ee",
    "default": true, "dns": {}, "gateway": [ "192.168.1.1" ]
},{
    "name": "multus/macvlan-conf", "interface": "net1", "ips": [ "192.168.1.201" ], "mac": "e2:34:6b:40:74:c2",
    "dns": {}, "gateway": [ "\\u003cnil\\u003e" ]
}]`;
  // fixtures/seeds/network-status-1.json (an older upstream: no interface on the default entry)
  const old = `[{ "name": "cbr0", "ips": [ "10.244.1.73" ], "default": true, "dns": {} },
{ "name": "macvlan-conf", "interface": "net1", "ips": [ "192.168.1.205" ], "mac": "86:1d:96:ff:55:0d", "dns": {} }]`;

  it('reads upstream annotations (seeds), filling default=false where omitted', () => {
    const t = parseNetworkStatus(thick);
    expect(t.map((s) => [s.name, s.interface, s.default])).toEqual([
      ['cbr0', 'eth0', true],
      ['multus/macvlan-conf', 'net1', false],
    ]);
    expect(t[1]?.gateway).toEqual(['<nil>']);
    expect(parseNetworkStatus(old)[0]).toEqual({
      name: 'cbr0',
      ips: ['10.244.1.73'],
      default: true,
      dns: {},
    });
  });
  it('round-trips what it formats', () => {
    const list = [
      status(bridgeResult, { isDefault: true, network: 'cbr0' }),
      status(bridgeResult, {
        defaultRoute: ['10.0.0.1'],
        deviceInfo: {
          type: 'vhost-user',
          version: '1.1.0',
          'vhost-user': { mode: 'server', path: '/var/run/x.sock' },
        },
      }),
    ];
    expect(parseNetworkStatus(formatNetworkStatus(list))).toEqual(list);
  });
  it.each([
    ['{', 'not JSON'],
    ['{}', 'not a list'],
    ['[{"interface":"eth0"}]', 'no name'],
    ['[{"name":"a","ips":"10.0.0.1"}]', 'ips not a list'],
    ['[{"name":"a","device-info":{"type":"pci","version":"1.1.0"}}]', 'device-info without its map'],
    [`[${'{"name":"a"},'.repeat(30000)}{"name":"a"}]`, 'oversized'],
  ])('refuses %#: %s, with code 6', (text) => {
    try {
      parseNetworkStatus(text);
      expect.unreachable();
    } catch (e) {
      expect((e as CniError).id).toBe('ERR_STATUS_INVALID');
      expect((e as CniError).code).toBe(6);
    }
  });
});
