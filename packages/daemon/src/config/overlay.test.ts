import { describe, expect, it } from 'vitest';
import { parseDaemonConfig } from './load.ts';
import { overlayDaemonConfig } from './overlay.ts';

const client = () => ({
  cniVersion: '0.3.1',
  name: 'multus-cni-network',
  clusterNetwork: '/etc/cni/net.d/10-calico.conflist',
  type: 'multus-shim',
  readinessindicatorfile: '/client/ready',
  runtimeConfig: { portMappings: [] },
});

describe('overlayDaemonConfig (§2.4)', () => {
  it('daemon keys replace client keys shallowly; client-only keys survive', () => {
    const daemon = { cniVersion: '1.0.0', runtimeConfig: { bandwidth: {} }, logLevel: 'debug' };
    const out = overlayDaemonConfig(client(), daemon, { ignoreReadinessIndicator: false });
    expect(out.cniVersion).toBe('1.0.0');
    expect(out.runtimeConfig).toEqual({ bandwidth: {} }); // replaced, not merged
    expect(out.logLevel).toBe('debug');
    expect(out.clusterNetwork).toBe('/etc/cni/net.d/10-calico.conflist');
  });

  it('key order: client keys in place, daemon-only keys appended in file order (upstream sorts)', () => {
    const daemon = { zeta: 1, cniVersion: '1.0.0', alpha: 2 };
    const out = overlayDaemonConfig(client(), daemon, { ignoreReadinessIndicator: true });
    expect(Object.keys(out)).toEqual([
      'cniVersion',
      'name',
      'clusterNetwork',
      'type',
      'runtimeConfig',
      'zeta',
      'alpha',
    ]);
  });

  it('auto mode: the client readinessindicatorfile is dropped and the daemon one is not injected', () => {
    const out = overlayDaemonConfig(
      client(),
      { readinessindicatorfile: '/daemon/ready' },
      { ignoreReadinessIndicator: true },
    );
    expect(Object.hasOwn(out, 'readinessindicatorfile')).toBe(false);
  });

  it('non-auto mode: the daemon readinessindicatorfile wins like any key', () => {
    const out = overlayDaemonConfig(
      client(),
      { readinessindicatorfile: '/daemon/ready' },
      { ignoreReadinessIndicator: false },
    );
    expect(out.readinessindicatorfile).toBe('/daemon/ready');
    const keep = overlayDaemonConfig(client(), {}, { ignoreReadinessIndicator: false });
    expect(keep.readinessindicatorfile).toBe('/client/ready');
  });

  it('no daemon config: a copy of the client (minus readinessindicatorfile in auto mode, as HEAD)', () => {
    const c = client();
    const out = overlayDaemonConfig(c, undefined, { ignoreReadinessIndicator: true });
    expect(out).not.toBe(c);
    expect(Object.hasOwn(out, 'readinessindicatorfile')).toBe(false);
    expect(c.readinessindicatorfile).toBe('/client/ready');
  });

  it('the result does not alias the (frozen) daemon config', () => {
    const loaded = parseDaemonConfig(
      JSON.stringify({
        cniVersion: '0.3.1',
        multusAutoconfigDir: '/d',
        runtimeConfig: { bandwidth: { rate: 1 } },
      }),
    );
    const out = overlayDaemonConfig(client(), loaded.raw, { ignoreReadinessIndicator: true });
    (out.runtimeConfig as { bandwidth: { rate: number } }).bandwidth.rate = 99;
    expect((loaded.raw.runtimeConfig as { bandwidth: { rate: number } }).bandwidth.rate).toBe(1);
  });

  it('"__proto__" from either side is an ordinary key and changes no prototype', () => {
    const hostileClient = JSON.parse('{"__proto__":{"a":1},"cniVersion":"0.3.1"}') as Record<string, unknown>;
    const hostileDaemon = JSON.parse('{"__proto__":{"b":2}}') as Record<string, unknown>;
    const out = overlayDaemonConfig(hostileClient, hostileDaemon, { ignoreReadinessIndicator: true });
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(JSON.stringify(out)).toBe('{"__proto__":{"b":2},"cniVersion":"0.3.1"}');
  });
});
