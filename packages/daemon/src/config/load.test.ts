import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniCode, CniError } from '@multus-ts/cni';
import { afterAll, describe, expect, it } from 'vitest';
import { DAEMON_CONFIG_MAX_BYTES, defaultMaxConcurrentDelegates } from './defaults.ts';
import { loadDaemonConfig, parseDaemonConfig } from './load.ts';
import { OWN_KEYS, UPSTREAM_KEYS } from './schema.ts';

const MIN = { cniVersion: '0.3.1', multusAutoconfigDir: '/host/etc/cni/net.d' };
const parse = (o: Record<string, unknown>) => parseDaemonConfig(JSON.stringify(o));

function parseError(text: string): CniError {
  try {
    parseDaemonConfig(text);
  } catch (err) {
    expect(err).toBeInstanceOf(CniError);
    return err as CniError;
  }
  throw new Error(`expected ${text.slice(0, 80)} to be rejected`);
}

const tmp = mkdtempSync(join(tmpdir(), 'mts-cfg-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('defaults', () => {
  const { typed } = parse(MIN);

  it('server view (ControllerNetConf)', () => {
    expect(typed.server).toEqual({
      chrootDir: '',
      logFile: '',
      logLevel: '',
      logToStderr: false,
      perNodeCertificate: undefined,
      connectionLimit: undefined,
      metricsPort: undefined,
      enablePprof: false,
      socketDir: '/run/multus/',
    });
  });

  it('multus view (MultusConf) with the forced name', () => {
    expect({ ...typed.multus, capabilities: { ...typed.multus.capabilities } }).toEqual({
      binDir: '',
      capabilities: {},
      cniVersion: '0.3.1',
      logFile: '',
      logLevel: '',
      logToStderr: false,
      logOptions: undefined,
      name: 'multus-cni-network',
      namespaceIsolation: false,
      globalNamespaces: '',
      readinessindicatorfile: '',
      type: 'multus-shim',
      cniDir: '',
      cniConfigDir: '/etc/cni/net.d',
      auxiliaryCNIChainName: '',
      daemonSocketDir: '',
      multusConfigFile: 'auto',
      multusMasterCNI: '',
      multusAutoconfigDir: '/host/etc/cni/net.d',
      forceCNIVersion: false,
      overrideNetworkName: false,
    });
  });

  it('request view (per-request NetConf defaults)', () => {
    expect(typed.request).toEqual({
      confDir: '/etc/cni/multus/net.d',
      cniDir: '/var/lib/cni/multus',
      binDir: '/opt/cni/bin',
      clusterNetwork: '',
      defaultNetworks: [],
      delegates: undefined,
      kubeconfig: '',
      logFile: '',
      logLevel: '',
      logToStderr: true,
      logOptions: undefined,
      readinessindicatorfile: '',
      namespaceIsolation: false,
      globalNamespaces: ['default'],
      auxiliaryCNIChainName: '',
      systemNamespaces: ['kube-system'],
      multusNamespace: 'kube-system',
      retryDeleteOnError: false,
    });
  });

  it('our keys', () => {
    expect(typed.ours).toEqual({
      cleanupConfigOnExit: false,
      primaryConfigWaitSeconds: 120,
      readinessIndicatorWaitSeconds: 45,
      informerSyncTimeoutSeconds: 20,
      shutdownGraceSeconds: 10,
      maxConcurrentDelegates: defaultMaxConcurrentDelegates(),
      requestQueueTimeoutSeconds: 60,
      podResourcesSocket: '/var/lib/kubelet/pod-resources/kubelet.sock',
      deviceInfoDir: '/var/run/k8s.cni.cncf.io/devinfo',
      delegateTimeoutSeconds: 60,
      hotplug: false,
    });
    expect(defaultMaxConcurrentDelegates(2)).toBe(4);
    expect(defaultMaxConcurrentDelegates(8)).toBe(16);
  });

  it('perNodeCertificate: certDuration defaults to 10m', () => {
    const t = parse({
      ...MIN,
      perNodeCertificate: { enabled: true, bootstrapKubeconfig: '/b', certDir: '/c' },
    }).typed;
    expect(t.server.perNodeCertificate).toEqual({
      enabled: true,
      bootstrapKubeconfig: '/b',
      certDir: '/c',
      certDuration: '10m',
      certDurationMs: 600_000,
    });
    const d = parse({ ...MIN, perNodeCertificate: { certDuration: '1h30m' } }).typed;
    expect(d.server.perNodeCertificate?.certDurationMs).toBe(5_400_000);
    expect(d.server.perNodeCertificate?.enabled).toBe(false);
  });

  it('records which known keys were present', () => {
    const t = parse({ ...MIN, binDir: '/x', unknownThing: 1 }).typed;
    expect([...t.presentKeys].sort()).toEqual(['binDir', 'cniVersion', 'multusAutoconfigDir']);
  });
});

