// A real chain: bridge + host-local + tuning + portmap, with recording fake plugins placed in it. Proves that
// `portMappings` reaches exactly the plugins that declare the capability (the recorders' stdin, and portmap's DNAT
// rule in the node's iptables), that prevResult is threaded through, that unknown keys survive, that DEL runs in
// reverse with the cached result, and that disableCheck skips CHECK.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execIn, findLink, linkAddresses, TestScope } from '../../support/netns.ts';
import { type CniTestEnv, cniTestEnv, conflist } from './setup.ts';

const portMappings = [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }];
const bandwidth = {
  ingressRate: 1_000_000,
  ingressBurst: 100_000,
  egressRate: 1_000_000,
  egressBurst: 100_000,
};

const vendorKeys = {
  'x-vendor': { nested: { list: [1, 'two', { three: null }], flag: false }, 'dotted.key': 'v' },
  kubeconfig: '/etc/cni/net.d/multus.d/multus.kubeconfig',
  unusualNumber: 1.5e-7,
};

function chain(dataDir: string) {
  return conflist({
    cniVersion: '1.0.0',
    name: 'chain-net',
    disableCheck: true,
    plugins: [
      {
        type: 'bridge',
        bridge: 'mt-br1',
        isGateway: true,
        ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.78.0.0/24' }]] },
      },
      { type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.arp_notify': '1' } },
      { type: 'rec-plain', ...vendorKeys },
      { type: 'portmap', capabilities: { portMappings: true }, snat: false },
      { type: 'rec-caps', capabilities: { portMappings: true, bandwidth: false, PortMappings: true } },
    ],
  });
}

async function natRules(node: string): Promise<string> {
  return (await execIn(node, 'iptables', ['-t', 'nat', '-S'])).stdout;
}

// Safety net: vitest can skip afterEach after some failures; nothing may outlive this file.
afterAll(() => TestScope.cleanupAll());

describe('conflist bridge + host-local + tuning + portmap (real plugins) with recorders', () => {
  let env: CniTestEnv;
  beforeEach(async () => {
    env = await cniTestEnv({ 'rec-plain': 'recorder', 'rec-caps': 'recorder' });
  });
  afterEach(async () => {
    await env.scope.cleanup();
  });

  it('injects portMappings only where declared, threads prevResult, and DEL undoes it all in reverse', async () => {
    // portmap needs iptables (a dependency of Debian's plugins package): fail loudly, never skip.
    const which = await execIn(env.node, 'iptables', ['--version'], true);
    expect(which.code, 'iptables is required by the portmap plugin').toBe(0);

    const runtime = env.runtime();
    const list = chain(env.dataDir);
    const rt = {
      containerId: 'chain-c1',
      netns: env.podPath,
      ifName: 'eth0',
      capabilityArgs: { portMappings, bandwidth },
    };
    const result = (await runtime.addNetworkList(list, rt)) as {
      interfaces: { name: string; sandbox?: string }[];
      ips: { address: string }[];
    };
    const address = result.ips[0]!.address;
    const ip = address.split('/')[0]!;
    expect(await linkAddresses(env.pod, 'eth0')).toContain(address);

    const adds = env.calls().filter((c) => c.command === 'ADD');
    expect(adds.map((c) => c.plugin)).toEqual(['rec-plain', 'rec-caps']);
    const [plain, caps] = adds.map((c) => c.stdin as Record<string, unknown>);

    // rec-plain declares nothing: no runtimeConfig; every unknown key arrives as written.
    expect(plain).not.toHaveProperty('runtimeConfig');
    expect(plain).toMatchObject({ cniVersion: '1.0.0', name: 'chain-net', type: 'rec-plain', ...vendorKeys });
    // ...and it sees the bridge's result, passed through tuning, as prevResult.
    const prev = plain!['prevResult'] as { interfaces: { name: string; sandbox?: string }[]; ips: unknown[] };
    expect(prev.interfaces).toContainEqual(expect.objectContaining({ name: 'eth0', sandbox: env.podPath }));
    expect(prev.ips).toEqual([expect.objectContaining({ address })]);

    // rec-caps declares portMappings (true), bandwidth (false) and a wrongly-cased name: only portMappings.
    expect(caps!['runtimeConfig']).toEqual({ portMappings });
    expect(caps!['capabilities']).toEqual({ portMappings: true, bandwidth: false, PortMappings: true });

    // portmap declared it too, and acted on it: a DNAT rule for the host port to the container in the node.
    const rules = await natRules(env.node);
    expect(rules).toMatch(
      new RegExp(`--dport 18080 .*-j DNAT --to-destination ${ip.replaceAll('.', '\\.')}:80`),
    );

    // CHECK is disabled for this list: skipped, no plugin sees it.
    expect(await runtime.checkNetworkList(list, rt)).toEqual({ skipped: 'disableCheck' });
    expect(env.calls().some((c) => c.command === 'CHECK')).toBe(false);

    await runtime.delNetworkList(list, rt);
    const dels = env.calls().filter((c) => c.command === 'DEL');
    expect(dels.map((c) => c.plugin)).toEqual(['rec-caps', 'rec-plain']);
    for (const del of dels) {
      const stdin = del.stdin as Record<string, unknown>;
      expect(stdin['prevResult']).toEqual(JSON.parse(JSON.stringify(result)));
      expect(del.env['CNI_COMMAND']).toBe('DEL');
      expect(del.env['CNI_CONTAINERID']).toBe('chain-c1');
    }
    expect((dels[0]!.stdin as Record<string, unknown>)['runtimeConfig']).toEqual({ portMappings });
    expect(await findLink(env.pod, 'eth0')).toBeUndefined();
    expect(await natRules(env.node)).not.toContain('18080');
  });

  it('returns the final result in the list version even when a plugin answers in another one', async () => {
    const runtime = env.runtime();
    const list = conflist({
      cniVersion: '0.4.0',
      name: 'mixed-net',
      plugins: [
        {
          type: 'rec-plain',
          fakeResult: {
            cniVersion: '1.0.0',
            interfaces: [{ name: 'eth0', sandbox: env.podPath }],
            ips: [{ address: '10.79.0.5/24', gateway: '10.79.0.1', interface: 0 }],
          },
        },
        { type: 'rec-caps' },
      ],
    });
    const result = await runtime.addNetworkList(list, {
      containerId: 'mixed',
      netns: env.podPath,
      ifName: 'eth0',
    });
    expect(result).toEqual({
      cniVersion: '0.4.0',
      interfaces: [{ name: 'eth0', sandbox: env.podPath }],
      ips: [{ version: '4', address: '10.79.0.5/24', gateway: '10.79.0.1', interface: 0 }],
    });
    const second = env.calls().find((c) => c.plugin === 'rec-caps')!.stdin as Record<string, unknown>;
    expect((second['prevResult'] as { cniVersion: string }).cniVersion).toBe('0.4.0');
  });
});
