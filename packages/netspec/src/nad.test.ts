import { CniError } from '@multus-ts/cni';
import { describe, expect, it } from 'vitest';
import { memoryReader } from './memory-reader.ts';
import {
  injectName,
  type Nad,
  nadResourceName,
  parseNad,
  RESOURCE_NAME_ANNOTATION,
  resolveNadConfig,
} from './nad.ts';

/** spec.config of the seed NAD fixtures/seeds/macvlan-conf.yaml, as the guides write it. */
const MACVLAN_CONF = `{
      "cniVersion": "0.3.0",
      "type": "macvlan",
      "master": "eth0",
      "mode": "bridge",
      "ipam": {
        "type": "host-local",
        "subnet": "192.168.1.0/24",
        "rangeStart": "192.168.1.200",
        "rangeEnd": "192.168.1.216",
        "routes": [
          { "dst": "0.0.0.0/0" }
        ],
        "gateway": "192.168.1.1"
      }
    }`;

function nad(name: string, config?: string, annotations?: Record<string, string>): Nad {
  return parseNad({
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name, namespace: 'default', ...(annotations ? { annotations } : {}) },
    ...(config === undefined ? {} : { spec: { config } }),
  });
}

const DIR = '/etc/cni/multus/net.d';
const noFiles = memoryReader({});

describe('3.1 / 3.2 NAD model', () => {
  it('3.1 accepts a k8s.cni.cncf.io/v1 NetworkAttachmentDefinition with a string spec.config', () => {
    const n = nad('macvlan-conf', MACVLAN_CONF);
    expect(n.metadata.name).toBe('macvlan-conf');
    expect(typeof n.spec?.config).toBe('string');
  });
  it.each([
    [{ apiVersion: 'k8s.cni.cncf.io/v2', metadata: { name: 'a' } }, 'apiVersion'],
    [{ kind: 'Pod', metadata: { name: 'a' } }, 'kind'],
    [{ metadata: {} }, 'name'],
    [{ metadata: { name: 'a' }, spec: { config: { type: 'x' } } }, 'config'],
    [{ metadata: { name: 'a', annotations: { x: 1 } } }, 'annotations'],
    [null, ''],
    ['x', ''],
  ])('3.1 refuses a malformed NAD object %j with code 7', (obj, fragment) => {
    try {
      parseNad(obj, 'ns/a');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CniError);
      expect((e as CniError).code).toBe(7);
      expect((e as CniError).id).toBe('ERR_NAD_INVALID');
      expect((e as CniError).message).toContain(fragment);
    }
  });
  it('3.2 spec.config is optional (and so is spec)', () => {
    expect(parseNad({ metadata: { name: 'a' } }).spec).toBeUndefined();
    expect(parseNad({ metadata: { name: 'a' }, spec: {} }).spec?.config).toBeUndefined();
  });
  it('3.2 spec.config may hold a single config or a conflist', () => {
    const single = resolveNadConfig(nad('a', '{"cniVersion":"0.3.1","type":"macvlan"}'), { reader: noFiles });
    expect(single.config.kind).toBe('conf');
    const list = resolveNadConfig(
      nad('b', '{"cniVersion":"0.4.0","name":"b","plugins":[{"type":"bridge"},{"type":"tuning"}]}'),
      { reader: noFiles },
    );
    expect(list.config.kind).toBe('conflist');
    expect(list.config.plugins.map((p) => p.type)).toEqual(['bridge', 'tuning']);
  });
  it('reads the k8s.v1.cni.cncf.io/resourceName annotation', () => {
    expect(nadResourceName(nad('a', undefined, { [RESOURCE_NAME_ANNOTATION]: 'intel.com/sriov' }))).toBe(
      'intel.com/sriov',
    );
    expect(nadResourceName(nad('a'))).toBeUndefined();
    expect(nadResourceName(nad('a', undefined, { [RESOURCE_NAME_ANNOTATION]: ' ' }))).toBeUndefined();
  });
});

