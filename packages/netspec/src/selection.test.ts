import { CniError } from '@multus-ts/cni';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatCommaSelection,
  MAX_SELECTION_BYTES,
  type NetworkSelection,
  type Parsed,
  parseDefaultNetworkSelection,
  parseNetworkSelection,
} from './selection.ts';

const opts = { defaultNamespace: 'podns' };

function ok(value: string): NetworkSelection[] {
  const r = parseNetworkSelection(value, opts);
  if (!r.ok) throw new Error(`expected success, got ${r.error.message}`);
  return r.value;
}

function bad(value: string): CniError {
  const r = parseNetworkSelection(value, opts);
  if (r.ok) throw new Error(`expected failure for ${value}, got ${JSON.stringify(r.value)}`);
  expect(r.error).toBeInstanceOf(CniError);
  return r.error;
}

function json(...elements: unknown[]): string {
  return JSON.stringify(elements);
}

describe('4.1 both formats', () => {
  it('4.1 accepts the comma form and the JSON form for the same selection', () => {
    expect(ok('a,other/b')).toEqual(ok(json({ name: 'a' }, { name: 'b', namespace: 'other' })));
  });
  it('4.1 a missing, empty or blank annotation selects nothing', () => {
    expect(parseNetworkSelection(undefined, opts)).toEqual({ ok: true, value: [] });
    expect(ok('')).toEqual([]);
    expect(ok('   ')).toEqual([]);
    expect(ok('[]')).toEqual([]);
  });
});

describe('4.1.1 comma-delimited form', () => {
  it.each([
    ['net-a', [{ name: 'net-a', namespace: 'podns' }]],
    [
      'net-a,net-b,other-ns/net-c',
      [
        { name: 'net-a', namespace: 'podns' },
        { name: 'net-b', namespace: 'podns' },
        { name: 'net-c', namespace: 'other-ns' },
      ],
    ],
    [
      ' net-a , ns / net-b @ eth9 ',
      [
        { name: 'net-a', namespace: 'podns' },
        { name: 'net-b', namespace: 'ns', interface: 'eth9' },
      ],
    ],
    ['net-a@foo', [{ name: 'net-a', namespace: 'podns', interface: 'foo' }]],
    ['/net1', [{ name: 'net1', namespace: 'podns' }]],
    ['net-a@', [{ name: 'net-a', namespace: 'podns' }]],
  ])('4.1.1 parses %j', (value, expected) => {
    expect(ok(value)).toEqual(expected);
  });

  it.each([
    ['a/b/c', "more than one '/'"],
    ['a@b@c', "more than one '@'"],
    ['a,', 'empty network name'],
    ['ns/', 'empty network name'],
    ['Net-A', 'lower case'],
    ['net_a', 'lower case'],
    ['-net', 'lower case'],
    ['Other/net', 'namespace "Other"'],
    [`${'a'.repeat(64)}`, 'no more than 63'],
    ['net@a:b', 'interface "a:b"'],
    ['net@0123456789abcdef', 'interface "0123456789abcdef"'],
    ['net@..', 'interface ".."'],
  ])('4.1.1 rejects %j with a precise message', (value, fragment) => {
    const e = bad(value);
    expect(e.code).toBe(7);
    expect(e.id).toBe('ERR_SELECTION_ELEMENT');
    expect(e.message).toContain(fragment);
  });

  it('4.1.1 allows an interface name of exactly 15 bytes (upstream message says "less than 15")', () => {
    expect(ok('net@0123456789abcde')[0]?.interface).toBe('0123456789abcde');
  });
});

describe('3.3 network references', () => {
  it('3.3 references take the form ns/name or name, each a DNS-1123 label of at most 63 characters', () => {
    const label63 = 'a'.repeat(63);
    expect(ok(`${label63}/${label63}`)).toEqual([{ name: label63, namespace: label63 }]);
    expect(bad(`${label63}/${'b'.repeat(64)}`).message).toContain('no more than 63');
    expect(bad('my.net').message).toContain('lower case alphanumeric');
    expect(bad(json({ name: 'a', namespace: 'x'.repeat(64) })).message).toContain('no more than 63');
  });
});

