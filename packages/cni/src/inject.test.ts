import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CniError } from './errors.ts';
import { buildPluginConfig, capabilityRuntimeConfig, pluginConfigBytes } from './inject.ts';

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

const portmap = deepFreeze({
  type: 'portmap',
  capabilities: { portMappings: true, bandwidth: false },
  snat: true,
  conditionsV4: ['-s', '10.0.0.0/8'],
  'x-vendor': { nested: { deep: [1, { k: null }], big: 1e300 } },
});

const capabilityArgs = {
  portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
  bandwidth: { ingressRate: 1000 },
  ips: ['10.1.1.11/24'],
};

describe('buildPluginConfig', () => {
  it("sets name and cniVersion from the list, overriding the plugin's own", () => {
    const out = buildPluginConfig(
      { type: 'x', name: 'old', cniVersion: '0.1.0' },
      { name: 'net', cniVersion: '1.0.0' },
    );
    expect(out).toEqual({ cniVersion: '1.0.0', name: 'net', type: 'x' });
    expect(Object.keys(out).slice(0, 2)).toEqual(['cniVersion', 'name']);
  });

  it('keeps every other key, nested and unknown ones included, and never modifies its input', () => {
    const out = buildPluginConfig(portmap, { name: 'net', cniVersion: '1.0.0', capabilityArgs });
    const { cniVersion: _v, name: _n, runtimeConfig: _r, ...rest } = out;
    expect(rest).toEqual(portmap);
    expect(Object.keys(rest)).toEqual(Object.keys(portmap));
    expect(out['x-vendor']).toBe(portmap['x-vendor']);
  });

  it('injects only the capabilities the plugin declares true, intersected with the args given', () => {
    const out = buildPluginConfig(portmap, { name: 'net', cniVersion: '1.0.0', capabilityArgs });
    expect(out['runtimeConfig']).toEqual({ portMappings: capabilityArgs.portMappings });
  });

  it('matches capability names exactly (case-sensitive)', () => {
    const rc = capabilityRuntimeConfig(
      { type: 'p', capabilities: { PortMappings: true, ips: true } },
      capabilityArgs,
    );
    expect(rc).toEqual({ ips: ['10.1.1.11/24'] });
  });

  it('injects nothing for a plugin without capabilities, or when no declared capability has an arg', () => {
    expect(
      'runtimeConfig' in buildPluginConfig({ type: 'p' }, { name: 'n', cniVersion: '1.0.0', capabilityArgs }),
    ).toBe(false);
    const declaresMac = { type: 'p', capabilities: { mac: true } };
    expect(
      'runtimeConfig' in buildPluginConfig(declaresMac, { name: 'n', cniVersion: '1.0.0', capabilityArgs }),
    ).toBe(false);
    const weird = { type: 'p', capabilities: ['portMappings'] };
    expect(capabilityRuntimeConfig(weird, capabilityArgs)).toEqual({});
  });

  it("replaces the plugin's own runtimeConfig when injecting, keeps it otherwise", () => {
    const own = { type: 'p', capabilities: { ips: true }, runtimeConfig: { stale: 1 } };
    expect(
      buildPluginConfig(own, { name: 'n', cniVersion: '1.0.0', capabilityArgs })['runtimeConfig'],
    ).toEqual({
      ips: ['10.1.1.11/24'],
    });
    expect(buildPluginConfig(own, { name: 'n', cniVersion: '1.0.0' })['runtimeConfig']).toEqual({ stale: 1 });
  });

  it('does not read capability args from the prototype chain and cannot pollute prototypes', () => {
    const plugin = JSON.parse(
      '{"type":"p","capabilities":{"__proto__":true,"toString":true,"constructor":true}}',
    );
    const args = JSON.parse('{"__proto__":{"polluted":true}}');
    const rc = capabilityRuntimeConfig(plugin, args);
    expect(Object.hasOwn(rc, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(rc)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.hasOwn(rc, 'toString')).toBe(false);
    const out = buildPluginConfig(JSON.parse('{"type":"p","__proto__":{"x":1}}'), {
      name: 'n',
      cniVersion: '1.0.0',
    });
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(out))).toEqual(
      JSON.parse('{"cniVersion":"1.0.0","name":"n","type":"p","__proto__":{"x":1}}'),
    );
  });

  it('is code 7 when the capability args are not an object', () => {
    for (const bad of [[], 'x', 3]) {
      try {
        capabilityRuntimeConfig(portmap, bad as unknown as Record<string, unknown>);
        throw new Error('expected a failure');
      } catch (err) {
        expect((err as CniError).code).toBe(7);
      }
    }
  });

  it('sets prevResult when given (replacing a stored one), keeps a stored one otherwise', () => {
    const prevResult = { cniVersion: '1.0.0', ips: [] };
    const stored = { type: 'p', prevResult: { cniVersion: '1.0.0', old: true } };
    expect(buildPluginConfig(stored, { name: 'n', cniVersion: '1.0.0', prevResult })['prevResult']).toBe(
      prevResult,
    );
    expect(buildPluginConfig(stored, { name: 'n', cniVersion: '1.0.0' })['prevResult']).toEqual(
      stored.prevResult,
    );
  });

  it('adds extra keys last', () => {
    const out = buildPluginConfig(
      { type: 'p' },
      { name: 'n', cniVersion: '1.1.0', extra: { 'cni.dev/valid-attachments': [] } },
    );
    expect(Object.keys(out).at(-1)).toBe('cni.dev/valid-attachments');
  });

  it('serialises to the same object', () => {
    const opts = { name: 'n', cniVersion: '1.0.0', capabilityArgs, prevResult: { cniVersion: '1.0.0' } };
    const bytes = pluginConfigBytes(portmap, opts);
    expect(JSON.parse(Buffer.from(bytes).toString('utf8'))).toEqual(buildPluginConfig(portmap, opts));
  });

  it('keeps every key of any plugin config except the injected ones (property)', () => {
    const reserved = new Set([
      'cniVersion',
      'name',
      'runtimeConfig',
      'prevResult',
      'capabilities',
      '__proto__',
    ]);
    const plugin = fc.dictionary(
      fc.string({ maxLength: 8 }).filter((k) => !reserved.has(k)),
      fc.jsonValue(),
      { maxKeys: 8 },
    );
    fc.assert(
      fc.property(plugin, (p) => {
        const conf = { ...p, type: 'p' };
        const out = buildPluginConfig(conf, { name: 'net', cniVersion: '1.1.0', capabilityArgs });
        for (const [k, v] of Object.entries(conf)) expect(out[k]).toEqual(v);
        expect(Object.keys(out).length).toBe(Object.keys(conf).length + 2);
      }),
    );
  });
});
