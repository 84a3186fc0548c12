// The operator guides' scenarios (shared/fixtures/seeds) on a real daemon, shim, plugins and namespaces, once
// against the Kubernetes API emulator and once against a real kube-apiserver (`make apiserver`). Either way
// the daemon runs as a pod would: in-cluster credentials of the deployment's multus ServiceAccount, limited to
// its ClusterRole.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readAudit } from '../../support/apiserver/index.ts';
import { BACKENDS, NodeHarness, type SandboxRef } from '../../support/daemon-harness.ts';
import { linkAddresses, listLinks, TestScope } from '../../support/netns.ts';
import { fooBridge, macvlanConf, macvlanStatic, seedPodNetworks } from '../../support/seeds.ts';

let h: NodeHarness;
const made: SandboxRef[] = [];

async function addPod(name: string, annotations: Record<string, string>) {
  const sb = await h.createPod({ name, annotations });
  made.push(sb);
  const out = await h.shim('ADD', sb);
  return { sb, out };
}

describe.each(BACKENDS)('on the %s', (backend) => {
  beforeAll(async () => {
    h = await NodeHarness.start({ backend, inCluster: true });
    await h.createNad('default', 'macvlan-conf', macvlanConf(h));
  });
  afterEach(async () => {
    // Whatever a test left behind is deleted through the daemon, as a runtime would.
    for (const sb of made.splice(0)) await h.shim('DEL', sb);
  });
  afterAll(async () => {
    await h?.stop();
    await TestScope.cleanupAll();
  });

  describe('seed scenarios', () => {
    it('samplepod (macvlan-conf) gets eth0 from the cluster network and net1 from macvlan, with network-status', async () => {
      const { sb, out } = await addPod('samplepod', {
        'k8s.v1.cni.cncf.io/networks': seedPodNetworks('samplepod.yaml'),
      });
      expect(out.code, `${out.stdout}\n${h.daemonLog.slice(-3000)}`).toBe(0);
      expect(out.json).toMatchObject({ cniVersion: '0.3.1' });
      const links = (await listLinks(sb.netnsName)).map((l) => l.ifname).sort();
      expect(links).toEqual(['eth0', 'lo', 'net1']);
      const net1 = await linkAddresses(sb.netnsName, 'net1');
      expect(net1[0]).toMatch(/^192\.168\.1\.2(0\d|1[0-6])\/24$/);
      const status = JSON.parse(await h.networkStatus('default', 'samplepod'));
      expect(status).toHaveLength(2);
      expect(status[0]).toMatchObject({ name: 'cbr0', interface: 'eth0', default: true });
      expect(status[0].ips[0]).toMatch(/^10\.244\.1\./);
      expect(status[1]).toMatchObject({
        name: 'default/macvlan-conf',
        interface: 'net1',
        ips: [net1[0]!.split('/')[0]],
      });
    });
  });

  describe('seed scenarios, continued', () => {
    it('samplepod-twice (macvlan-conf,macvlan-conf) gets net1 and net2, one status entry each (4.2)', async () => {
      const { sb, out } = await addPod('samplepod-twice', {
        'k8s.v1.cni.cncf.io/networks': seedPodNetworks('samplepod-twice.yaml'),
      });
      expect(out.code, out.stdout).toBe(0);
      expect(await ifnames(sb)).toEqual(['eth0', 'lo', 'net1', 'net2']);
      const status = statusOf(await h.networkStatus('default', 'samplepod-twice'));
      expect(status.map((s) => [s['name'], s['interface']])).toEqual([
        ['cbr0', 'eth0'],
        ['default/macvlan-conf', 'net1'],
        ['default/macvlan-conf', 'net2'],
      ]);
    });

    it('samplepod-foo (foo,macvlan-conf): net1 from the bridge NAD foo, net2 from macvlan', async () => {
      await h.createNad('default', 'foo', fooBridge(h));
      const { sb, out } = await addPod('samplepod-foo', {
        'k8s.v1.cni.cncf.io/networks': seedPodNetworks('samplepod-foo.yaml'),
      });
      expect(out.code, out.stdout).toBe(0);
      expect(await ifnames(sb)).toEqual(['eth0', 'lo', 'net1', 'net2']);
      expect((await linkAddresses(sb.netnsName, 'net1'))[0]).toMatch(/^10\.10\.0\./);
      expect((await linkAddresses(sb.netnsName, 'net2'))[0]).toMatch(/^192\.168\.1\./);
    });

    it('the JSON form with ips, mac and interface reaches the plugins that declare the capabilities', async () => {
      await h.createNad('default', 'macvlan-static', macvlanStatic());
      const selection = [
        { name: 'macvlan-static', ips: ['10.1.1.11/24'], mac: 'c2:11:22:33:44:55', interface: 'ext0' },
      ];
      const { sb, out } = await addPod('json-pod', {
        'k8s.v1.cni.cncf.io/networks': JSON.stringify(selection),
      });
      expect(out.code, out.stdout).toBe(0);
      expect(await ifnames(sb)).toEqual(['eth0', 'ext0', 'lo']);
      expect((await linkAddresses(sb.netnsName, 'ext0')).filter((a) => !a.startsWith('fe80:'))).toEqual([
        '10.1.1.11/24',
      ]);
      const ext0 = (await listLinks(sb.netnsName)).find((l) => l.ifname === 'ext0');
      expect(ext0?.address).toBe('c2:11:22:33:44:55');
      const status = statusOf(await h.networkStatus('default', 'json-pod'));
      expect(status[1]).toMatchObject({
        name: 'default/macvlan-static',
        interface: 'ext0',
        ips: ['10.1.1.11'],
        mac: 'c2:11:22:33:44:55',
      });
    });

    it('a kube-system NAD as second NIC (spiderpool overlay) and as the only NIC via default-network', async () => {
      await h.createNad('kube-system', 'macvlan-vlan0', {
        cniVersion: '0.3.1',
        type: 'macvlan',
        master: 'eth0',
        mode: 'bridge',
        ipam: h.hostLocal('macvlan-vlan0', { subnet: '172.81.0.0/24' }),
      });
      const overlay = await addPod('overlay', { 'k8s.v1.cni.cncf.io/networks': 'kube-system/macvlan-vlan0' });
      expect(overlay.out.code, overlay.out.stdout).toBe(0);
      expect(await ifnames(overlay.sb)).toEqual(['eth0', 'lo', 'net1']);
      expect((await linkAddresses(overlay.sb.netnsName, 'net1'))[0]).toMatch(/^172\.81\.0\./);

      const standalone = await addPod('standalone', {
        'v1.multus-cni.io/default-network': 'kube-system/macvlan-vlan0',
      });
      expect(standalone.out.code, standalone.out.stdout).toBe(0);
      expect(await ifnames(standalone.sb)).toEqual(['eth0', 'lo']);
      expect((await linkAddresses(standalone.sb.netnsName, 'eth0'))[0]).toMatch(/^172\.81\.0\./);
      const status = statusOf(await h.networkStatus('default', 'standalone'));
      expect(status).toEqual([
        expect.objectContaining({ name: 'kube-system/macvlan-vlan0', interface: 'eth0', default: true }),
      ]);
    });

    it('a missing NAD fails the ADD with code 7, emits a Warning NoNetworkFound event, and leaks nothing', async () => {
      const before = await h.leftovers();
      const { sb, out } = await addPod('missing-nad', {
        'k8s.v1.cni.cncf.io/networks': 'macvlan-conf,does-not-exist',
      });
      expect(out.code).toBe(1);
      expect(out.json).toMatchObject({ code: 7 });
      expect(String(out.json?.['msg'])).toContain('does-not-exist');
      expect(await ifnames(sb)).toEqual(['lo']);
      expect(await h.leftovers()).toEqual(before);
      const events = await h.core.listNamespacedEvent({ namespace: 'default' });
      const warn = events.items.find(
        (e) => e.involvedObject.name === 'missing-nad' && e.reason === 'NoNetworkFound',
      );
      expect(warn?.type).toBe('Warning');
      expect(warn?.source?.component).toBe('multus');
    });

    it('emits AddedInterface events in upstream format', async () => {
      await addPod('evpod', { 'k8s.v1.cni.cncf.io/networks': 'macvlan-conf' });
      const deadline = Date.now() + 5000;
      let messages: string[] = [];
      while (Date.now() < deadline) {
        const events = await h.core.listNamespacedEvent({ namespace: 'default' });
        messages = events.items
          .filter((e) => e.involvedObject.name === 'evpod' && e.reason === 'AddedInterface')
          .map((e) => e.message ?? '');
        if (messages.length === 2) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(messages).toHaveLength(2);
      messages.sort();
      expect(messages[0]).toMatch(/^Add eth0 \[10\.244\.1\.\d+\/24\] from cbr0$/);
      expect(messages[1]).toMatch(/^Add net1 \[192\.168\.1\.2\d+\/24\] from default\/macvlan-conf$/);
    });
  });

  describe('DEL never fails for lack of state', () => {
    it('DEL after the NAD was deleted works from the delegate cache and frees the lease', async () => {
      await h.createNad('default', 'short-lived', {
        cniVersion: '0.3.1',
        type: 'macvlan',
        master: 'eth0',
        ipam: h.hostLocal('short-lived', { subnet: '192.168.77.0/24' }),
      });
      const { sb, out } = await addPod('nad-gone', { 'k8s.v1.cni.cncf.io/networks': 'short-lived' });
      expect(out.code, out.stdout).toBe(0);
      await h.deleteNad('default', 'short-lived');
      await h.core.deleteNamespacedPod({ namespace: 'default', name: 'nad-gone' });
      const del = await h.shim('DEL', sb);
      made.splice(made.indexOf(sb), 1);
      expect(del.code, del.stdout).toBe(0);
      expect(await ifnames(sb)).toEqual(['lo']);
      expect(await h.leftovers()).toMatchObject({ cache: [] });
      expect((await h.leftovers()).leases.filter((l) => l.startsWith('short-lived/'))).toEqual([]);
      const again = await h.shim('DEL', sb);
      expect(again.code, 'a repeated DEL succeeds').toBe(0);
    });

    it('DEL with the API server down still tears everything down', async () => {
      const { sb, out } = await addPod('api-down', { 'k8s.v1.cni.cncf.io/networks': 'macvlan-conf' });
      expect(out.code, out.stdout).toBe(0);
      // The emulator stops listening; the real kube-apiserver process is stopped (and started again after).
      await h.kube.down();
      try {
        const del = await h.shim('DEL', sb);
        made.splice(made.indexOf(sb), 1);
        expect(del.code, del.stdout).toBe(0);
        expect(await ifnames(sb)).toEqual(['lo']);
        expect((await h.leftovers()).cache).toEqual([]);
      } finally {
        await h.kube.up();
      }
    });

    it('DEL after the daemon restarted between ADD and DEL', async () => {
      const { sb, out } = await addPod('restart', { 'k8s.v1.cni.cncf.io/networks': 'macvlan-conf' });
      expect(out.code, out.stdout).toBe(0);
      expect(await h.stopDaemon('SIGKILL')).toBe(null);
      await h.startDaemon();
      const del = await h.shim('DEL', sb);
      made.splice(made.indexOf(sb), 1);
      expect(del.code, del.stdout).toBe(0);
      expect(await ifnames(sb)).toEqual(['lo']);
      expect((await h.leftovers()).cache).toEqual([]);
    });
  });

  describe('load', () => {
    it('20 pods at once all get their networks, and all tear down without leaks', async () => {
      await h.createNad('default', 'burst-net', {
        cniVersion: '0.3.1',
        type: 'macvlan',
        master: 'eth0',
        ipam: h.hostLocal('burst-net', { subnet: '192.168.50.0/24' }),
      });
      const before = await h.leftovers();
      const pods = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          h.createPod({ name: `burst-${i}`, annotations: { 'k8s.v1.cni.cncf.io/networks': 'burst-net' } }),
        ),
      );
      made.push(...pods);
      const adds = await Promise.all(pods.map((sb) => h.shim('ADD', sb)));
      expect(
        adds.map((a) => a.code),
        adds.map((a) => a.stdout).join('\n'),
      ).toEqual(Array(20).fill(0));
      const addrs = await Promise.all(pods.map(async (sb) => (await linkAddresses(sb.netnsName, 'net1'))[0]));
      expect(new Set(addrs).size, 'each pod got its own macvlan address').toBe(20);
      const dels = await Promise.all(made.splice(0).map((sb) => h.shim('DEL', sb)));
      expect(dels.map((d) => d.code)).toEqual(Array(20).fill(0));
      expect(await h.leftovers()).toEqual(before);
    });
  });

  describe("the daemon's service account (deployments/ ClusterRole)", () => {
    it('was never refused (no 401 or 403) outside the API server restart', async () => {
      expect(h.kube.restarts).toHaveLength(1);
      expect(await h.kube.denials()).toEqual([]);
    });

    // Only the real server knows who made a request (its audit log); registered for it alone, not skipped.
    if (backend === 'apiserver')
      it('(real apiserver only: its audit log names the user) was allowed by the ClusterRoleBinding multus, within the role', async () => {
        const user = h.kube.serviceAccount?.user ?? '';
        expect(user).toBe('system:serviceaccount:kube-system:multus');
        // Requests made while the server restarted (the API-down test) are refused until its RBAC caches
        // are filled again: a real server does that, and the daemon retries (see denials()).
        const restarting = (at: number) => h.kube.restarts.some((w) => at >= w.from && at <= w.to);
        // kube-apiserver 1.20 writes a watch to its audit log only when the watch ends: stop the daemon (this is
        // the last test) and wait for its watches to be logged.
        expect(await h.stopDaemon()).toBe(0);
        const ours = async () =>
          (await readAudit(h.kube.apiserver!.auditLogFile)).filter(
            (r) => r.user === user && !restarting(r.at),
          );
        const deadline = Date.now() + 10_000;
        let mine = await ours();
        while (mine.filter((r) => r.verb === 'watch').length < 2 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
          mine = await ours();
        }
        expect(
          mine.filter((r) => !r.reason.includes('ClusterRoleBinding "multus" of ClusterRole "multus"')),
        ).toEqual([]);
        const used = new Set(mine.map((r) => `${r.group || 'core'} ${r.resource} ${r.verb}`));
        expect([...used].sort()).toEqual(
          expect.arrayContaining([
            'core events create',
            'core pods list',
            'core pods watch',
            'core pods/status patch',
            'k8s.cni.cncf.io network-attachment-definitions list',
            'k8s.cni.cncf.io network-attachment-definitions watch',
          ]),
        );
      });
  });
});

function statusOf(value: string) {
  return JSON.parse(value) as Record<string, unknown>[];
}

async function ifnames(sb: SandboxRef): Promise<string[]> {
  return (await listLinks(sb.netnsName)).map((l) => l.ifname).sort();
}
