// With hot-plug off (the default): an annotation edit changes nothing. And the /delegate API external controllers
// use, made idempotent and recorded: its attachments are in the delegate cache (so the pod's DEL removes them) and
// in network-status. Real daemon, shim, plugins and namespaces.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NodeHarness, type SandboxRef } from '../../support/daemon-harness.ts';
import { TestScope } from '../../support/netns.ts';
import {
  addressesOf,
  leases,
  macvlan,
  podEvents,
  podLinks,
  post,
  setNetworks,
  statusPairs,
} from './support.ts';

let h: NodeHarness;
const live: SandboxRef[] = [];
const CLEAN = { links: [], leases: [], cache: [] };

beforeAll(async () => {
  h = await NodeHarness.start({ cniVersion: '1.0.0' });
  await h.createNad('default', 'blue', macvlan(h, 'blue', '10.62.1.0/24'));
});
afterEach(async () => {
  for (const sb of live.splice(0)) await h.shim('DEL', sb);
});
afterAll(async () => {
  await h?.stop();
  await TestScope.cleanupAll();
});

async function runningPod(name: string): Promise<SandboxRef> {
  const sb = await h.createPod({ name });
  live.push(sb);
  const add = await h.shim('ADD', sb);
  expect(add.code, add.stdout + h.daemonLog.slice(-3000)).toBe(0);
  await h.networkStatus(sb.namespace, sb.name); // ADD's own status write, which follows its reply, is done
  return sb;
}

async function runtimeDel(sb: SandboxRef): Promise<void> {
  live.splice(live.indexOf(sb), 1);
  expect((await h.shim('DEL', sb)).code).toBe(0);
  expect(await podLinks(sb)).toEqual(['lo']);
  expect(await h.leftovers()).toEqual(CLEAN);
  expect(await leases(h)).toEqual([]);
}

const extra = () => macvlan(h, 'extra', '10.62.9.0/24');

function delegateCall(
  sb: SandboxRef,
  command: 'ADD' | 'DEL',
  opts: { ifName?: string | null; containerId?: string; config?: object } = {},
) {
  const env: Record<string, string> = {
    CNI_COMMAND: command,
    CNI_CONTAINERID: opts.containerId ?? sb.containerId,
    CNI_NETNS: sb.netns,
    CNI_ARGS: `K8S_POD_NAMESPACE=${sb.namespace};K8S_POD_NAME=${sb.name};K8S_POD_UID=${sb.uid}`,
  };
  if (opts.ifName !== null) env['CNI_IFNAME'] = opts.ifName ?? 'net5';
  const config = Buffer.from(JSON.stringify(opts.config ?? extra())).toString('base64');
  return post(h, '/delegate', { env, config });
}

async function cachedNames(containerId: string): Promise<string[]> {
  const text = await readFile(join(h.cniDir, containerId), 'utf8');
  return (JSON.parse(text) as { Name: string; multusTs: { ifName: string } }[]).map(
    (e) => `${e.Name}@${e.multusTs.ifName}`,
  );
}

describe('hot-plug off (the default)', () => {
  it('an edit of a running pod’s networks annotation changes nothing', async () => {
    const sb = await runningPod('off-pod');
    await setNetworks(h, sb, 'blue');
    await new Promise((r) => setTimeout(r, 2500));
    expect(await podLinks(sb)).toEqual(['eth0', 'lo']);
    expect(await statusPairs(h, sb)).toEqual(['cbr0@eth0']);
    expect((await podEvents(h, sb)).map((e) => e.reason)).toEqual(['AddedInterface']);
    expect(h.daemonLog).not.toMatch(/hot-plug is on/);
    await runtimeDel(sb);
  });
});

