// The real bridge + host-local plugins through CniRuntime at cniVersion 0.3.1, 0.4.0 and 1.0.0: the interface and
// address really appear in the pod namespace (checked with `ip`), the bridge in the node namespace, CHECK passes
// (or is refused below 0.4.0), and DEL removes everything, also twice and with a corrupt cache.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findLink, ipIn, linkAddresses, listLinks, listRoutes, TestScope } from '../../support/netns.ts';
import { type CniTestEnv, cniTestEnv, conflist, rejected } from './setup.ts';

function bridgeList(version: string, dataDir: string, subnet = '10.77.0.0/24') {
  return conflist({
    cniVersion: version,
    name: 'br-net',
    plugins: [
      {
        type: 'bridge',
        bridge: 'mt-br0',
        isGateway: true,
        ipMasq: false,
        ipam: {
          type: 'host-local',
          dataDir,
          ranges: [[{ subnet }]],
          routes: [{ dst: '0.0.0.0/0' }],
        },
      },
    ],
  });
}

/** IPs host-local has reserved (one file per address in <dataDir>/<network name>). */
function reserved(dataDir: string): string[] {
  const dir = join(dataDir, 'br-net');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
}

// Safety net: vitest can skip afterEach after some failures; nothing may outlive this file.
afterAll(() => TestScope.cleanupAll());

describe.each(['0.3.1', '0.4.0', '1.0.0'])(
  'bridge + host-local at cniVersion %s (real plugins)',
  (version) => {
    let env: CniTestEnv;
    beforeEach(async () => {
      env = await cniTestEnv();
    });
    afterEach(async () => {
      await env.scope.cleanup();
    });

    it('ADD creates eth0 with its address in the pod, CHECK agrees, DEL removes it (twice)', async () => {
      const runtime = env.runtime();
      const list = bridgeList(version, env.dataDir);
      const rt = { containerId: `br-${version.replaceAll('.', '')}`, netns: env.podPath, ifName: 'eth0' };

      const result = await runtime.addNetworkList(list, rt);
      expect(result.cniVersion).toBe(version);
      const r = result as { interfaces: { name: string; sandbox?: string }[]; ips: { address: string }[] };
      const podIf = r.interfaces.find((i) => i.sandbox === env.podPath);
      expect(podIf?.name).toBe('eth0');
      const address = r.ips[0]?.address;
      expect(address).toMatch(/^10\.77\.0\.\d+\/24$/);

      const eth0 = await findLink(env.pod, 'eth0');
      expect(eth0?.linkinfo?.info_kind).toBe('veth');
      expect(await linkAddresses(env.pod, 'eth0')).toContain(address);
      expect(await listRoutes(env.pod)).toContainEqual(
        expect.objectContaining({ dst: 'default', gateway: '10.77.0.1' }),
      );
      const bridge = await findLink(env.node, 'mt-br0');
      expect(bridge?.linkinfo?.info_kind).toBe('bridge');
      expect(await linkAddresses(env.node, 'mt-br0')).toContain('10.77.0.1/24');
      expect(reserved(env.dataDir)).toEqual([address!.split('/')[0]]);

      if (version === '0.3.1') {
        const e = await rejected(runtime.checkNetworkList(list, rt));
        expect(e.code).toBe(1);
        expect(e.msg).toBe('configuration version "0.3.1" does not support the CHECK command');
      } else {
        expect(await runtime.checkNetworkList(list, rt)).toEqual({});
      }

      await runtime.delNetworkList(list, rt);
      expect(await findLink(env.pod, 'eth0')).toBeUndefined();
      expect(reserved(env.dataDir)).toEqual([]);
      expect(existsSync(join(env.cacheDir, 'results', `br-net-${rt.containerId}-eth0`))).toBe(false);
      await runtime.delNetworkList(list, rt);
      expect((await listLinks(env.pod)).map((l) => l.ifname)).toEqual(['lo']);
    });

    it('gives two containers two addresses on the same bridge', async () => {
      const runtime = env.runtime();
      const list = bridgeList(version, env.dataDir);
      const pod2 = await env.scope.netns('pod');
      const a = await runtime.addNetworkList(list, {
        containerId: 'one',
        netns: env.podPath,
        ifName: 'eth0',
      });
      const b = await runtime.addNetworkList(list, {
        containerId: 'two',
        netns: `/run/netns/${pod2}`,
        ifName: 'eth0',
      });
      const ipOf = (r: unknown) => (r as { ips: { address: string }[] }).ips[0]?.address;
      expect(ipOf(a)).not.toBe(ipOf(b));
      expect(reserved(env.dataDir)).toHaveLength(2);
      const ports = (await listLinks(env.node)).filter((l) => l.master === 'mt-br0');
      expect(ports).toHaveLength(2);
      await runtime.delNetworkList(list, { containerId: 'one', netns: env.podPath, ifName: 'eth0' });
      await runtime.delNetworkList(list, { containerId: 'two', netns: `/run/netns/${pod2}`, ifName: 'eth0' });
      expect(reserved(env.dataDir)).toEqual([]);
    });
  },
);

describe('bridge + host-local: cache edge cases (real plugins, 1.0.0)', () => {
  let env: CniTestEnv;
  beforeEach(async () => {
    env = await cniTestEnv();
  });
  afterEach(async () => {
    await env.scope.cleanup();
  });

  it('DEL still tears down and releases the IP when the cached result is corrupt', async () => {
    const runtime = env.runtime();
    const list = bridgeList('1.0.0', env.dataDir);
    const rt = { containerId: 'corrupt', netns: env.podPath, ifName: 'eth0' };
    await runtime.addNetworkList(list, rt);
    const cacheFile = join(env.cacheDir, 'results', 'br-net-corrupt-eth0');
    writeFileSync(cacheFile, '{"kind":"cniCacheV1", truncated');
    await runtime.delNetworkList(list, rt);
    expect(await findLink(env.pod, 'eth0')).toBeUndefined();
    expect(reserved(env.dataDir)).toEqual([]);
    expect(existsSync(cacheFile)).toBe(false);
  });

  it('CHECK without a cached result is code 3 and runs no plugin; CHECK with disableCheck is skipped', async () => {
    const runtime = env.runtime();
    const rt = { containerId: 'never-added', netns: env.podPath, ifName: 'eth0' };
    const e = await rejected(runtime.checkNetworkList(bridgeList('1.0.0', env.dataDir), rt));
    expect(e.code).toBe(3);
    expect(e.msg).toContain('failed to get network "br-net" cached result');
    const disabled = { ...bridgeList('1.0.0', env.dataDir), disableCheck: true };
    expect(await runtime.checkNetworkList(disabled, rt)).toEqual({ skipped: 'disableCheck' });
  });

  it('CHECK reports the real plugin error when the interface has gone', async () => {
    const runtime = env.runtime();
    const list = bridgeList('1.0.0', env.dataDir);
    const rt = { containerId: 'gone', netns: env.podPath, ifName: 'eth0' };
    await runtime.addNetworkList(list, rt);
    env.scope.defer('del gone', () => runtime.delNetworkList(list, rt));
    await ipIn(env.pod, 'link', 'delete', 'eth0');
    const e = await rejected(runtime.checkNetworkList(list, rt));
    expect(e.msg).toMatch(/^plugin type="bridge" failed \(check\): /);
    expect(e.code).toBeGreaterThan(0);
  });
});
