import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_CONFIG_BYTES,
  NETWORK_NAME_RE,
  parseNetworkConfig,
  validateContainerId,
  validateIfName,
  validateNetworkName,
} from './config.ts';
import { CniError } from './errors.ts';

function errOf(fn: () => unknown): CniError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CniError) return err;
    throw new Error(`expected a CniError, got ${String(err)}`);
  }
  throw new Error('expected a CniError, nothing was thrown');
}
const codeOf = (fn: () => unknown) => errOf(fn).code;
const enc = (s: string) => new TextEncoder().encode(s);

const macvlan = {
  cniVersion: '0.3.1',
  name: 'macvlan-conf',
  type: 'macvlan',
  master: 'eth0',
  mode: 'bridge',
  ipam: { type: 'host-local', subnet: '10.1.1.0/24', 'x.custom': [1, { deep: true }] },
};

describe('parseNetworkConfig: .conf', () => {
  it('turns a single plugin into a one-plugin list and keeps the object untouched', () => {
    const text = JSON.stringify(macvlan);
    const list = parseNetworkConfig(text);
    expect(list.kind).toBe('conf');
    expect(list.name).toBe('macvlan-conf');
    expect(list.cniVersion).toBe('0.3.1');
    expect(list.disableCheck).toBe(false);
    expect(list.disableGC).toBe(false);
    expect(list.plugins).toHaveLength(1);
    expect(list.plugins[0]).toBe(list.raw);
    expect(JSON.stringify(list.plugins[0])).toBe(text);
    expect(new TextDecoder().decode(list.bytes)).toBe(text);
  });
  it('returns the very bytes it was given', () => {
    const bytes = enc(JSON.stringify(macvlan));
    expect(parseNetworkConfig(bytes).bytes).toBe(bytes);
  });
  it('treats an absent cniVersion as 0.1.0', () => {
    expect(parseNetworkConfig('{"name":"n","type":"bridge"}').cniVersion).toBe('0.1.0');
  });
  it('uses defaultName when the config has none, and checks it', () => {
    const list = parseNetworkConfig('{"cniVersion":"1.0.0","type":"bridge"}', { defaultName: 'nad-a' });
    expect(list.name).toBe('nad-a');
    expect(list.raw['name']).toBeUndefined();
    expect(codeOf(() => parseNetworkConfig('{"cniVersion":"1.0.0","type":"bridge"}'))).toBe(7);
    expect(codeOf(() => parseNetworkConfig('{"type":"bridge"}', { defaultName: 'bad/name' }))).toBe(7);
  });
  it('keeps unknown keys, __proto__ included, without touching the prototype', () => {
    const list = parseNetworkConfig('{"name":"n","type":"x","__proto__":{"polluted":1},"zz":null}');
    const p = list.plugins[0]!;
    expect(Object.hasOwn(p, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(p)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.keys(p)).toEqual(['name', 'type', '__proto__', 'zz']);
  });
  it('lets the last duplicate key win (as Go does)', () => {
    const list = parseNetworkConfig('{"name":"a","name":"b","type":"x","type":"bridge"}');
    expect(list.name).toBe('b');
    expect(list.plugins[0]!['type']).toBe('bridge');
  });
});

describe('parseNetworkConfig: .conflist', () => {
  const conflist = {
    cniVersion: '1.0.0',
    name: 'chain',
    disableCheck: true,
    plugins: [
      { type: 'bridge', bridge: 'br0', capabilities: { portMappings: false }, 'vendor.x': { a: [1] } },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    ],
    'x-unknown': 42,
  };
  it('parses flags and keeps plugins as the original objects', () => {
    const list = parseNetworkConfig(JSON.stringify(conflist));
    expect(list.kind).toBe('conflist');
    expect(list.name).toBe('chain');
    expect(list.cniVersion).toBe('1.0.0');
    expect(list.disableCheck).toBe(true);
    expect(list.disableGC).toBe(false);
    expect(list.plugins).toEqual(conflist.plugins);
    expect(list.plugins[0]).toBe((list.raw['plugins'] as unknown[])[0]);
    expect(list.raw['x-unknown']).toBe(42);
  });
  it('accepts "true"/"false" strings for the flags like libcni', () => {
    const list = parseNetworkConfig(
      JSON.stringify({
        ...conflist,
        disableCheck: 'FALSE',
        disableGC: 'True',
        loadOnlyInlinedPlugins: 'true',
      }),
    );
    expect(list.disableCheck).toBe(false);
    expect(list.disableGC).toBe(true);
    expect(list.loadOnlyInlinedPlugins).toBe(true);
    const e = errOf(() => parseNetworkConfig(JSON.stringify({ ...conflist, disableGC: 'yes' })));
    expect(e.code).toBe(7);
    expect(e.msg).toContain('disableGC');
    expect(codeOf(() => parseNetworkConfig(JSON.stringify({ ...conflist, disableCheck: 1 })))).toBe(7);
  });
  it('negotiates cniVersions', () => {
    const list = parseNetworkConfig(
      JSON.stringify({ ...conflist, cniVersion: '0.4.0', cniVersions: ['1.1.0', '2.0.0'] }),
    );
    expect(list.cniVersion).toBe('1.1.0');
    expect(list.cniVersions).toEqual(['1.1.0', '2.0.0']);
    const fallback = parseNetworkConfig(
      JSON.stringify({ ...conflist, cniVersion: '0.4.0', cniVersions: ['7.0.0'] }),
    );
    expect(fallback.cniVersion).toBe('0.4.0');
  });
});

describe('parseNetworkConfig: hostile input', () => {
  const cases: [string, string | Uint8Array, number, string?][] = [
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 6],
    [
      'truncated UTF-8 sequence',
      new Uint8Array([...enc('{"name":"'), 0xe2, 0x82, ...enc('","type":"x"}')]),
      6,
    ],
    ['lone surrogate in a string', '{"name":"n","type":"\ud800"}', 6],
    ['not JSON', 'cniVersion: 1.0.0', 6],
    ['empty input', '', 6],
    ['truncated JSON', '{"name":"n","type":"br', 6],
    ['raw NUL byte', new Uint8Array([...enc('{"name":"n",'), 0, ...enc('"type":"x"}')]), 6],
    ['BOM before JSON', new Uint8Array([0xef, 0xbb, 0xbf, ...enc('{"name":"n","type":"x"}')]), 6],
    ['a JSON array', '[{"type":"x"}]', 7],
    ['a JSON string', '"hello"', 7],
    ['null', 'null', 7],
    ['missing type', '{"name":"n","cniVersion":"1.0.0"}', 7, "missing 'type'"],
    ['empty type', '{"name":"n","type":""}', 7, "missing 'type'"],
    ['numeric type', '{"name":"n","type":5}', 7, 'type'],
    ['name of wrong type', '{"name":5,"type":"x"}', 7, 'name'],
    ['name with a slash', '{"name":"../etc","type":"x"}', 7],
    ['name with NUL escape', '{"name":"a\\u0000b","type":"x"}', 7],
    ['name starting with a dot', '{"name":".hidden","type":"x"}', 7],
    ['non-boolean capability', '{"name":"n","type":"x","capabilities":{"mac":"yes"}}', 7, 'capabilities.mac'],
    ['capabilities not an object', '{"name":"n","type":"x","capabilities":[true]}', 7, 'capabilities'],
    ['runtimeConfig not an object', '{"name":"n","type":"x","runtimeConfig":"a"}', 7, 'runtimeConfig'],
    ['args not an object', '{"name":"n","type":"x","args":[]}', 7, 'args'],
    ['ipam.type not a string', '{"name":"n","type":"x","ipam":{"type":1}}', 7, 'ipam.type'],
    [
      'dns.nameservers not strings',
      '{"name":"n","type":"x","dns":{"nameservers":[1]}}',
      7,
      'dns.nameservers[0]',
    ],
    ['cniVersion not a string', '{"name":"n","type":"x","cniVersion":1}', 7, 'cniVersion'],
    ['unknown cniVersion', '{"name":"n","type":"x","cniVersion":"1.2.0"}', 1],
    ['malformed cniVersion', '{"name":"n","type":"x","cniVersion":"latest"}', 1],
    ['empty plugins', '{"name":"n","cniVersion":"1.0.0","plugins":[]}', 7, 'no plugins'],
    ['plugins not an array', '{"name":"n","cniVersion":"1.0.0","plugins":{}}', 7, 'plugins'],
    ['plugins null', '{"name":"n","cniVersion":"1.0.0","plugins":null}', 7, 'plugins'],
    ['plugin not an object', '{"name":"n","cniVersion":"1.0.0","plugins":[1]}', 7, 'plugins[0]'],
    [
      'second plugin without type',
      '{"name":"n","cniVersion":"1.0.0","plugins":[{"type":"a"},{}]}',
      7,
      'plugin 1',
    ],
    [
      'plugin bad capability',
      '{"name":"n","cniVersion":"1.0.0","plugins":[{"type":"a","capabilities":{"ips":0}}]}',
      7,
      'plugins[0].capabilities.ips',
    ],
    ['conflist without name', '{"cniVersion":"1.0.0","plugins":[{"type":"a"}]}', 7, 'missing network name'],
    [
      'cniVersions not an array',
      '{"name":"n","cniVersion":"1.0.0","cniVersions":"1.0.0","plugins":[{"type":"a"}]}',
      7,
    ],
    [
      'cniVersions entry not a string',
      '{"name":"n","cniVersions":[1],"plugins":[{"type":"a"}]}',
      7,
      'cniVersions[0]',
    ],
    ['conflist unknown version', '{"name":"n","cniVersion":"0.5.0","plugins":[{"type":"a"}]}', 1],
  ];
  for (const [what, input, code, inMsg] of cases) {
    it(`${what} -> code ${code}`, () => {
      const e = errOf(() => parseNetworkConfig(input));
      expect(e.code).toBe(code);
      if (inMsg) expect(e.message).toContain(inMsg);
    });
  }

  it('refuses more than maxBytes with code 7, before decoding', () => {
    const big = `{"name":"n","type":"x","pad":"${'a'.repeat(DEFAULT_MAX_CONFIG_BYTES)}"}`;
    expect(codeOf(() => parseNetworkConfig(big))).toBe(7);
    expect(codeOf(() => parseNetworkConfig(enc(big)))).toBe(7);
    expect(codeOf(() => parseNetworkConfig('{"name":"n","type":"x"}', { maxBytes: 10 }))).toBe(7);
    // Multi-byte characters count as bytes, not characters.
    const euro = `{"name":"n","type":"x","p":"${'€'.repeat(10)}"}`;
    expect(codeOf(() => parseNetworkConfig(euro, { maxBytes: euro.length + 5 }))).toBe(7);
    expect(parseNetworkConfig(euro, { maxBytes: enc(euro).length }).name).toBe('n');
  });
  it('refuses a 10 MB document, string or bytes, with code 7', () => {
    const ten = new Uint8Array(10 * 1024 * 1024).fill(0x20);
    expect(codeOf(() => parseNetworkConfig(ten))).toBe(7);
    expect(codeOf(() => parseNetworkConfig(' '.repeat(10 * 1024 * 1024)))).toBe(7);
  });
  it('survives deep nesting in unknown keys', () => {
    const depth = 100_000;
    const text = `{"name":"n","type":"x","deep":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    expect(parseNetworkConfig(text).name).toBe('n');
    const obj = `{"name":"n","type":"x","ipam":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    expect(parseNetworkConfig(obj).name).toBe('n');
  });

  it('property: any string never throws anything but CniError', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        try {
          parseNetworkConfig(s);
        } catch (err) {
          expect(err).toBeInstanceOf(CniError);
        }
      }),
      { numRuns: 500 },
    );
  });
  it('property: any bytes never throw anything but CniError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        try {
          parseNetworkConfig(b);
        } catch (err) {
          expect(err).toBeInstanceOf(CniError);
        }
      }),
      { numRuns: 500 },
    );
  });
  it('property: any JSON value, alone or as a plugin or list, never throws anything but CniError', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        for (const doc of [
          a,
          { name: 'n', type: 'x', capabilities: a, ipam: b },
          { name: 'n', cniVersion: '1.0.0', plugins: [a, b] },
          { name: a, type: b, cniVersion: a },
          { name: 'n', plugins: a, cniVersions: b, disableCheck: a },
        ]) {
          try {
            const list = parseNetworkConfig(JSON.stringify(doc));
            expect(list.plugins.length).toBeGreaterThan(0);
          } catch (err) {
            expect(err).toBeInstanceOf(CniError);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
  it('property: valid plugin objects with arbitrary extra keys come back unchanged', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc
            .string()
            .filter(
              (k) =>
                ![
                  'type',
                  'name',
                  'cniVersion',
                  'capabilities',
                  'runtimeConfig',
                  'args',
                  'ipam',
                  'dns',
                  'prevResult',
                  'plugins',
                ].includes(k),
            ),
          fc.jsonValue(),
        ),
        (extra) => {
          const plugin = { ...extra, type: 'bridge', name: 'net-1', cniVersion: '1.1.0' };
          const text = JSON.stringify(plugin);
          const list = parseNetworkConfig(text);
          expect(JSON.stringify(list.plugins[0])).toBe(text);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('identifier validation', () => {
  it('network names', () => {
    for (const ok of ['a', 'A-1', 'net_1.x', '0abc', 'x'.repeat(300)]) {
      expect(NETWORK_NAME_RE.test(ok)).toBe(true);
      expect(() => validateNetworkName(ok)).not.toThrow();
    }
    expect(codeOf(() => validateNetworkName(''))).toBe(7);
    for (const bad of ['-a', '_a', '.a', 'a b', 'a/b', 'a:b', 'ä', 'a\n', 'a\u0000']) {
      expect(codeOf(() => validateNetworkName(bad))).toBe(7);
    }
  });
  it('container IDs: empty is 3, bad characters 4 (libcni)', () => {
    expect(() => validateContainerId('a51debf7e1eb')).not.toThrow();
    expect(() => validateContainerId('pod_1.x-y')).not.toThrow();
    expect(codeOf(() => validateContainerId(''))).toBe(3);
    for (const bad of ['1234%%%', '../x', 'a/b', '-x', 'a b', 'a\u0000', 'a\nb']) {
      const e = errOf(() => validateContainerId(bad));
      expect(e.code).toBe(4);
      expect(e.msg).toBe('invalid characters in containerID');
      expect(e.details).toBe(bad);
    }
  });
  it('interface names: all failures are code 4', () => {
    for (const ok of ['eth0', 'net1', 'x'.repeat(15), '-a', 'a.b', 'ä'.repeat(7)]) {
      expect(() => validateIfName(ok)).not.toThrow();
    }
    const bad: [string, string][] = [
      ['', 'interface name is empty'],
      ['x'.repeat(16), 'interface name is too long'],
      ['ä'.repeat(8), 'interface name is too long'],
      ['.', 'interface name is . or ..'],
      ['..', 'interface name is . or ..'],
      ['a/b', 'interface name contains / or : or whitespace characters'],
      ['eth0:1', 'interface name contains / or : or whitespace characters'],
      ['a b', 'interface name contains / or : or whitespace characters'],
      ['a\tb', 'interface name contains / or : or whitespace characters'],
      ['a\u00a0b', 'interface name contains / or : or whitespace characters'],
      ['a\u0000b', 'interface name contains / or : or whitespace characters'],
    ];
    for (const [name, msg] of bad) {
      const e = errOf(() => validateIfName(name));
      expect(e.code).toBe(4);
      expect(e.msg).toBe(msg);
    }
  });
});

describe('plugin count limit', () => {
  it('refuses a conflist with more plugins than MAX_PLUGINS_PER_LIST with code 7', async () => {
    const { MAX_PLUGINS_PER_LIST, parseNetworkConfig: parse } = await import('./config.ts');
    const plugins = Array.from({ length: MAX_PLUGINS_PER_LIST + 1 }, () => ({ type: 'tuning' }));
    expect(() => parse(JSON.stringify({ cniVersion: '1.0.0', name: 'n', plugins }))).toThrow(
      expect.objectContaining({ code: 7 }),
    );
    expect(
      parse(JSON.stringify({ cniVersion: '1.0.0', name: 'n', plugins: plugins.slice(1) })).plugins,
    ).toHaveLength(MAX_PLUGINS_PER_LIST);
  });
});