describe('/delegate (external hot-plug controllers)', () => {
  it('records the attachment: network-status, the delegate cache, and the pod’s DEL removes it', async () => {
    const sb = await runningPod('dlg-record');
    const add = await delegateCall(sb, 'ADD');
    expect(add.status, JSON.stringify(add.json)).toBe(200);
    const result = (add.json as { Result: { interfaces: { name: string }[]; ips: { address: string }[] } })
      .Result;
    expect(result.interfaces.map((i) => i.name)).toContain('net5');
    const ip = result.ips[0]!.address;
    expect(await addressesOf(sb, 'net5')).toEqual([ip]);
    expect(await statusPairs(h, sb)).toEqual(['cbr0@eth0', 'extra@net5']);
    expect(await cachedNames(sb.containerId)).toEqual(['cbr0@eth0', 'extra@net5']);
    // Upstream leaks this interface's address when the pod goes: here the runtime's DEL finds it in the cache.
    await runtimeDel(sb);
  });

  it('ADD is idempotent: the same network + interface returns the cached result, nothing is added twice', async () => {
    const sb = await runningPod('dlg-idem');
    const first = await delegateCall(sb, 'ADD');
    const again = await delegateCall(sb, 'ADD');
    expect(again.status).toBe(200);
    expect(again.json).toEqual(first.json);
    expect((await leases(h)).filter((l) => l.startsWith('extra/'))).toHaveLength(1);
    expect((await podEvents(h, sb)).filter((e) => /from extra$/.test(e.message))).toHaveLength(1);
    // Another network on a name in use is refused (upstream's ifname-exists check), and the cluster network's too.
    const clash = await delegateCall(sb, 'ADD', { config: { ...extra(), name: 'other' } });
    expect(clash.status).toBe(400);
    expect(clash.json).toMatchObject({ code: 7, msg: expect.stringContaining('already exists') });
    const eth0 = await delegateCall(sb, 'ADD', { ifName: 'eth0' });
    expect(eth0.status).toBe(400);
    await runtimeDel(sb);
  });

  it('DEL removes it and updates network-status; DEL of an absent attachment succeeds', async () => {
    const sb = await runningPod('dlg-del');
    expect((await delegateCall(sb, 'ADD')).status).toBe(200);
    const del = await delegateCall(sb, 'DEL');
    expect(del.status, JSON.stringify(del.json)).toBe(200);
    expect(await podLinks(sb)).toEqual(['eth0', 'lo']);
    expect(await statusPairs(h, sb)).toEqual(['cbr0@eth0']);
    expect(await cachedNames(sb.containerId)).toEqual(['cbr0@eth0']);
    expect((await delegateCall(sb, 'DEL')).status).toBe(200);
    expect((await delegateCall(sb, 'DEL', { ifName: 'net7' })).status).toBe(200);
    // DEL naming the cluster network's interface for another network leaves eth0 alone.
    expect((await delegateCall(sb, 'DEL', { ifName: 'eth0' })).status).toBe(200);
    expect(await podLinks(sb)).toEqual(['eth0', 'lo']);
    await runtimeDel(sb);
  });

  it('finds the sandbox by pod and netns when the caller sends another container ID (#209)', async () => {
    const sb = await runningPod('dlg-209');
    const add = await delegateCall(sb, 'ADD', { containerId: 'application-container-1' });
    expect(add.status, JSON.stringify(add.json)).toBe(200);
    expect(await cachedNames(sb.containerId)).toEqual(['cbr0@eth0', 'extra@net5']);
    expect((await h.leftovers()).cache).toEqual([sb.containerId]);
    await runtimeDel(sb);
  });

  it('without CNI_IFNAME the interface is named for the caller, and DEL finds it by network (#63)', async () => {
    const sb = await runningPod('dlg-63');
    const add = await delegateCall(sb, 'ADD', { ifName: null });
    expect(add.status, JSON.stringify(add.json)).toBe(200);
    expect(await podLinks(sb)).toEqual(['eth0', 'lo', 'net1']);
    expect(await statusPairs(h, sb)).toEqual(['cbr0@eth0', 'extra@net1']);
    expect((await delegateCall(sb, 'DEL', { ifName: null })).status).toBe(200);
    expect(await podLinks(sb)).toEqual(['eth0', 'lo']);
    await runtimeDel(sb);
  });

  it('bad input is refused with a CNI error and changes nothing', async () => {
    const sb = await runningPod('dlg-bad');
    const env = {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: sb.containerId,
      CNI_NETNS: sb.netns,
      CNI_IFNAME: 'net5',
      CNI_ARGS: `K8S_POD_NAMESPACE=${sb.namespace};K8S_POD_NAME=${sb.name}`,
    };
    const notBase64 = await post(h, '/delegate', { env, config: '%%%' });
    expect(notBase64).toMatchObject({ status: 400, json: { code: 6 } });
    const notJson = await post(h, '/delegate', { env, config: Buffer.from('{"type":').toString('base64') });
    expect(notJson).toMatchObject({ status: 400, json: { code: 6 } });
    const pathType = await post(h, '/delegate', {
      env,
      config: Buffer.from(JSON.stringify({ ...extra(), type: '../macvlan' })).toString('base64'),
    });
    expect(pathType).toMatchObject({
      status: 400,
      json: { code: 7, msg: expect.stringContaining('invalid plugin type') },
    });
    const noPod = await post(h, '/delegate', {
      env: { ...env, CNI_ARGS: 'K8S_POD_NAMESPACE=default' },
      config: '',
    });
    expect(noPod).toMatchObject({
      status: 400,
      json: { code: 4, msg: expect.stringContaining('K8S_POD_NAME') },
    });
    expect(await podLinks(sb)).toEqual(['eth0', 'lo']);
    expect(await cachedNames(sb.containerId)).toEqual(['cbr0@eth0']);
    await runtimeDel(sb);
  });
});