describe('3.4.1 config resolution order', () => {
  const files = {
    [`${DIR}/10-a.conf`]: '{"cniVersion":"0.3.1","name":"net","type":"from-conf"}',
    [`${DIR}/20-b.conflist`]: '{"cniVersion":"0.3.1","name":"net","plugins":[{"type":"from-conflist"}]}',
    [`${DIR}/30-c.json`]: '{"cniVersion":"0.3.1","name":"other","type":"json-file"}',
    [`${DIR}/40-broken.conf`]: '{not json',
    [`${DIR}/README`]: 'not a config',
  };
  const reader = memoryReader(files);

  it('3.4.1 (1) uses spec.config when it is present, ignoring files', () => {
    const r = resolveNadConfig(nad('net', '{"cniVersion":"0.3.1","type":"from-spec"}'), { reader });
    expect(r.source).toEqual({ kind: 'spec' });
    expect(r.config.plugins[0]?.type).toBe('from-spec');
  });
  it('3.4.1 (2) without spec.config uses the .conflist whose name matches, before any .conf', () => {
    const r = resolveNadConfig(nad('net'), { reader });
    expect(r.source).toEqual({ kind: 'file', path: `${DIR}/20-b.conflist` });
    expect(r.config.plugins[0]?.type).toBe('from-conflist');
  });
  it('3.4.1 (3) otherwise a .conf (or .json, as upstream) whose name matches', () => {
    const only = memoryReader({
      [`${DIR}/10-a.conf`]: files[`${DIR}/10-a.conf`]!,
      [`${DIR}/30-c.json`]: files[`${DIR}/30-c.json`]!,
    });
    expect(resolveNadConfig(nad('net'), { reader: only }).config.plugins[0]?.type).toBe('from-conf');
    expect(resolveNadConfig(nad('other'), { reader: only }).config.plugins[0]?.type).toBe('json-file');
  });
  it('3.4.1 (3) an empty spec.config counts as absent', () => {
    expect(resolveNadConfig(nad('net', ''), { reader }).source.kind).toBe('file');
  });
  it('3.4.1 (4) otherwise fails, naming the network and the directory, listing skipped files', () => {
    try {
      resolveNadConfig(nad('missing'), { reader });
      expect.unreachable();
    } catch (e) {
      const err = e as CniError;
      expect(err.id).toBe('ERR_NAD_CONFIG_NOT_FOUND');
      expect(err.code).toBe(7);
      expect(err.msg).toContain('default/missing');
      expect(err.msg).toContain(DIR);
      expect(err.details).toContain('40-broken.conf');
    }
  });
  it('3.4.1 (4) fails when the directory does not exist', () => {
    expect(() => resolveNadConfig(nad('net'), { reader: noFiles, confDir: '/nowhere' })).toThrow(
      /no spec.config/,
    );
  });
  it('3.4.1 uses the configured confDir', () => {
    const r = memoryReader({ '/x/net.conf': '{"name":"net","type":"t"}' });
    expect(resolveNadConfig(nad('net'), { reader: r, confDir: '/x' }).source).toEqual({
      kind: 'file',
      path: '/x/net.conf',
    });
  });
});

describe('3.4.2 name injection', () => {
  it('3.4.2 injects the NAD name when spec.config has none, changing nothing else', () => {
    const text =
      '{ "cniVersion": "0.3.1",\n  "type": "macvlan", "big": 12345678901234567890, "f": 1.0, "x": {"y": [1,2]} }';
    const r = resolveNadConfig(nad('macvlan-conf', text), { reader: noFiles });
    expect(r.config.name).toBe('macvlan-conf');
    expect(r.text).toBe(
      `{"name":"macvlan-conf", "cniVersion": "0.3.1",\n  "type": "macvlan", "big": 12345678901234567890, "f": 1.0, "x": {"y": [1,2]} }`,
    );
    expect(new TextDecoder().decode(r.config.bytes)).toBe(r.text);
  });
  it('3.4.2 replaces an empty name in place', () => {
    expect(injectName('{"type":"x","name":"","z":1}', 'n')).toBe('{"type":"x","name":"n","z":1}');
  });
  it('3.4.2 inserts into an empty object without a dangling comma', () => {
    expect(injectName('{ }', 'n')).toBe('{"name":"n" }');
  });
  it('3.4.3 a config name that differs from the NAD name is kept (recommended, not required)', () => {
    const r = resolveNadConfig(nad('nad-name', '{"name":"cni-name","type":"x"}'), { reader: noFiles });
    expect(r.config.name).toBe('cni-name');
    expect(r.text).toBe('{"name":"cni-name","type":"x"}');
  });
  it('keeps a seed NAD (macvlan-conf.yaml) lossless apart from the name', () => {
    const cfg = MACVLAN_CONF;
    const r = resolveNadConfig(nad('macvlan-conf', cfg), { reader: noFiles });
    const { name, ...rest } = JSON.parse(r.text) as Record<string, unknown>;
    expect(name).toBe('macvlan-conf');
    expect(rest).toEqual(JSON.parse(cfg));
    expect(Object.keys(rest)).toEqual(Object.keys(JSON.parse(cfg)));
  });
});

describe('bad spec.config', () => {
  it.each([
    ['{not json', 6, 'ERR_NAD_CONFIG_UNDECODABLE'],
    ['[1,2]', 7, 'ERR_NAD_CONFIG_INVALID'],
    ['{"cniVersion":"0.3.1"}', 7, 'ERR_NAD_CONFIG_INVALID'],
    ['{"plugins":[]}', 7, 'ERR_NAD_CONFIG_INVALID'],
    ['{"type":"x","cniVersion":"9.9.9"}', 7, 'ERR_NAD_CONFIG_INVALID'],
    ['{"type":"x","name":"bad name"}', 7, 'ERR_NAD_CONFIG_INVALID'],
    ['{"type":"x","capabilities":{"ips":"yes"}}', 7, 'ERR_NAD_CONFIG_INVALID'],
    ['{"type":"x","args":"str"}', 7, 'ERR_NAD_CONFIG_INVALID'],
  ])('refuses %j with code %i, naming the network', (config, code, id) => {
    try {
      resolveNadConfig(nad('n', config), { reader: noFiles });
      expect.unreachable();
    } catch (e) {
      expect((e as CniError).code).toBe(code);
      expect((e as CniError).id).toBe(id);
      expect((e as CniError).msg).toContain('default/n');
    }
  });
});