describe('4.1.2 JSON form', () => {
  it('4.1.2 requires a JSON list of maps: a bare object is refused', () => {
    const e = bad('{"name":"a"}');
    expect(e.id).toBe('ERR_SELECTION_NOT_LIST');
    expect(e.code).toBe(7);
  });
  it('4.1.2 refuses malformed JSON with code 6 (decode failure)', () => {
    const e = bad('[{"name":"a"');
    expect(e.id).toBe('ERR_SELECTION_NOT_JSON');
    expect(e.code).toBe(6);
  });
  it('4.1.2 uses the JSON form whenever a bracket, brace or quote appears (upstream rule)', () => {
    expect(bad('"net-a"').id).toBe('ERR_SELECTION_NOT_LIST');
    expect(bad('net-a,"b"').id).toBe('ERR_SELECTION_NOT_JSON');
  });
  it('4.1.2 refuses a null element instead of crashing (upstream panics on [null])', () => {
    const e = bad('[null]');
    expect(e.message).toContain('element 0: must be a JSON object');
  });
  it.each(['[1]', '["a"]', '[[]]', '[true]'])('4.1.2 refuses the non-map element %s', (v) => {
    expect(bad(v).id).toBe('ERR_SELECTION_ELEMENT');
  });
  it('4.1.2 keeps reverse-DNS extension keys and ignores unknown reserved keys', () => {
    const [sel] = ok(json({ name: 'a', 'org.example.color': { x: 1 }, futureKey: 1 }));
    expect(sel?.extensions).toEqual({ 'org.example.color': { x: 1 } });
    expect(sel).not.toHaveProperty('futureKey');
  });
  it('4.1.2 matches keys case-insensitively like Go, refusing two spellings of one key', () => {
    expect(ok(json({ Name: 'a', Interface: 'x1' }))).toEqual([
      { name: 'a', namespace: 'podns', interface: 'x1' },
    ]);
    expect(bad(json({ name: 'a', NAME: 'b' })).message).toContain('both set "name"');
  });
  it('4.1.2 an invalid element invalidates the whole annotation and names the element', () => {
    const e = bad(json({ name: 'a' }, { name: 'b', mac: 'nope' }));
    expect(e.message).toContain('element 1');
    expect(e.message).toContain('mac "nope"');
  });
});

