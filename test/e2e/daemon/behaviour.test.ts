// Daemon behaviour beyond the seeds: default routes, CHECK, GC, a vanished pod, bad input through the shim, and
// the upstream /delegate API. Real daemon, shim, plugins and namespaces; once against the Kubernetes API
// emulator and once against a real kube-apiserver (`make apiserver`), the daemon with in-cluster credentials of
// the deployment's multus ServiceAccount either way.
import { chmod, readFile, readlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, NodeHarness, type SandboxRef } from '../../support/daemon-harness.ts';
import { ipIn, linkAddresses, listLinks, listRoutes, TestScope } from '../../support/netns.ts';

let h: NodeHarness;
const made: SandboxRef[] = [];

async function pod(name: string, annotations: Record<string, string> = {}) {
  const sb = await h.createPod({ name, annotations });
  made.push(sb);
  return sb;
}

function post(path: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: join(h.socketDir, 'multus.sock'),
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', host: 'dummy' },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8').on('data', (c: string) => {
          data += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe.each(BACKENDS)('on the %s', (backend) => {
  beforeAll(async () => {
    h = await NodeHarness.start({ backend, inCluster: true, cniVersion: '1.0.0' });
    await h.createNad('default', 'mv', {
      cniVersion: '1.0.0',
      type: 'macvlan',
      master: 'eth0',
      mode: 'bridge',
      ipam: h.hostLocal('mv', {
        subnet: '10.1.1.0/24',
        gateway: '10.1.1.254',
        routes: [{ dst: '0.0.0.0/0' }],
      }),
    });
  });
  afterEach(async () => {
    for (const sb of made.splice(0)) await h.shim('DEL', sb);
  });
  afterAll(async () => {
    await h?.stop();
    await TestScope.cleanupAll();
  });

  describe('default route (4.1.2.1.9)', () => {
    it('moves the pod default route to the gateway asked for on a secondary network', async () => {
      const sb = await pod('gw-pod', {
        'k8s.v1.cni.cncf.io/networks': JSON.stringify([{ name: 'mv', 'default-route': ['10.1.1.254'] }]),
      });
      const out = await h.shim('ADD', sb);
      expect(out.code, out.stdout + h.daemonLog.slice(-2000)).toBe(0);
      const defaults = (await listRoutes(sb.netnsName, '-4')).filter((r) => r.dst === 'default');
      expect(defaults).toEqual([expect.objectContaining({ gateway: '10.1.1.254', dev: 'net1' })]);
      const status = JSON.parse(await h.networkStatus('default', 'gw-pod'));
      expect(status[1]).toMatchObject({ name: 'default/mv', 'default-route': ['10.1.1.254'] });
    });

    it('keeps the cluster network default route when nobody asks', async () => {
      const sb = await pod('no-gw-pod', { 'k8s.v1.cni.cncf.io/networks': 'mv' });
      expect((await h.shim('ADD', sb)).code).toBe(0);
      const defaults = (await listRoutes(sb.netnsName, '-4')).filter((r) => r.dst === 'default');
      expect(defaults.map((r) => r.dev)).toContain('eth0');
    });
  });

  describe('CHECK and GC', () => {
    it('CHECK checks every attachment and reports a missing one with the plugin error', async () => {
      const sb = await pod('check-pod', { 'k8s.v1.cni.cncf.io/networks': 'mv' });
      expect((await h.shim('ADD', sb)).code).toBe(0);
      const ok = await h.shim('CHECK', sb);
      expect(ok.code, ok.stdout).toBe(0);
      await ipIn(sb.netnsName, 'link', 'del', 'net1');
      const broken = await h.shim('CHECK', sb);
      expect(broken.code).toBe(1);
      expect(String(broken.json?.['msg'])).toMatch(/net1/);
    });

    it('CHECK of a container the daemon never saw is code 3', async () => {
      const sb = await pod('never-added');
      const out = await h.shim('CHECK', sb);
      expect(out.json).toMatchObject({ code: 3 });
    });

    it('GC tears down containers the runtime no longer lists and keeps the listed ones', async () => {
      const keep = await pod('gc-keep', { 'k8s.v1.cni.cncf.io/networks': 'mv' });
      const stale = await pod('gc-stale', { 'k8s.v1.cni.cncf.io/networks': 'mv' });
      expect((await h.shim('ADD', keep)).code).toBe(0);
      expect((await h.shim('ADD', stale)).code).toBe(0);
      const conf = JSON.parse(await h.multusConf());
      conf['cniVersion'] = '1.1.0';
      conf['cni.dev/valid-attachments'] = [{ containerID: keep.containerId, ifname: 'eth0' }];
      const gc = await h.shim('GC', keep, { stdin: JSON.stringify(conf) });
      expect(gc.code, gc.stdout + h.daemonLog.slice(-2000)).toBe(0);
      expect((await listLinks(stale.netnsName)).map((l) => l.ifname)).toEqual(['lo']);
      expect((await listLinks(keep.netnsName)).map((l) => l.ifname).sort()).toEqual(['eth0', 'lo', 'net1']);
      made.splice(made.indexOf(stale), 1);
      expect((await h.leftovers()).cache).toEqual([keep.containerId]);
    });
  });

  describe('requests the daemon must refuse or tolerate', () => {
    it('ADD for a pod that no longer exists returns a valid empty result in the requested version', async () => {
      const sb = await pod('ghost');
      await h.core.deleteNamespacedPod({ namespace: 'default', name: 'ghost', gracePeriodSeconds: 0 });
      await new Promise((r) => setTimeout(r, 200));
      const out = await h.shim('ADD', sb);
      expect(out.code, out.stdout).toBe(0);
      expect(out.json).toEqual({
        cniVersion: '1.0.0',
        interfaces: [{ name: 'eth0', sandbox: sb.netns }],
        ips: [{ address: '0.0.0.0/0', gateway: '0.0.0.0' }],
      });
      expect((await listLinks(sb.netnsName)).map((l) => l.ifname)).toEqual(['lo']);
    });

    it('an invalid selection annotation fails the ADD with code 7 and nothing attached', async () => {
      const sb = await pod('bad-annotation', {
        'k8s.v1.cni.cncf.io/networks': '[{"name":"mv","interface":"a/b"}]',
      });
      const out = await h.shim('ADD', sb);
      expect(out.code).toBe(1);
      expect(out.json).toMatchObject({ cniVersion: '1.0.0', code: 7 });
      expect((await listLinks(sb.netnsName)).map((l) => l.ifname)).toEqual(['lo']);
      expect((await h.leftovers()).cache).toEqual([]);
    });

    it('ADD without the pod in CNI_ARGS is code 4', async () => {
      const sb = await pod('no-args');
      const out = await h.shim('ADD', sb, { env: { CNI_ARGS: 'IgnoreUnknown=1' } });
      expect(out.json).toMatchObject({ code: 4 });
    });

    it('a failing delegate keeps its own code, and ADD removes what it added before it', async () => {
      await h.createNad('default', 'broken', {
        cniVersion: '1.0.0',
        type: 'macvlan',
        master: 'no-such-parent',
        ipam: h.hostLocal('broken', { subnet: '10.9.9.0/24' }),
      });
      const before = await h.leftovers();
      const sb = await pod('partial', { 'k8s.v1.cni.cncf.io/networks': 'mv,broken' });
      const out = await h.shim('ADD', sb);
      expect(out.code).toBe(1);
      expect(String(out.json?.['msg'])).toMatch(/macvlan/);
      expect((await listLinks(sb.netnsName)).map((l) => l.ifname)).toEqual(['lo']);
      // macvlan 1.1.1 cannot DEL without its master either: only that delegate stays cached for the runtime's DEL,
      // which reports it twice and then gives up (bounded retries) so the pod can go.
      expect((await h.leftovers()).cache).toEqual([sb.containerId]);
      made.splice(made.indexOf(sb), 1);
      const dels = [await h.shim('DEL', sb), await h.shim('DEL', sb), await h.shim('DEL', sb)];
      expect(dels.map((d) => d.code)).toEqual([1, 1, 0]);
      expect(String(dels[0]!.json?.['msg'])).toMatch(/name="broken"/);
      expect(await h.leftovers()).toEqual(before);
    });
  });

  describe('/delegate (upstream API for hot-plug controllers)', () => {
    it('adds one interface to a running pod and removes it again', async () => {
      const sb = await pod('hotplug', {});
      expect((await h.shim('ADD', sb)).code).toBe(0);
      const config = {
        cniVersion: '1.0.0',
        name: 'extra',
        type: 'macvlan',
        master: 'eth0',
        ipam: h.hostLocal('extra', { subnet: '10.77.0.0/24' }),
      };
      const env = {
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: sb.containerId,
        CNI_NETNS: sb.netns,
        CNI_IFNAME: 'net5',
        CNI_ARGS: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=hotplug;K8S_POD_UID=${sb.uid}`,
      };
      const add = await post('/delegate', {
        env,
        config: Buffer.from(JSON.stringify(config)).toString('base64'),
      });
      expect(add.status, add.body).toBe(200);
      expect(JSON.parse(add.body).Result).toMatchObject({
        cniVersion: '1.1.0',
        interfaces: [expect.objectContaining({ name: 'net5' })],
      });
      expect((await linkAddresses(sb.netnsName, 'net5'))[0]).toMatch(/^10\.77\.0\./);
      const del = await post('/delegate', {
        env: { ...env, CNI_COMMAND: 'DEL' },
        config: Buffer.from(JSON.stringify(config)).toString('base64'),
      });
      expect(del.status, del.body).toBe(200);
      expect((await listLinks(sb.netnsName)).map((l) => l.ifname).sort()).toEqual(['eth0', 'lo']);
    });

    it('refuses GC with HTTP 400 and code 4', async () => {
      const res = await post('/delegate', { env: { CNI_COMMAND: 'GC' }, config: '' });
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).code).toBe(4);
    });
  });

  it('delegates are started by multus-spawn (a child of the daemon), not forked from the daemon', async () => {
    const record = join(h.binDir, `ppid-${process.pid}.txt`);
    const plugin = join(h.binDir, 'ppid-rec');
    await writeFile(
      plugin,
      `#!/bin/sh\ncat >/dev/null\necho "$CNI_COMMAND $PPID" >> ${record}\nprintf '{"cniVersion":"1.0.0"}'\n`,
    );
    await chmod(plugin, 0o755);
    await h.createNad('default', 'ppid', { cniVersion: '1.0.0', type: 'ppid-rec' });
    const sb = await pod('ppid', { 'k8s.v1.cni.cncf.io/networks': 'ppid' });
    expect((await h.shim('ADD', sb)).code).toBe(0);
    expect((await h.shim('DEL', sb)).code).toBe(0);
    made.splice(made.indexOf(sb), 1);
    const lines = (await readFile(record, 'utf8')).trim().split('\n');
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['ADD', 'DEL']);
    const parents = new Set(lines.map((l) => Number(l.split(' ')[1])));
    expect(parents.size).toBe(1); // one long-lived helper
    const [helper] = [...parents];
    expect(helper).not.toBe(h.daemon?.pid);
    expect(await readlink(`/proc/${helper}/exe`)).toMatch(/\/multus-spawn$/);
    const status = await readFile(`/proc/${helper}/status`, 'utf8');
    expect(Number(/^PPid:\s+(\d+)$/m.exec(status)?.[1])).toBe(h.daemon?.pid);
  });

  it('the service account was never refused (401/403) in the whole run', async () => {
    expect(await h.kube.denials()).toEqual([]);
  });
});
