// The Kubernetes API server misbehaving under a running daemon: down, slow (2 s per request), answering 500s,
// dropping watches, answering 410 Gone. ADD of a pod the daemon has cached succeeds from its caches (the failed
// network-status PATCH is only logged); ADD of a pod it cannot see fails with code 11; DEL always succeeds; and
// once the fault is gone the informers recover by themselves: a NAD and a pod created after recovery work
// without restarting the daemon, and the pod comes from the informer (no live GET).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NODE_NAME, NodeHarness, type SandboxRef } from '../../support/daemon-harness.ts';
import { listLinks, netnsPath, TestScope, uniqueName } from '../../support/netns.ts';
import {
  expectDaemonAlive,
  expectNetnsGone,
  expectNoLeaks,
  NETWORKS,
  shimCode,
  waitUntil,
} from './support.ts';

let h: NodeHarness;
const made: SandboxRef[] = [];
const all: SandboxRef[] = [];
let lateCounter = 0;

beforeAll(async () => {
  h = await NodeHarness.start({ cniVersion: '1.0.0' });
  await h.createNad('default', 'mv', macvlan('mv', '10.31.0.0/24'));
});
afterEach(async () => {
  h.emulator.faults.clear();
  await h.emulator.faults.up();
  for (const sb of made.splice(0)) await h.shim('DEL', sb);
});
afterAll(async () => {
  await h?.stop();
  await TestScope.cleanupAll();
  expectNetnsGone(all);
});

function macvlan(net: string, subnet: string): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    type: 'macvlan',
    master: 'eth0',
    mode: 'bridge',
    ipam: h.hostLocal(net, { subnet }),
  };
}

/** A pod created through the API while it is healthy, then given time to reach the daemon's informer. */
async function cachedPod(name: string): Promise<SandboxRef> {
  const sb = await h.createPod({ name, annotations: { [NETWORKS]: 'mv' } });
  made.push(sb);
  all.push(sb);
  await new Promise((r) => setTimeout(r, 300));
  return sb;
}

/** A pod written straight into the emulator's storage while the API is faulty: the daemon cannot have seen it. */
async function unseenPod(name: string): Promise<SandboxRef> {
  const [pod] = h.emulator.store.seed([
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', annotations: { [NETWORKS]: 'mv' } },
      spec: { nodeName: NODE_NAME, containers: [{ name: 'app', image: 'busybox' }] },
    },
  ]);
  const netnsName = await h.scope.netns('mts-pod');
  const sb: SandboxRef = {
    containerId: uniqueName('unseen', 60).replace(/-/g, ''),
    netns: netnsPath(netnsName),
    netnsName,
    namespace: 'default',
    name,
    uid: String(pod?.metadata?.uid ?? ''),
  };
  made.push(sb);
  all.push(sb);
  return sb;
}

async function expectAttached(sb: SandboxRef): Promise<void> {
  expect((await listLinks(sb.netnsName)).map((l) => l.ifname).sort()).toEqual(['eth0', 'lo', 'net1']);
}

async function expectDelOk(sb: SandboxRef): Promise<void> {
  const out = await h.shim('DEL', sb);
  expect(shimCode(out), `DEL ${sb.name}: ${out.stdout}\n${h.daemonLog.slice(-2000)}`).toBe(0);
  expect((await listLinks(sb.netnsName)).map((l) => l.ifname)).toEqual(['lo']);
  made.splice(made.indexOf(sb), 1);
}

/**
 * After the fault: wait until both informers watch again, then a NAD and a pod that did not exist before must
 * work, the pod found in the informer cache (no GET of pods during the ADD).
 */
async function expectInformersRecovered(lists?: 'relisted' | 'resumed'): Promise<void> {
  await waitUntil('the daemon to watch pods and NADs again', () => h.emulator.watches.size >= 2, 20_000);
  const listed = ['pods', 'network-attachment-definitions.k8s.cni.cncf.io'].map((resource) =>
    h.emulator.stats.count({ verb: 'list', resource, code: 200 }),
  );
  if (lists === 'relisted') expect(listed, 'pods and NADs listed again').toEqual([1, 1]);
  if (lists === 'resumed') expect(listed, 'watches resumed without a relist').toEqual([0, 0]);
  lateCounter++;
  const nad = `late${lateCounter}`;
  await h.createNad('default', nad, macvlan(nad, `10.32.${lateCounter}.0/24`));
  const sb = await h.createPod({ name: `late-pod-${lateCounter}`, annotations: { [NETWORKS]: nad } });
  made.push(sb);
  all.push(sb);
  await new Promise((r) => setTimeout(r, 300));
  h.emulator.stats.reset();
  const out = await h.shim('ADD', sb);
  expect(shimCode(out), `ADD after recovery: ${out.stdout}\n${h.daemonLog.slice(-3000)}`).toBe(0);
  expect(h.emulator.stats.count({ verb: 'get', resource: 'pods' }), 'the pod came from a live GET').toBe(0);
  await expectAttached(sb);
  await expectDelOk(sb);
  await expectNoLeaks(h);
  expectDaemonAlive(h);
}

describe('API server down', () => {
  it('ADD works from the caches or fails with 11, DEL succeeds, informers come back by themselves', async () => {
    const cached = await cachedPod('down-cached');
    await h.emulator.faults.down();
    const unseen = await unseenPod('down-unseen');

    const add = await h.shim('ADD', cached);
    expect(shimCode(add), add.stdout + h.daemonLog.slice(-2000)).toBe(0);
    await expectAttached(cached);
    const refused = await h.shim('ADD', unseen);
    expect(refused.json, refused.stdout).toMatchObject({ code: 11 });
    expect((await listLinks(unseen.netnsName)).map((l) => l.ifname)).toEqual(['lo']);

    await expectDelOk(cached);
    await expectDelOk(unseen);
    await h.emulator.faults.up();
    await expectInformersRecovered();
  });
});