describe('values flow into the views', () => {
  it('keys shared by several views get each view its meaning', () => {
    const t = parse({
      ...MIN,
      binDir: '/bin2',
      cniDir: '/cache',
      logToStderr: true,
      globalNamespaces: ' a , b,,c ',
      systemNamespaces: ['s1'],
      capabilities: { portMappings: true, x: false },
      logOptions: { maxAge: 1, compress: false },
      socketDir: '',
      multusNamespace: 'multus',
    }).typed;
    expect(t.multus.binDir).toBe('/bin2');
    expect(t.request.binDir).toBe('/bin2');
    expect(t.multus.cniDir).toBe('/cache');
    expect(t.request.cniDir).toBe('/cache');
    expect(t.server.logToStderr).toBe(true);
    expect(t.multus.globalNamespaces).toBe(' a , b,,c ');
    expect(t.request.globalNamespaces).toEqual(['a', 'b', 'c']);
    expect(t.request.systemNamespaces).toEqual(['s1']);
    expect({ ...t.multus.capabilities }).toEqual({ portMappings: true, x: false });
    expect(t.multus.logOptions).toEqual({ maxAge: 1, compress: false });
    // socketDir "" means the default (upstream checks for "" after decoding)
    expect(t.server.socketDir).toBe('/run/multus/');
    expect(t.request.multusNamespace).toBe('multus');
  });

  it('an explicit "" for a per-request key stays "" (upstream sets those defaults before decoding)', () => {
    const t = parse({ ...MIN, binDir: '', confDir: '' }).typed;
    expect(t.request.binDir).toBe('');
    expect(t.request.confDir).toBe('');
  });

  it('JSON null: unset for scalars and objects, empty for lists and maps (Go semantics)', () => {
    const t = parse({
      ...MIN,
      socketDir: null,
      logToStderr: null,
      perNodeCertificate: null,
      logOptions: { maxAge: null, maxSize: 3 },
      systemNamespaces: null,
      defaultNetworks: null,
      capabilities: null,
    }).typed;
    expect(t.server.socketDir).toBe('/run/multus/');
    expect(t.server.logToStderr).toBe(false);
    expect(t.server.perNodeCertificate).toBeUndefined();
    expect(t.multus.logOptions).toEqual({ maxSize: 3 });
    expect(t.request.systemNamespaces).toEqual([]);
    expect(t.request.defaultNetworks).toEqual([]);
    expect(Object.keys(t.multus.capabilities)).toEqual([]);
  });

  it('non-auto mode needs neither cniVersion nor multusAutoconfigDir', () => {
    const t = parse({ multusConfigFile: '/etc/multus/00-my.conf' }).typed;
    expect(t.multus.multusConfigFile).toBe('/etc/multus/00-my.conf');
  });

  it('logFile naming the config file itself is not used by the daemon (upstream quirk)', () => {
    const r = parse({ ...MIN, logFile: '/etc/cni/net.d/multus.d/daemon-config.json' });
    expect(r.typed.server.logFile).toBe('');
    expect(r.typed.multus.logFile).toBe('/etc/cni/net.d/multus.d/daemon-config.json');
    expect(r.warnings.join('\n')).toContain('logFile names the daemon configuration itself');
  });
});

