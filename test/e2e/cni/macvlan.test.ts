// macvlan (and ipvlan/vlan where the kernel has them) with static IPAM, on a parent that is one end of a veth
// pair inside the test "node" namespace. The plugin resolves `master` in the namespace it runs in, which is why
// every plugin runs inside the node namespace (test/support/netns.ts explains the launchers).
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findLink, linkAddresses, listRoutes, probeLinkKind, TestScope } from '../../support/netns.ts';
import { type CniTestEnv, cniTestEnv, conflist, rejected } from './setup.ts';

function staticIpam(address: string, gateway: string) {
  return {
    type: 'static',
    addresses: [{ address, gateway }],
    routes: [{ dst: '192.168.200.0/24', gw: gateway }],
  };
}

// Safety net: vitest can skip afterEach after some failures; nothing may outlive this file.
afterAll(() => TestScope.cleanupAll());

describe('macvlan + static IPAM on a veth parent in the node namespace (real plugins)', () => {
  let env: CniTestEnv;
  let lan: string;
  beforeEach(async () => {
    env = await cniTestEnv();
    // node:parent0 <-> lan:peer0, so the parent is a real, up link with a peer on the other side.
    lan = await env.scope.netns('lan');
    await env.scope.veth({ ns: env.node, name: 'parent0', peerNs: lan, peerName: 'peer0' });
  });
  afterEach(async () => {
    await env.scope.cleanup();
  });

  for (const version of ['0.4.0', '1.0.0']) {
    it(`ADD/CHECK/DEL at ${version}: eth0 is a macvlan of parent0 with the static address and route`, async () => {
      const runtime = env.runtime();
      const list = conflist({
        cniVersion: version,
        name: 'mv-net',
        plugins: [
          {
            type: 'macvlan',
            master: 'parent0',
            mode: 'bridge',
            ipam: staticIpam('10.88.0.10/24', '10.88.0.1'),
            // macvlan reports the plugin-level dns in its result
            dns: { nameservers: ['10.88.0.53'] },
          },
        ],
      });
      const rt = { containerId: `mv-${version.replaceAll('.', '')}`, netns: env.podPath, ifName: 'eth0' };
      const result = await runtime.addNetworkList(list, rt);
      const r = result as {
        cniVersion: string;
        interfaces: { name: string; sandbox?: string }[];
        ips: { address: string; gateway?: string; interface?: number }[];
        dns?: { nameservers?: string[] };
      };
      expect(r.cniVersion).toBe(version);
      expect(r.interfaces.map((i) => [i.name, i.sandbox])).toEqual([['eth0', env.podPath]]);
      expect(r.ips.map((i) => [i.address, i.gateway, i.interface])).toEqual([
        ['10.88.0.10/24', '10.88.0.1', 0],
      ]);
      expect(r.dns?.nameservers).toEqual(['10.88.0.53']);
      const eth0 = await findLink(env.pod, 'eth0');
      expect(eth0?.linkinfo?.info_kind).toBe('macvlan');
      expect(eth0?.linkinfo?.info_data?.['mode']).toBe('bridge');
      expect(await linkAddresses(env.pod, 'eth0')).toContain('10.88.0.10/24');
      expect(await listRoutes(env.pod)).toContainEqual(
        expect.objectContaining({ dst: '192.168.200.0/24', gateway: '10.88.0.1' }),
      );
      expect(await runtime.checkNetworkList(list, rt)).toEqual({});
      await runtime.delNetworkList(list, rt);
      expect(await findLink(env.pod, 'eth0')).toBeUndefined();
      expect(await findLink(env.node, 'parent0')).toBeDefined();
      await runtime.delNetworkList(list, rt);
    });
  }

  it("surfaces the plugin's own code and message when the master does not exist", async () => {
    const runtime = env.runtime();
    const list = conflist({
      cniVersion: '1.0.0',
      name: 'mv-bad',
      plugins: [{ type: 'macvlan', master: 'nosuch0', ipam: staticIpam('10.88.0.11/24', '10.88.0.1') }],
    });
    const rt = { containerId: 'mv-bad', netns: env.podPath, ifName: 'eth0' };
    const e = await rejected(runtime.addNetworkList(list, rt));
    // macvlan 1.1.1 reports a missing master as {"code":999,"msg":"Link not found"}.
    expect(e.code).toBe(999);
    expect(e.msg).toBe('plugin type="macvlan" failed (add): Link not found');
    expect(await findLink(env.pod, 'eth0')).toBeUndefined();
    // A runtime calls DEL after a failed ADD. macvlan 1.1.1 loads its master on DEL too, so it fails the same
    // way (a plugin bug: DEL should succeed when there is nothing to delete); we surface it unchanged.
    const del = await rejected(runtime.delNetworkList(list, rt));
    expect(del.code).toBe(999);
    expect(del.msg).toBe('plugin type="macvlan" failed (delete): Link not found');
  });

  for (const kind of ['ipvlan', 'vlan'] as const) {
    it(`${kind} on the veth parent where the kernel has ${kind}`, async () => {
      const available = await probeLinkKind(kind);
      if (!available) {
        console.log(`kernel lacks ${kind}: ${kind} ADD/CHECK/DEL with the real plugin was not exercised`);
        expect(available).toBe(false);
        return;
      }
      const runtime = env.runtime();
      const plugin =
        kind === 'ipvlan'
          ? { type: 'ipvlan', master: 'parent0', mode: 'l2' }
          : { type: 'vlan', master: 'parent0', vlanId: 42 };
      const list = conflist({
        cniVersion: '1.0.0',
        name: `${kind}-net`,
        plugins: [{ ...plugin, ipam: staticIpam('10.89.0.10/24', '10.89.0.1') }],
      });
      const rt = { containerId: `${kind}-c1`, netns: env.podPath, ifName: 'eth0' };
      await runtime.addNetworkList(list, rt);
      expect((await findLink(env.pod, 'eth0'))?.linkinfo?.info_kind).toBe(kind);
      expect(await linkAddresses(env.pod, 'eth0')).toContain('10.89.0.10/24');
      expect(await runtime.checkNetworkList(list, rt)).toEqual({});
      await runtime.delNetworkList(list, rt);
      expect(await findLink(env.pod, 'eth0')).toBeUndefined();
    });
  }
});
