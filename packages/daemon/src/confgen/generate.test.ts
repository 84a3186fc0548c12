import { readFileSync } from 'node:fs';
import { CniCode, CniError } from '@multus-ts/cni';
import { describe, expect, it } from 'vitest';
import { parseDaemonConfig } from '../config/load.ts';
import { checkVersionCompatibility, generateMultusConf, primaryCapabilities } from './generate.ts';

const SEEDS = '/work/shared/fixtures/seeds';
const seed = (name: string): string => readFileSync(`${SEEDS}/${name}`, 'utf8');
const compact = (text: string): string => JSON.stringify(JSON.parse(text));
const daemon = (o: Record<string, unknown>) => parseDaemonConfig(JSON.stringify(o)).typed;

function genError(cfg: ReturnType<typeof daemon>, fileName: string, text: string): CniError {
  try {
    generateMultusConf(cfg, { fileName, text });
  } catch (err) {
    expect(err).toBeInstanceOf(CniError);
    return err as CniError;
  }
  throw new Error('expected generation to fail');
}

// upstream manager_test.go's primary
const MYCNI = `
{
  "cniVersion": "0.4.0",
  "name": "mycni-name",
  "type": "mycni",
  "ipam": {},
  "dns": {}
}
`;

describe('generateMultusConf: upstream expected outputs', () => {
  it('manager_test: minimal config', () => {
    const cfg = daemon({ cniVersion: '0.4.0', multusAutoconfigDir: '/tmp/multus-config123' });
    expect(generateMultusConf(cfg, { fileName: '00-mycni.conf', text: MYCNI })).toBe(
      '{"cniVersion":"0.4.0","name":"multus-cni-network","clusterNetwork":"/tmp/multus-config123/00-mycni.conf","type":"multus-shim"}',
    );
  });

  it('manager_test: overrideNetworkName takes the primary name', () => {
    const cfg = daemon({ cniVersion: '0.4.0', multusAutoconfigDir: '/tmp/d', overrideNetworkName: true });
    expect(generateMultusConf(cfg, { fileName: '00-mycni.conf', text: MYCNI })).toBe(
      '{"cniVersion":"0.4.0","name":"mycni-name","clusterNetwork":"/tmp/d/00-mycni.conf","type":"multus-shim","overrideNetworkName":true}',
    );
  });

  it('manager_test: version mismatch, exact text', () => {
    const cfg = daemon({ cniVersion: '0.4.0', multusAutoconfigDir: '/tmp/d' });
    const e = genError(cfg, '00-mycni.conf', MYCNI.replace('0.4.0', '0.3.1'));
    expect(e.message).toBe(
      "failed to load the primary CNI configuration as a multus delegate with error 'delegate cni version is 0.3.1 while top level cni version is 0.4.0'",
    );
    expect(e.code).toBe(CniCode.InvalidConfig);
  });

  it('the default thick manifest with kindnet (§2.5 example)', () => {
    const cfg = daemon({
      chrootDir: '/hostroot',
      cniVersion: '0.3.1',
      logLevel: 'verbose',
      logToStderr: true,
      cniConfigDir: '/host/etc/cni/net.d',
      multusAutoconfigDir: '/host/etc/cni/net.d',
      multusConfigFile: 'auto',
      socketDir: '/host/run/multus/',
    });
    const kindnet = JSON.stringify({
      cniVersion: '0.3.1',
      name: 'kindnet',
      plugins: [
        { type: 'ptp', ipMasq: false, ipam: { type: 'host-local' }, mtu: 1500 },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    });
    expect(generateMultusConf(cfg, { fileName: '10-kindnet.conflist', text: kindnet })).toBe(
      '{"capabilities":{"portMappings":true},"cniVersion":"0.3.1","logLevel":"verbose","logToStderr":true,"name":"multus-cni-network","clusterNetwork":"/host/etc/cni/net.d/10-kindnet.conflist","type":"multus-shim"}',
    );
  });

  it('seed 00-multus-thick.conf from a flannel primary (byte-exact, compact)', () => {
    const cfg = daemon({
      cniVersion: '0.3.1',
      logLevel: 'verbose',
      logToStderr: true,
      multusAutoconfigDir: '/host/etc/cni/net.d',
    });
    const flannel = JSON.stringify({
      name: 'cbr0',
      cniVersion: '0.3.1',
      plugins: [
        { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    });
    expect(generateMultusConf(cfg, { fileName: '10-flannel.conflist', text: flannel })).toBe(
      compact(seed('00-multus-thick.conf')),
    );
  });

  it('seed 10-calico.conflist: capabilities are the union over plugins (as in the thin seed)', () => {
    const cfg = daemon({
      cniVersion: '0.3.1',
      logLevel: 'verbose',
      logToStderr: true,
      multusAutoconfigDir: '/host/etc/cni/net.d',
    });
    const out = generateMultusConf(cfg, { fileName: '10-calico.conflist', text: seed('10-calico.conflist') });
    expect(out).toBe(
      '{"capabilities":{"bandwidth":true,"portMappings":true},"cniVersion":"0.3.1","logLevel":"verbose","logToStderr":true,"name":"multus-cni-network","clusterNetwork":"/host/etc/cni/net.d/10-calico.conflist","type":"multus-shim"}',
    );
    expect(JSON.parse(out).capabilities).toEqual(JSON.parse(seed('00-multus-thin.conf')).capabilities);
  });
});

describe('capabilities (generator_test)', () => {
  it('single plugin: top-level capabilities, only true entries', () => {
    expect(
      primaryCapabilities({ type: 'x', capabilities: { portMappings: true, bandwidth: false } }),
    ).toEqual(['portMappings']);
  });

  it('conflist: union over plugins; top-level capabilities then ignored', () => {
    const caps = primaryCapabilities({
      capabilities: { ignored: true },
      plugins: [
        { type: 'a', capabilities: { portMappings: true } },
        { type: 'b', capabilities: { portMappings: true, bandwidth: true, tuning: false } },
        { type: 'c' },
        'not-an-object',
      ],
    });
    expect(caps.sort()).toEqual(['bandwidth', 'portMappings']);
  });

  it('plugins: [] falls back to top-level (upstream); non-boolean values are skipped (upstream panics)', () => {
    expect(primaryCapabilities({ plugins: [], capabilities: { a: true } })).toEqual(['a']);
    expect(primaryCapabilities({ capabilities: { a: 'true', b: 1, c: true } })).toEqual(['c']);
    expect(primaryCapabilities({ capabilities: 'x' })).toEqual([]);
  });

  it('daemon seeds are kept as given (false too) and the primary adds true ones, keys sorted', () => {
    const cfg = daemon({
      cniVersion: '0.3.1',
      multusAutoconfigDir: '/d',
      capabilities: { zeta: false, ips: true },
    });
    const out = generateMultusConf(cfg, {
      fileName: 'p.conf',
      text: '{"cniVersion":"0.3.1","type":"x","capabilities":{"portMappings":true,"mac":false}}',
    });
    expect(out).toBe(
      '{"capabilities":{"ips":true,"portMappings":true,"zeta":false},"cniVersion":"0.3.1","name":"multus-cni-network","clusterNetwork":"/d/p.conf","type":"multus-shim"}',
    );
  });

  it('capabilities follow the current primary only (no growth across regenerations)', () => {
    const cfg = daemon({ cniVersion: '0.3.1', multusAutoconfigDir: '/d' });
    const withBw = '{"cniVersion":"0.3.1","plugins":[{"type":"a","capabilities":{"bandwidth":true}}]}';
    const without = '{"cniVersion":"0.3.1","plugins":[{"type":"a"}]}';
    expect(generateMultusConf(cfg, { fileName: 'p.conflist', text: withBw })).toContain('"bandwidth":true');
    expect(generateMultusConf(cfg, { fileName: 'p.conflist', text: without })).not.toContain('capabilities');
  });
});

describe('field order and omitempty', () => {
  it('every emitted field, in upstream struct order; daemon-only fields cleared', () => {
    const cfg = daemon({
      binDir: '/opt/cni/bin2',
      capabilities: { a: true },
      cniVersion: '1.0.0',
      logFile: '/var/log/multus.log',
      logLevel: 'debug',
      logToStderr: true,
      logOptions: { compress: true, maxBackups: 2, maxSize: 0, maxAge: 7 },
      namespaceIsolation: true,
      globalNamespaces: 'default,kube-public',
      readinessindicatorfile: '/run/ready',
      type: 'multus-shim',
      cniDir: '/var/lib/cni/multus2',
      cniConfigDir: '/host/etc/cni/net.d',
      auxiliaryCNIChainName: 'aux',
      daemonSocketDir: '/run/multus2/',
      multusConfigFile: 'auto',
      multusMasterCNI: '10-a.conf',
      multusAutoconfigDir: '/host/etc/cni/net.d',
      forceCNIVersion: false,
      overrideNetworkName: false,
      socketDir: '/host/run/multus2/',
      chrootDir: '/hostroot',
      someUnknownKey: 1,
    });
    expect(
      generateMultusConf(cfg, {
        fileName: '10-a.conf',
        text: '{"cniVersion":"1.0.0","name":"a","type":"a"}',
      }),
    ).toBe(
      '{"binDir":"/opt/cni/bin2","capabilities":{"a":true},"cniVersion":"1.0.0","logFile":"/var/log/multus.log",' +
        '"logLevel":"debug","logToStderr":true,"logOptions":{"maxAge":7,"maxSize":0,"maxBackups":2,"compress":true},' +
        '"name":"multus-cni-network","clusterNetwork":"/host/etc/cni/net.d/10-a.conf","namespaceIsolation":true,' +
        '"globalNamespaces":"default,kube-public","type":"multus-shim","cniDir":"/var/lib/cni/multus2",' +
        '"auxiliaryCNIChainName":"aux","daemonSocketDir":"/run/multus2/"}',
    );
  });

  it('an empty logOptions object is still emitted (a non-nil pointer in Go)', () => {
    const cfg = daemon({ cniVersion: '0.3.1', multusAutoconfigDir: '/d', logOptions: {} });
    expect(generateMultusConf(cfg, { fileName: 'a.conf', text: '{"cniVersion":"0.3.1"}' })).toContain(
      '"logOptions":{}',
    );
  });

  it('strings are escaped as Go does', () => {
    const cfg = daemon({ cniVersion: '0.3.1', multusAutoconfigDir: '/d<&>', overrideNetworkName: true });
    expect(
      generateMultusConf(cfg, { fileName: 'a.conf', text: '{"cniVersion":"0.3.1","name":"n\\u2028<x>"}' }),
    ).toBe(
      '{"cniVersion":"0.3.1","name":"n\\u2028\\u003cx\\u003e","clusterNetwork":"/d\\u003c\\u0026\\u003e/a.conf","type":"multus-shim","overrideNetworkName":true}',
    );
  });

  it('always a .conf document, even for cniVersion 1.x (thick generator)', () => {
    const cfg = daemon({ cniVersion: '1.1.0', multusAutoconfigDir: '/d' });
    const out = JSON.parse(
      generateMultusConf(cfg, { fileName: 'a.conflist', text: '{"cniVersion":"1.1.0","plugins":[]}' }),
    );
    expect(out.plugins).toBeUndefined();
    expect(out.type).toBe('multus-shim');
  });
});

describe('version check and primary errors (upstream texts)', () => {
  const wrap = (reason: string) =>
    `failed to load the primary CNI configuration as a multus delegate with error '${reason}'`;

  it('checkVersionCompatibility', () => {
    expect(() => checkVersionCompatibility('0.3.1', 'anything')).not.toThrow();
    expect(() => checkVersionCompatibility('0.4.0', { cniVersion: '1.0.0' })).not.toThrow();
    expect(() => checkVersionCompatibility('', {})).toThrow("couldn't get top level cni version");
    expect(() => checkVersionCompatibility('1.0', {})).toThrow("couldn't get top level cni version");
    expect(() => checkVersionCompatibility('1.0.0', [])).toThrow("couldn't get cni version of delegate");
    expect(() => checkVersionCompatibility('1.0.0', { cniVersion: 1 })).toThrow(
      "couldn't get cni version of delegate",
    );
    expect(() => checkVersionCompatibility('1.0.0', { cniVersion: '1.0' })).toThrow(
      'No Major.Minor.Patch elements found',
    );
    expect(() => checkVersionCompatibility('1.0.0', { cniVersion: '0.4.0-rc1' })).toThrow(
      'delegate cni version is 0.4.0-rc1 while top level cni version is 1.0.0',
    );
  });

  it('unparseable primary (e.g. mid-write)', () => {
    const cfg = daemon({ cniVersion: '0.3.1', multusAutoconfigDir: '/d' });
    for (const text of ['', '{"cniVersion":"0.3', 'garbage']) {
      const e = genError(cfg, 'a.conf', text);
      expect(e.message).toMatch(
        /^failed to load the primary CNI configuration as a multus delegate with error 'failed to access the primary CNI configuration from \/d\/a\.conf: failed to unmarshall primary CNI config: /,
      );
    }
  });

  it('non-object primary, non-array plugins', () => {
    const cfg = daemon({ cniVersion: '0.3.1', multusAutoconfigDir: '/d' });
    expect(genError(cfg, 'a.conf', '[1]').message).toBe(wrap("couldn't get cni config from delegate"));
    expect(genError(cfg, 'a.conf', '{"plugins":{}}').message).toBe(
      wrap('couldn\'t get the plugin list of the delegate: "plugins" is not an array'),
    );
  });

  it('overrideNetworkName without a usable name', () => {
    const cfg = daemon({ cniVersion: '0.4.0', multusAutoconfigDir: '/d', overrideNetworkName: true });
    expect(genError(cfg, 'a.conf', '{"cniVersion":"0.4.0"}').message).toBe(
      'could not override the network name: failed to access delegate CNI plugin name',
    );
    expect(genError(cfg, 'a.conf', '{"cniVersion":"0.4.0","name":""}').message).toBe(
      'could not override the network name: the primary CNI Configuration does not feature the network name: map[cniVersion:0.4.0 name:]',
    );
    expect(genError(cfg, 'a.conf', '{"cniVersion":"0.4.0","name":5}').message).toContain(
      'does not feature the network name',
    );
  });

  it('forceCNIVersion makes the check pass and does not change the output version', () => {
    const cfg = daemon({ cniVersion: '1.0.0', multusAutoconfigDir: '/d', forceCNIVersion: true });
    expect(generateMultusConf(cfg, { fileName: 'a.conf', text: '{"cniVersion":"0.3.1"}' })).toBe(
      '{"cniVersion":"1.0.0","name":"multus-cni-network","clusterNetwork":"/d/a.conf","type":"multus-shim"}',
    );
  });
});