describe('validation names the key', () => {
  it('connectionLimit must be > 0, with upstream wording', () => {
    const e = parseError(JSON.stringify({ ...MIN, connectionLimit: 0 }));
    expect(e.code).toBe(CniCode.InvalidConfig);
    expect(e.message).toBe('daemon-config.json: connectionLimit: must be greater than 0, got 0');
    expect(parse({ ...MIN, connectionLimit: 5 }).typed.server.connectionLimit).toBe(5);
  });

  const bad: [string, unknown, string][] = [
    ['chrootDir', 1, 'chrootDir: must be a string, got number 1'],
    ['logFile', true, 'logFile: must be a string, got boolean true'],
    ['logLevel', [], 'logLevel: must be a string, got an array'],
    ['logToStderr', 'yes', 'logToStderr: must be true or false, got string "yes"'],
    ['perNodeCertificate', 'on', 'perNodeCertificate: must be an object, got string "on"'],
    ['connectionLimit', -3, 'connectionLimit: must be greater than 0, got -3'],
    ['connectionLimit', 1.5, 'connectionLimit: must be an integer, got 1.5'],
    ['connectionLimit', '10', 'connectionLimit: must be an integer, got string "10"'],
    ['metricsPort', 70000, 'metricsPort: must be at most 65535, got 70000'],
    ['metricsPort', 0, 'metricsPort: must be greater than 0, got 0'],
    ['enablePprof', 1, 'enablePprof: must be true or false, got number 1'],
    ['socketDir', {}, 'socketDir: must be a string, got an object'],
    ['binDir', 7, 'binDir: must be a string'],
    ['capabilities', [], 'capabilities: must be an object of booleans, got an array'],
    [
      'capabilities',
      { portMappings: 'true' },
      'capabilities.portMappings: capability values must be true or false',
    ],
    ['cniVersion', 3, 'cniVersion: must be a string, got number 3'],
    [
      'cniVersion',
      '1.0',
      'cniVersion: must be a version like "1.0.0", got "1.0" (No Major.Minor.Patch elements found)',
    ],
    ['logOptions', { maxAge: 'x' }, 'logOptions.maxAge: must be an integer, got string "x"'],
    ['logOptions', { compress: 1 }, 'logOptions.compress: must be true or false, got number 1'],
    ['name', false, 'name: must be a string'],
    ['clusterNetwork', 1, 'clusterNetwork: must be a string'],
    ['namespaceIsolation', 'true', 'namespaceIsolation: must be true or false'],
    ['globalNamespaces', ['a'], 'globalNamespaces: must be a string, got an array'],
    ['readinessindicatorfile', 1, 'readinessindicatorfile: must be a string'],
    ['type', 1, 'type: must be a string'],
    ['type', '', 'type: must not be empty in 00-multus.conf'],
    ['cniDir', 1, 'cniDir: must be a string'],
    ['cniConfigDir', 1, 'cniConfigDir: must be a string'],
    ['auxiliaryCNIChainName', 1, 'auxiliaryCNIChainName: must be a string'],
    ['daemonSocketDir', 1, 'daemonSocketDir: must be a string'],
    ['multusConfigFile', 1, 'multusConfigFile: must be a string'],
    ['multusMasterCNI', 1, 'multusMasterCNI: must be a string'],
    ['multusAutoconfigDir', 1, 'multusAutoconfigDir: must be a string'],
    ['forceCNIVersion', 'no', 'forceCNIVersion: must be true or false'],
    ['overrideNetworkName', 0, 'overrideNetworkName: must be true or false'],
    ['confDir', 1, 'confDir: must be a string'],
    ['defaultNetworks', 'a,b', 'defaultNetworks: must be an array of strings, got string "a,b"'],
    ['defaultNetworks', ['a', 2], 'defaultNetworks[1]: must be a string, got number 2'],
    ['delegates', [1], 'delegates[0]: must be an object, got number 1'],
    ['kubeconfig', 1, 'kubeconfig: must be a string'],
    ['systemNamespaces', 'kube-system', 'systemNamespaces: must be an array of strings'],
    ['multusNamespace', 1, 'multusNamespace: must be a string'],
    ['retryDeleteOnError', 'false', 'retryDeleteOnError: must be true or false'],
    ['ipam', 'host-local', 'ipam: must be an object, got string "host-local"'],
    ['dns', [], 'dns: must be an object, got an array'],
    ['runtimeConfig', 5, 'runtimeConfig: must be an object, got number 5'],
    ['cleanupConfigOnExit', 'yes', 'cleanupConfigOnExit: must be true or false'],
    [
      'primaryConfigWaitSeconds',
      0,
      'primaryConfigWaitSeconds: must be greater than 0 and at most 86400, got 0',
    ],
    ['readinessIndicatorWaitSeconds', 'x', 'readinessIndicatorWaitSeconds: must be a number of seconds'],
    ['informerSyncTimeoutSeconds', -1, 'informerSyncTimeoutSeconds: must be greater than 0'],
    ['shutdownGraceSeconds', 1e9, 'shutdownGraceSeconds: must be greater than 0 and at most 86400'],
    ['maxConcurrentDelegates', 0, 'maxConcurrentDelegates: must be greater than 0, got 0'],
    ['requestQueueTimeoutSeconds', false, 'requestQueueTimeoutSeconds: must be a number of seconds'],
    ['delegateTimeoutSeconds', false, 'delegateTimeoutSeconds: must be a number of seconds'],
    ['podResourcesSocket', 1, 'podResourcesSocket: must be a string'],
    ['deviceInfoDir', 1, 'deviceInfoDir: must be a string'],
    ['hotplug', 'true', 'hotplug: must be true or false, got string "true"'],
  ];

  it.each(bad)('%s = %j', (key, value, expected) => {
    const e = parseError(JSON.stringify({ ...MIN, [key]: value }));
    expect(e.code).toBe(CniCode.InvalidConfig);
    expect(e.message).toContain(`daemon-config.json: ${expected}`);
  });

  it('the table above covers every known key', () => {
    const covered = new Set(bad.map(([k]) => k));
    expect([...UPSTREAM_KEYS, ...OWN_KEYS].filter((k) => !covered.has(k))).toEqual([]);
  });

  it('perNodeCertificate: enabled needs both paths (upstream text)', () => {
    const e = parseError(JSON.stringify({ ...MIN, perNodeCertificate: { enabled: true, certDir: '/c' } }));
    expect(e.message).toBe(
      'daemon-config.json: perNodeCertificate: failed to configure PerNodeCertificate: enabled: true, ' +
        'BootstrapKubeconfig: "", CertDir: "/c"',
    );
  });

  it('perNodeCertificate.certDuration: Go duration syntax, positive', () => {
    expect(
      parseError(JSON.stringify({ ...MIN, perNodeCertificate: { certDuration: '10' } })).message,
    ).toContain('perNodeCertificate.certDuration: time: missing unit in duration "10"');
    expect(
      parseError(JSON.stringify({ ...MIN, perNodeCertificate: { certDuration: '-1h' } })).message,
    ).toContain('perNodeCertificate.certDuration: must be a positive duration, got "-1h"');
  });

  it('auto mode needs cniVersion and multusAutoconfigDir', () => {
    const e = parseError('{}');
    expect(e.message).toContain('cniVersion: is required when multusConfigFile is "auto"');
    expect(e.message).toContain('multusAutoconfigDir: is required when multusConfigFile is "auto"');
  });

  it('reports several problems at once, bounded', () => {
    const many: Record<string, unknown> = { ...MIN };
    for (const k of [
      'chrootDir',
      'logFile',
      'logLevel',
      'socketDir',
      'binDir',
      'cniDir',
      'confDir',
      'kubeconfig',
    ]) {
      many[k] = 1;
    }
    for (const k of ['name', 'type', 'cniConfigDir', 'daemonSocketDir']) many[k] = 2;
    const e = parseError(JSON.stringify(many));
    expect(e.message).toContain('chrootDir: must be a string');
    expect(e.message).toMatch(/; and 2 more$/);
  });
});

