// The real ptp plugin with host-local IPAM: a veth whose container end is eth0 in the pod (with the address and a
// route via the host end) and whose host end lives in the node namespace; DEL removes both ends and the lease.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findLink, linkAddresses, listLinks, listRoutes, TestScope } from '../../support/netns.ts';
import { type CniTestEnv, cniTestEnv, conflist } from './setup.ts';

// Safety net: vitest can skip afterEach after some failures; nothing may outlive this file.
afterAll(() => TestScope.cleanupAll());

describe('ptp + host-local (real plugins)', () => {
  let env: CniTestEnv;
  beforeEach(async () => {
    env = await cniTestEnv();
  });
  afterEach(async () => {
    await env.scope.cleanup();
  });

  for (const version of ['0.3.1', '1.0.0']) {
    it(`ADD/DEL at ${version}: a point-to-point veth between node and pod`, async () => {
      const runtime = env.runtime();
      const list = conflist({
        cniVersion: version,
        name: 'ptp-net',
        plugins: [
          {
            type: 'ptp',
            ipMasq: false,
            mtu: 1400,
            ipam: {
              type: 'host-local',
              dataDir: env.dataDir,
              ranges: [[{ subnet: '10.90.0.0/24' }]],
              routes: [{ dst: '10.91.0.0/16' }],
            },
          },
        ],
      });
      const rt = { containerId: `ptp-${version.replaceAll('.', '')}`, netns: env.podPath, ifName: 'eth0' };
      const before = (await listLinks(env.node)).length;
      const result = (await runtime.addNetworkList(list, rt)) as {
        ips: { address: string; gateway?: string }[];
      };
      expect(result.ips).toHaveLength(1);
      const { address, gateway } = result.ips[0]!;
      expect(address).toMatch(/^10\.90\.0\.\d+\/24$/);

      const eth0 = await findLink(env.pod, 'eth0');
      expect(eth0?.linkinfo?.info_kind).toBe('veth');
      expect(eth0?.mtu).toBe(1400);
      expect(await linkAddresses(env.pod, 'eth0')).toContain(address);
      expect(await listRoutes(env.pod)).toContainEqual(
        expect.objectContaining({ dst: '10.91.0.0/16', gateway, dev: 'eth0' }),
      );
      const hostEnds = (await listLinks(env.node)).filter((l) => l.linkinfo?.info_kind === 'veth');
      expect(hostEnds).toHaveLength(1);
      expect((await listLinks(env.node)).length).toBe(before + 1);

      await runtime.delNetworkList(list, rt);
      expect(await findLink(env.pod, 'eth0')).toBeUndefined();
      expect((await listLinks(env.node)).filter((l) => l.linkinfo?.info_kind === 'veth')).toHaveLength(0);
      const leases = join(env.dataDir, 'ptp-net');
      expect(existsSync(leases) ? readdirSync(leases).filter((f) => f.startsWith('10.')) : []).toEqual([]);
      await runtime.delNetworkList(list, rt);
    });
  }
});