describe('API server slow (2 s per request)', () => {
  it('ADD and DEL still succeed, also for a pod created during the slowness', async () => {
    const cached = await cachedPod('slow-cached');
    h.emulator.faults.setLatency(2000);
    const t0 = Date.now();
    const add = await h.shim('ADD', cached);
    expect(shimCode(add), add.stdout + h.daemonLog.slice(-2000)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    await expectAttached(cached);
    const fresh = await h.createPod({ name: 'slow-fresh', annotations: { [NETWORKS]: 'mv' } });
    made.push(fresh);
    all.push(fresh);
    const addFresh = await h.shim('ADD', fresh);
    expect(shimCode(addFresh), addFresh.stdout + h.daemonLog.slice(-2000)).toBe(0);
    await expectDelOk(cached);
    await expectDelOk(fresh);
    h.emulator.faults.clear();
    await expectInformersRecovered();
  }, 90_000);
});

describe('network-status is written after the reply', () => {
  const STATUS = 'k8s.v1.cni.cncf.io/network-status';

  it('a slow status PATCH does not hold up ADD; a DEL right after waits for it to land', async () => {
    const sb = await cachedPod('status-slow');
    h.emulator.faults.setLatency(3000, { verb: 'patch', resource: 'pods/status' });
    const t0 = Date.now();
    const add = await h.shim('ADD', sb);
    const addMs = Date.now() - t0;
    expect(shimCode(add), add.stdout + h.daemonLog.slice(-2000)).toBe(0);
    expect(addMs).toBeLessThan(3000); // the runtime had its answer before the PATCH was answered
    expect((await h.podAnnotations('default', sb.name))[STATUS]).toBeUndefined();
    // The container's next operation is ordered after the write: the annotation is there when DEL starts work.
    const del = await h.shim('DEL', sb);
    expect(shimCode(del), del.stdout).toBe(0);
    made.splice(made.indexOf(sb), 1);
    const status = JSON.parse((await h.podAnnotations('default', sb.name))[STATUS] ?? '[]') as {
      name: string;
    }[];
    expect(status.map((s) => s.name)).toEqual(['cbr0', 'default/mv']);
  });

  it('a status PATCH that fails with 500 is retried, and the annotation lands', async () => {
    const sb = await cachedPod('status-retry');
    h.emulator.stats.reset();
    h.emulator.faults.failNext(2, { code: 500, match: { verb: 'patch', resource: 'pods/status' } });
    const add = await h.shim('ADD', sb);
    expect(shimCode(add), add.stdout + h.daemonLog.slice(-2000)).toBe(0);
    await waitUntil('network-status after two failed PATCHes', async () => {
      return (await h.podAnnotations('default', sb.name))[STATUS] !== undefined;
    });
    expect(h.emulator.stats.snapshot().byVerbResource['patch pods/status']).toBe(3);
  });
});

describe('API server answering 500', () => {
  it('cached pods still get their networks, unseen ones code 11, DEL succeeds, informers recover', async () => {
    const cached = await cachedPod('e500-cached');
    h.emulator.faults.failRate(1, { code: 500 });
    // The informers lose their watches while every list fails: they must retry on their own.
    h.emulator.faults.dropWatches({ abrupt: true });
    const unseen = await unseenPod('e500-unseen');

    const add = await h.shim('ADD', cached);
    expect(shimCode(add), add.stdout + h.daemonLog.slice(-2000)).toBe(0);
    await expectAttached(cached);
    const refused = await h.shim('ADD', unseen);
    expect(refused.json, refused.stdout).toMatchObject({ code: 11 });

    await expectDelOk(cached);
    await expectDelOk(unseen);
    h.emulator.faults.clear();
    await expectInformersRecovered();
  });
});

describe('watches dropped', () => {
  it('a clean end of every watch: the informers resume and see what was created after', async () => {
    h.emulator.stats.reset();
    expect(h.emulator.faults.dropWatches()).toBeGreaterThanOrEqual(2);
    await expectInformersRecovered('resumed');
  });

  it('reset connections: the informers restart and see what was created after', async () => {
    expect(h.emulator.faults.dropWatches({ abrupt: true })).toBeGreaterThanOrEqual(2);
    await expectInformersRecovered();
  });
});

describe('410 Gone', () => {
  it('expired lists and watches: the informers relist and recover', async () => {
    const cached = await cachedPod('gone-cached');
    h.emulator.stats.reset();
    h.emulator.faults.goneNext(2, { verb: 'watch' });
    h.emulator.faults.dropWatches();
    const add = await h.shim('ADD', cached);
    expect(shimCode(add), add.stdout + h.daemonLog.slice(-2000)).toBe(0);
    await expectDelOk(cached);
    await expectInformersRecovered('relisted');
    expect(h.emulator.faults.state().goneNext).toBeNull();
  });

  it('a compacted history (watch resumes from a resourceVersion that is gone): relist, recover', async () => {
    // A write in another storage first, so both informers' last resourceVersions fall below the new floor.
    await h.core.createNamespace({ body: { metadata: { name: uniqueName('compact', 40) } } });
    h.emulator.store.compact();
    h.emulator.stats.reset();
    h.emulator.faults.dropWatches();
    await expectInformersRecovered('relisted');
  });
});