describe('hostile and malformed input', () => {
  it('not JSON -> decode error (code 6)', () => {
    for (const text of ['', 'not json', '{"a":', '{"a":1,}', "{'a':1}", '{"a":1} trailing']) {
      const e = parseError(text);
      expect(e.code).toBe(CniCode.DecodeFailure);
      expect(e.message).toMatch(/^daemon-config\.json: not valid JSON: /);
    }
  });

  it('top level must be an object', () => {
    for (const [text, got] of [
      ['[]', 'an array'],
      ['null', 'null'],
      ['"x"', 'string'],
      ['42', 'number'],
    ] as const) {
      const e = parseError(text);
      expect(e.code).toBe(CniCode.InvalidConfig);
      expect(e.message).toBe(
        `daemon-config.json: the daemon configuration must be a JSON object, got ${got}`,
      );
    }
  });

  it('a byte order mark is refused with a clear message', () => {
    const e = parseError(`\ufeff${JSON.stringify(MIN)}`);
    expect(e.code).toBe(CniCode.DecodeFailure);
    expect(e.message).toContain('byte order mark');
  });

  it('nesting deeper than the limit is refused before parsing, naming where', () => {
    const deep = `{"cniVersion":"0.3.1","multusAutoconfigDir":"/d","junk":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    const e = parseError(deep);
    expect(e.code).toBe(CniCode.InvalidConfig);
    expect(e.message).toBe(
      `daemon-config.json: JSON nesting is deeper than 64 levels (at junk${'[]'.repeat(28)}...)`,
    );
  });

  it('nested garbage under unknown keys within the limits is kept in raw and ignored by the typed view', () => {
    const junk = { a: [1, { b: [null, true, { c: 'x'.repeat(1000) }] }], '': { '': [] } };
    const r = parse({ ...MIN, junk, __proto__x: 1 });
    expect(r.raw.junk).toEqual(junk);
    expect(Object.isFrozen(r.raw)).toBe(true);
    expect(Object.isFrozen((r.raw.junk as { a: unknown[] }).a)).toBe(true);
  });

  it('"__proto__" keys stay plain data', () => {
    const r = parseDaemonConfig(
      `{"cniVersion":"0.3.1","multusAutoconfigDir":"/d","__proto__":{"polluted":1}}`,
    );
    expect(Object.hasOwn(r.raw, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((r.typed as unknown as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('duplicate keys: last wins (as Go and JSON.parse), with a warning naming them', () => {
    const r = parseDaemonConfig(
      '{"cniVersion":"0.3.1","multusAutoconfigDir":"/d","socketDir":"/a","socketDir":"/b",' +
        '"capabilities":{"x":true,"x":false}}',
    );
    expect(r.typed.server.socketDir).toBe('/b');
    expect(r.typed.multus.capabilities.x).toBe(false);
    expect(r.warnings).toContain(
      'daemon-config.json: key "socketDir" appears more than once; the last value is used (as upstream)',
    );
    expect(r.warnings.join('\n')).toContain('key "capabilities.x" appears more than once');
  });

  it('keys differing from a known key only by case are ignored, with a warning (Go would apply them)', () => {
    const r = parse({
      ...MIN,
      SocketDir: '/custom',
      readinessIndicatorFile: '/r',
      perNodeCertificate: { CertDir: '/c' },
    });
    expect(r.typed.server.socketDir).toBe('/run/multus/');
    expect(r.typed.multus.readinessindicatorfile).toBe('');
    const all = r.warnings.join('\n');
    expect(all).toContain('key "SocketDir" is ignored: it differs from "socketDir" only by case');
    expect(all).toContain('key "readinessIndicatorFile" is ignored');
    expect(all).toContain('key "perNodeCertificate.CertDir" is ignored');
    // and they are still overlaid onto requests as they are
    expect(r.raw.SocketDir).toBe('/custom');
  });

  it('an unknown logLevel is a warning, as upstream only prints one', () => {
    const r = parse({ ...MIN, logLevel: 'chatty' });
    expect(r.typed.server.logLevel).toBe('chatty');
    expect(r.warnings.join('\n')).toContain('logLevel "chatty" is not one of panic, error, verbose, debug');
    expect(parse({ ...MIN, logLevel: 'DEBUG' }).warnings).toEqual([]);
  });

  it('keeps rawText byte for byte and unknown keys in raw', () => {
    const text = `{ "cniVersion": "0.3.1", "multusAutoconfigDir": "/d", "someDelegateKey": {"k": [1,2]} }\n`;
    const r = parseDaemonConfig(text);
    expect(r.rawText).toBe(text);
    expect(r.raw.someDelegateKey).toEqual({ k: [1, 2] });
  });
});

describe('loadDaemonConfig (files)', () => {
  it('loads a file and names it in errors', async () => {
    const good = join(tmp, 'good.json');
    writeFileSync(good, JSON.stringify({ ...MIN, socketDir: '/s/' }));
    const r = await loadDaemonConfig(good);
    expect(r.source).toBe(good);
    expect(r.typed.server.socketDir).toBe('/s/');
    const bad = join(tmp, 'daemon-config.json');
    writeFileSync(bad, JSON.stringify({ ...MIN, connectionLimit: 0 }));
    await expect(loadDaemonConfig(bad)).rejects.toThrow(
      `${bad}: connectionLimit: must be greater than 0, got 0`,
    );
  });

  it('a missing file is an I/O error naming it', async () => {
    const missing = join(tmp, 'nope.json');
    const err = await loadDaemonConfig(missing).catch((e: unknown) => e as CniError);
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).code).toBe(CniCode.IoFailure);
    expect((err as CniError).message).toContain(`${missing}: cannot read the daemon configuration: ENOENT`);
  });

  it('a 10 MB file is refused without reading it all', async () => {
    const big = join(tmp, 'big.json');
    const content = `{"cniVersion":"0.3.1","x":"${'a'.repeat(10 * 1024 * 1024)}"}`;
    writeFileSync(big, content);
    const err = (await loadDaemonConfig(big).catch((e: unknown) => e)) as CniError;
    expect(err.code).toBe(CniCode.InvalidConfig);
    expect(err.message).toBe(
      `${big}: file is ${content.length} bytes, more than the limit of ${DAEMON_CONFIG_MAX_BYTES} bytes`,
    );
  });

  it('directories and FIFOs are refused (a FIFO must not hang the start)', async () => {
    await expect(loadDaemonConfig(tmp)).rejects.toThrow('must be a regular file, not a directory');
    const fifo = join(tmp, 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    await expect(loadDaemonConfig(fifo)).rejects.toThrow('must be a regular file, not a FIFO');
  });

  it('invalid UTF-8 inside strings becomes U+FFFD (as Go); a BOM is refused', async () => {
    const p = join(tmp, 'latin1.json');
    writeFileSync(
      p,
      Buffer.concat([
        Buffer.from('{"cniVersion":"0.3.1","multusAutoconfigDir":"/d","logFile":"/log/'),
        Buffer.from([0xe9]),
        Buffer.from('"}'),
      ]),
    );
    expect((await loadDaemonConfig(p)).typed.multus.logFile).toBe('/log/\ufffd');
    const bom = join(tmp, 'bom.json');
    writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(MIN))]));
    await expect(loadDaemonConfig(bom)).rejects.toThrow('byte order mark');
  });
});