describe('4.1.2.1 selection element keys', () => {
  it('4.1.2.1.1 name is required and must be a DNS-1123 label (also in the JSON form)', () => {
    expect(bad(json({})).message).toContain('"name" is required');
    expect(bad(json({ name: '' })).message).toContain('"name" is required');
    expect(bad(json({ name: 5 })).message).toContain('"name" must be a string');
    expect(bad(json({ name: 'My_Net' })).message).toContain('network name "My_Net"');
  });
  it('4.1.2.1.2 an empty or missing namespace means the pod namespace', () => {
    expect(
      ok(json({ name: 'a' }, { name: 'b', namespace: '' }, { name: 'c', namespace: 'x' })).map(
        (s) => s.namespace,
      ),
    ).toEqual(['podns', 'podns', 'x']);
    expect(bad(json({ name: 'a', namespace: 'Bad' })).message).toContain('namespace "Bad"');
  });
  it.each([
    [['10.1.1.11'], true],
    [['10.1.1.11/24', '2001:db8::5/64'], true],
    [['::ffff:10.0.0.1'], true],
    [[], false],
    [['10.1.1'], false],
    [['010.1.1.1'], false],
    [['10.1.1.1/33'], false],
    [['fe80::1%eth0'], false],
    ['10.1.1.1', false],
  ])('4.1.2.1.3 ips %j valid=%s', (ips, valid) => {
    const r = parseNetworkSelection(json({ name: 'a', ips }), opts);
    expect(r.ok).toBe(valid);
    if (r.ok) expect(r.value[0]?.ips).toEqual(ips);
  });
  it.each([
    ['c2:11:22:33:44:55', true],
    ['C2-11-22-33-44-55', true],
    ['c211.2233.4455', true],
    ['c2:11:22:33:44', false],
    ['c2:11:22:33:44:55:66:77', false],
    ['c2:11:22:33:44:5g', false],
    ['c2:11:22:33:44:555', false],
  ])('4.1.2.1.4 mac %s valid=%s (exactly 6 bytes)', (mac, valid) => {
    expect(parseNetworkSelection(json({ name: 'a', mac }), opts).ok).toBe(valid);
  });
  it('4.1.2.1.5 interface must be a valid Linux ifname', () => {
    for (const name of ['a/b', 'a b', 'a:b', '.', '..', 'x'.repeat(16), 'tab\tx']) {
      expect(bad(json({ name: 'a', interface: name })).message).toContain('interface');
    }
    expect(ok(json({ name: 'a', interface: 'x'.repeat(15) }))[0]?.interface).toBe('x'.repeat(15));
  });
  it('4.1.2.1.5 rejects a repeated interface name', () => {
    const e = bad(json({ name: 'a', interface: 'foo' }, { name: 'b', interface: 'foo' }));
    expect(e.id).toBe('ERR_SELECTION_DUPLICATE_IFNAME');
    expect(e.message).toContain('"foo"');
    expect(bad('a@foo,b@foo').id).toBe('ERR_SELECTION_DUPLICATE_IFNAME');
  });
  it('4.1.2.1.5 upstream: the deprecated interfaceRequest is used when interface is empty', () => {
    expect(ok(json({ name: 'a', interfaceRequest: 'old' }))[0]?.interface).toBe('old');
    expect(ok(json({ name: 'a', interface: 'new', interfaceRequest: 'old' }))[0]?.interface).toBe('new');
  });
  it('4.1.2.1.6 cni-args must be a map and is kept as given', () => {
    expect(ok(json({ name: 'a', 'cni-args': { k: [1, { x: 'y' }] } }))[0]?.cniArgs).toEqual({
      k: [1, { x: 'y' }],
    });
    expect(bad(json({ name: 'a', 'cni-args': [1] })).message).toContain('"cni-args" must be an object');
    expect(bad(json({ name: 'a', 'cni-args': 'x' })).message).toContain('"cni-args" must be an object');
  });
  it('4.1.2.1.7 portMappings: ports 1-65535 required, protocol case-insensitive, default TCP', () => {
    const [sel] = ok(
      json({
        name: 'a',
        portMappings: [
          { hostPort: 8080, containerPort: 80 },
          { hostPort: 1, containerPort: 65535, protocol: 'uDp', hostIP: '10.0.0.1' },
          { hostPort: 53, containerPort: 53, protocol: 'SCTP' },
        ],
      }),
    );
    expect(sel?.portMappings).toEqual([
      { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostPort: 1, containerPort: 65535, protocol: 'udp', hostIP: '10.0.0.1' },
      { hostPort: 53, containerPort: 53, protocol: 'sctp' },
    ]);
  });
  it.each([
    [[], 'at least one'],
    [[{ containerPort: 80 }], 'hostPort is required'],
    [[{ hostPort: 80 }], 'containerPort is required'],
    [[{ hostPort: 0, containerPort: 80 }], 'hostPort must be an integer from 1 to 65535'],
    [[{ hostPort: 65536, containerPort: 80 }], 'hostPort must be'],
    [[{ hostPort: 80.5, containerPort: 80 }], 'hostPort must be'],
    [[{ hostPort: '80', containerPort: 80 }], 'hostPort must be'],
    [[{ hostPort: 80, containerPort: 80, protocol: 'icmp' }], 'not TCP, UDP or SCTP'],
    [[{ hostPort: 80, containerPort: 80, hostIP: 'x' }], 'hostIP "x"'],
    ['x', 'must be a list'],
  ])('4.1.2.1.7 rejects portMappings %j', (pm, fragment) => {
    expect(bad(json({ name: 'a', portMappings: pm })).message).toContain(fragment);
  });
  it('4.1.2.1.8 bandwidth: non-zero integers, a burst requires its rate', () => {
    const bw = { ingressRate: 1000, ingressBurst: 2000, egressRate: 3000 };
    expect(ok(json({ name: 'a', bandwidth: bw }))[0]?.bandwidth).toEqual(bw);
    expect(bad(json({ name: 'a', bandwidth: { ingressBurst: 5 } })).message).toContain(
      'requires bandwidth.ingressRate',
    );
    expect(bad(json({ name: 'a', bandwidth: { egressBurst: 5 } })).message).toContain(
      'requires bandwidth.egressRate',
    );
    expect(bad(json({ name: 'a', bandwidth: { ingressRate: 0 } })).message).toContain('positive integer');
    expect(bad(json({ name: 'a', bandwidth: { egressRate: -1 } })).message).toContain('positive integer');
    expect(bad(json({ name: 'a', bandwidth: { egressRate: 1.5 } })).message).toContain('positive integer');
    expect(bad(json({ name: 'a', bandwidth: [] })).message).toContain('must be an object');
  });
  it('4.1.2.1.9 default-route is a list of gateways, may be empty, and only one element may set it', () => {
    expect(ok(json({ name: 'a', 'default-route': ['10.1.1.254', '2001:db8::1'] }))[0]?.defaultRoute).toEqual([
      '10.1.1.254',
      '2001:db8::1',
    ]);
    expect(ok(json({ name: 'a', 'default-route': [] }))[0]?.defaultRoute).toEqual([]);
    expect(ok(json({ name: 'a' }))[0]).not.toHaveProperty('defaultRoute');
    const e = bad(json({ name: 'a', 'default-route': [] }, { name: 'b', 'default-route': ['10.0.0.1'] }));
    expect(e.id).toBe('ERR_SELECTION_DEFAULT_ROUTE_TWICE');
  });
  it('4.1.2.1.9 refuses a gateway that is not an IP (upstream counted "" as IPv6)', () => {
    expect(bad(json({ name: 'a', 'default-route': [''] })).message).toContain('default-route: ""');
    expect(bad(json({ name: 'a', 'default-route': ['10.0.0.0/24'] })).message).toContain('not an IP');
  });
  it.each([
    ['c2:11:22:33:44:55:66:77', true],
    ['c2-11-22-33-44-55-66-77', true],
    ['c211.2233.4455.6677', true],
    ['c2:11:22:33:44:55', false],
    ['00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00', false],
  ])('4.1.2.1.10 infiniband-guid %s valid=%s (exactly 8 bytes)', (guid, valid) => {
    const r = parseNetworkSelection(json({ name: 'a', 'infiniband-guid': guid }), opts);
    expect(r.ok).toBe(valid);
  });
  it('4.1.2.1.11 ipam-claim-reference is an object name and cannot be combined with ips', () => {
    expect(ok(json({ name: 'a', 'ipam-claim-reference': 'vm1.net1.eth1' }))[0]?.ipamClaimReference).toBe(
      'vm1.net1.eth1',
    );
    expect(bad(json({ name: 'a', ips: ['10.0.0.1'], 'ipam-claim-reference': 'c' })).message).toContain(
      '"ips" and "ipam-claim-reference" must not be set together',
    );
    expect(bad(json({ name: 'a', 'ipam-claim-reference': 'Bad Name' })).message).toContain(
      'ipam-claim-reference',
    );
  });
  it('upstream: deviceID is accepted as a string', () => {
    expect(ok(json({ name: 'a', deviceID: '0000:04:00.5' }))[0]?.deviceID).toBe('0000:04:00.5');
    expect(bad(json({ name: 'a', deviceID: 5 })).message).toContain('"deviceID" must be a string');
  });
});

