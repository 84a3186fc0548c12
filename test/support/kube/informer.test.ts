// @kubernetes/client-node's informer (ListWatch) against the emulator, the way multus-ts watches this node's
// pods: list + watch with a spec.nodeName field selector, and recovery from dropped watches and 410s.
import * as k8s from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { kubeConfigFor } from './client-config.ts';
import { type KubeEmulator, startKubeEmulator } from './emulator.ts';
import { testPod, until } from './test-helpers.ts';

let emu: KubeEmulator;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
const informers: k8s.ListWatch<k8s.V1Pod>[] = [];
const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

interface Seen {
  log: string[];
  connects: number;
  errors: unknown[];
  lw: k8s.ListWatch<k8s.V1Pod>;
}

async function nodeInformer(node: string): Promise<Seen> {
  const fieldSelector = `spec.nodeName=${node}`;
  const lw = new k8s.ListWatch<k8s.V1Pod>(
    '/api/v1/pods',
    new k8s.Watch(kc),
    () => core.listPodForAllNamespaces({ fieldSelector }),
    false,
    undefined,
    fieldSelector,
  );
  const seen: Seen = { log: [], connects: 0, errors: [], lw };
  const name = (p: k8s.V1Pod) => `${p.metadata?.namespace}/${p.metadata?.name}`;
  lw.on('add', (p) => seen.log.push(`add ${name(p)}`));
  lw.on('update', (p) =>
    seen.log.push(`update ${name(p)}${p.metadata?.deletionTimestamp ? ' (terminating)' : ''}`),
  );
  lw.on('delete', (p) => seen.log.push(`delete ${name(p)}`));
  lw.on('connect', () => seen.connects++);
  lw.on('error', (e) => seen.errors.push(e));
  informers.push(lw);
  await lw.start();
  return seen;
}

const watching = () => emu.watches.size;

beforeAll(async () => {
  emu = await startKubeEmulator();
  kc = kubeConfigFor(emu);
  core = kc.makeApiClient(k8s.CoreV1Api);
});
afterEach(async () => {
  for (const lw of informers.splice(0)) await lw.stop();
});
afterAll(() => emu.close());

describe('node pod informer', () => {
  it('sees ADDED/MODIFIED/DELETED for this node only, including a pod bound later and graceful deletion', async () => {
    emu.store.seed([testPod('a1', 'node-a'), testPod('b1', 'node-b')]);
    const s = await nodeInformer('node-a');
    expect(s.log).toEqual(['add default/a1']);
    await until(() => watching() === 1, 'the watch');
    await core.createNamespacedPod({ namespace: 'default', body: testPod('b2', 'node-b') });
    await core.createNamespacedPod({ namespace: 'default', body: testPod('a2', 'node-a') });
    await core.patchNamespacedPod(
      { name: 'a2', namespace: 'default', body: { metadata: { annotations: { k: 'v' } } } },
      merge,
    );
    await core.createNamespacedPod({ namespace: 'default', body: testPod('late') });
    const binding = {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: 'late' },
      target: { kind: 'Node', name: 'node-a' },
    };
    await core.createNamespacedBinding({ namespace: 'default', body: binding });
    await core.deleteNamespacedPod({ name: 'a1', namespace: 'default' });
    await core.deleteNamespacedPod({ name: 'a1', namespace: 'default', gracePeriodSeconds: 0 });
    await core.deleteNamespacedPod({ name: 'b1', namespace: 'default', gracePeriodSeconds: 0 });
    await until(() => s.log.length >= 7, `7 events, got ${JSON.stringify(s.log)}`);
    // The second update is the grace-0 mark kube-apiserver 1.20 writes before it deletes a pod.
    expect(s.log).toEqual([
      'add default/a1',
      'add default/a2',
      'update default/a2',
      'add default/late',
      'update default/a1 (terminating)',
      'update default/a1 (terminating)',
      'delete default/a1',
    ]);
    expect(
      s.lw
        .list()
        .map((p) => p.metadata?.name)
        .sort(),
    ).toEqual(['a2', 'late']);
    expect(s.errors).toEqual([]);
  });

  it('resumes after the server ends its watches, from where it was, without relisting', async () => {
    const s = await nodeInformer('node-c');
    await until(() => watching() === 1, 'the watch');
    emu.stats.reset();
    expect(emu.faults.dropWatches()).toBe(1);
    await core.createNamespacedPod({ namespace: 'default', body: testPod('c1', 'node-c') });
    await until(() => s.log.includes('add default/c1'), 'c1 after the drop');
    expect(s.connects).toBe(2);
    expect(emu.stats.count({ verb: 'list' })).toBe(0);
    expect(emu.stats.count({ verb: 'watch', code: 200 })).toBe(1);
    expect(s.errors).toEqual([]);
  });

  it('relists after a 410: once on a watch ERROR event, once after compaction', async () => {
    const s = await nodeInformer('node-d');
    await until(() => watching() === 1, 'the watch');
    emu.stats.reset();
    emu.faults.goneNext(1, { verb: 'watch' });
    emu.faults.dropWatches();
    await until(() => emu.stats.count({ verb: 'list' }) === 1 && watching() === 1, 'a relist after 410');
    await core.createNamespacedPod({ namespace: 'default', body: testPod('d1', 'node-d') });
    await until(() => s.log.includes('add default/d1'), 'd1');
    emu.store.compact();
    emu.faults.dropWatches();
    await core.createNamespacedPod({ namespace: 'default', body: testPod('d2', 'node-d') });
    await until(() => s.log.includes('add default/d2'), 'd2 after compaction');
    expect(emu.stats.count({ verb: 'list' })).toBeGreaterThanOrEqual(1);
    expect(
      s.lw
        .list()
        .map((p) => p.metadata?.name)
        .sort(),
    ).toEqual(['d1', 'd2']);
    expect(s.errors).toEqual([]);
  });

  it('reports an abrupt connection reset as an error (client-node does not retry it) and recovers on start()', async () => {
    const s = await nodeInformer('node-e');
    await until(() => watching() === 1, 'the watch');
    emu.faults.dropWatches({ abrupt: true });
    await until(() => s.errors.length === 1, 'the informer error');
    await core.createNamespacedPod({ namespace: 'default', body: testPod('e1', 'node-e') });
    await s.lw.start();
    await until(() => s.log.includes('add default/e1'), 'e1 after restart');
  });

  it('fails while the API server is down and recovers once it is back on the same port', async () => {
    const s = await nodeInformer('node-f');
    await until(() => watching() === 1, 'the watch');
    await emu.faults.down();
    await until(() => s.errors.length >= 1, 'the informer error');
    await expect(core.listNamespacedPod({ namespace: 'default' })).rejects.toThrow();
    await emu.faults.up();
    await core.createNamespacedPod({ namespace: 'default', body: testPod('f1', 'node-f') });
    await s.lw.start();
    await until(() => s.log.includes('add default/f1'), 'f1 after the server came back');
  });
});