describe('hostile input', () => {
  it('refuses an annotation over the size cap with code 7 before parsing it', () => {
    const e = bad(`[${' '.repeat(MAX_SELECTION_BYTES)}]`);
    expect(e.id).toBe('ERR_SELECTION_TOO_LARGE');
    expect(e.code).toBe(7);
  });
  it('counts bytes, not characters, against the size cap', () => {
    const r = parseNetworkSelection('é'.repeat(600), { ...opts, maxBytes: 1000 });
    expect(!r.ok && r.error.id).toBe('ERR_SELECTION_TOO_LARGE');
  });
  it('refuses more elements than the cap in either form', () => {
    expect(bad(Array(200).fill('a').join(',')).id).toBe('ERR_SELECTION_TOO_MANY');
    expect(bad(json(...Array(200).fill({ name: 'a' }))).id).toBe('ERR_SELECTION_TOO_MANY');
  });
  it('survives deeply nested JSON and prototype keys', () => {
    expect(bad(`${'['.repeat(5000)}${']'.repeat(5000)}`).id).toBe('ERR_SELECTION_ELEMENT');
    const [sel] = ok('[{"name":"a","__proto__":{"polluted":true},"cni-args":{"__proto__":{"x":1}}}]');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.hasOwn(sel?.cniArgs ?? {}, '__proto__')).toBe(true);
  });
  it('property: returns a value or its own error type for any string, never throws', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.json(), fc.stringMatching(/^[a-z0-9/@, ,.[\]{}":-]{0,40}$/)),
        (s) => {
          const r: Parsed<NetworkSelection[]> = parseNetworkSelection(s, opts);
          if (!r.ok) {
            expect(r.error).toBeInstanceOf(CniError);
            expect(r.error.id).toMatch(/^ERR_SELECTION_/);
            expect([6, 7]).toContain(r.error.code);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('comma form round trip', () => {
  const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?$/);
  const ifname = fc.stringMatching(/^[a-zA-Z0-9_.-]{1,15}$/).filter((s) => s !== '.' && s !== '..');
  it('property: format then parse gives back the same elements', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ name: label, namespace: label, interface: fc.option(ifname, { nil: undefined }) }),
          {
            minLength: 1,
            maxLength: 10,
          },
        ),
        (generated) => {
          // A repeated interface name is invalid (4.1.2.1.5): keep only the first use of each.
          const seen = new Set<string>();
          const list = generated.map((e) => {
            if (e.interface === undefined || !seen.has(e.interface)) {
              if (e.interface !== undefined) seen.add(e.interface);
              return e;
            }
            return { ...e, interface: undefined };
          });
          const expected = list.map((e) =>
            e.interface === undefined ? { name: e.name, namespace: e.namespace } : { ...e },
          );
          expect(ok(formatCommaSelection(list))).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('v1.multus-cni.io/default-network', () => {
  const dOpts = { defaultNamespace: 'kube-system' };
  it('6 same grammar, one element, default namespace is multusNamespace', () => {
    const r = parseDefaultNetworkSelection('macvlan-vlan0', dOpts);
    expect(r).toEqual({ ok: true, value: { name: 'macvlan-vlan0', namespace: 'kube-system' } });
    const j = parseDefaultNetworkSelection('[{"name":"x","namespace":"default","interface":"eth0"}]', dOpts);
    expect(j.ok && j.value).toEqual({ name: 'x', namespace: 'default', interface: 'eth0' });
  });
  it.each(['', '  ', '[]', 'a,b'])('6 refuses %j: exactly one network', (v) => {
    const r = parseDefaultNetworkSelection(v, dOpts);
    expect(!r.ok && r.error.id).toBe('ERR_DEFAULT_NETWORK_COUNT');
    expect(!r.ok && r.error.message).toContain('v1.multus-cni.io/default-network');
  });
  it('6 reports grammar errors under the default-network annotation name', () => {
    const r = parseDefaultNetworkSelection('Bad', dOpts);
    expect(!r.ok && r.error.message).toContain('v1.multus-cni.io/default-network');
  });
});
