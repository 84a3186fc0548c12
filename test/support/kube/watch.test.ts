// The watch protocol on the wire: framing, initial state, replay from a resourceVersion, selector transitions,
// 410 for a too-old resourceVersion, bookmarks and timeoutSeconds.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type KubeEmulator, startKubeEmulator } from './emulator.ts';
import { eventsV1, pods } from './resources.ts';
import { openWatch, type RawWatch, testPod } from './test-helpers.ts';
import type { KubeObject } from './types.ts';

let emu: KubeEmulator;
const open: RawWatch[] = [];
async function watch(path: string): Promise<RawWatch> {
  const w = await openWatch(emu, path);
  open.push(w);
  return w;
}
const names = (evs: Array<{ type: string; object: KubeObject } | undefined>) =>
  evs.map((e) => `${e?.type} ${e?.object.metadata.name}`);

beforeAll(async () => {
  emu = await startKubeEmulator({ bookmarkIntervalMs: 50, historyLimit: 50 });
});
afterEach(() => {
  for (const w of open.splice(0)) w.close();
});
afterAll(() => emu.close());

describe('watch', () => {
  it('starts with the current state as ADDED when no resourceVersion is given, then streams changes', async () => {
    emu.store.create(pods, 'default', testPod('w1', 'n1'));
    const w = await watch('/api/v1/namespaces/default/pods?watch=true');
    expect(w.status).toBe(200);
    expect(w.contentType).toBe('application/json');
    const first = await w.next();
    expect(first).toMatchObject({
      type: 'ADDED',
      object: { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'w1' } },
    });
    emu.store.update(pods, 'default', 'w1', (c) => ({
      ...(c as KubeObject),
      metadata: { ...c?.metadata, labels: { x: '1' } },
    }));
    emu.store.delete(pods, 'default', 'w1', { gracePeriodSeconds: 0 });
    // As on kube-apiserver 1.20, a pod is marked (deletionTimestamp, grace 0) before it is deleted.
    const [mod, marked, del] = [await w.next(), await w.next(), await w.next()];
    expect(names([mod, marked, del])).toEqual(['MODIFIED w1', 'MODIFIED w1', 'DELETED w1']);
    expect(marked?.object.metadata).toMatchObject({ deletionGracePeriodSeconds: 0 });
    expect(del?.object.metadata).toMatchObject({ deletionGracePeriodSeconds: 0 });
    expect(Number(del?.object.metadata.resourceVersion)).toBe(emu.store.resourceVersion);
  });

  it('replays from a resourceVersion and follows a field selector across transitions', async () => {
    const from = emu.store.resourceVersion;
    emu.store.create(pods, 'default', testPod('other', 'n2'));
    emu.store.create(pods, 'default', testPod('mine', 'n1'));
    emu.store.create(pods, 'default', testPod('later'));
    const w = await watch(`/api/v1/pods?watch=1&fieldSelector=spec.nodeName%3Dn1&resourceVersion=${from}`);
    expect(names([await w.next()])).toEqual(['ADDED mine']);
    emu.store.update(
      pods,
      'default',
      'later',
      (c) => ({ ...(c as KubeObject), spec: { ...(c?.spec as object), nodeName: 'n1' } }),
      {
        subresource: 'binding',
      },
    );
    emu.store.update(pods, 'default', 'other', (c) => ({
      ...(c as KubeObject),
      metadata: { ...c?.metadata, labels: { a: 'b' } },
    }));
    emu.store.delete(pods, 'default', 'mine', { gracePeriodSeconds: 0 });
    expect(names([await w.next(), await w.next(), await w.next()])).toEqual([
      'ADDED later',
      'MODIFIED mine',
      'DELETED mine',
    ]);
  });

  it('sends DELETED when an object stops matching a label selector', async () => {
    emu.store.create(pods, 'default', { ...testPod('lbl'), metadata: { name: 'lbl', labels: { app: 'x' } } });
    const w = await watch(
      `/api/v1/namespaces/default/pods?watch=true&labelSelector=app%3Dx&resourceVersion=${emu.store.resourceVersion}`,
    );
    emu.store.update(pods, 'default', 'lbl', (c) => ({
      ...(c as KubeObject),
      metadata: { ...c?.metadata, labels: { app: 'y' } },
    }));
    const ev = await w.next();
    expect(ev).toMatchObject({
      type: 'DELETED',
      object: { metadata: { name: 'lbl', labels: { app: 'y' } } },
    });
  });

  it('answers a too-old resourceVersion with 200 and one ERROR event carrying 410 Expired, then ends', async () => {
    emu.store.compact();
    const w = await watch('/api/v1/pods?watch=true&resourceVersion=2');
    expect(w.status).toBe(200);
    const ev = await w.next();
    expect(ev).toEqual({
      type: 'ERROR',
      object: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `too old resource version: 2 (${emu.store.floorOf(pods.storage)})`,
        reason: 'Expired',
        code: 410,
      },
    });
    expect(await w.ended).toBe('end');
  });

  it('sends BOOKMARKs only with allowWatchBookmarks, and only once there is progress past the start', async () => {
    const start = emu.store.resourceVersion;
    const withBm = await watch(`/api/v1/pods?watch=true&allowWatchBookmarks=true&resourceVersion=${start}`);
    const without = await watch(`/api/v1/pods?watch=true&resourceVersion=${start}`);
    emu.watches.bookmarkNow();
    emu.store.create(pods, 'default', testPod('bm'));
    expect((await withBm.next())?.type).toBe('ADDED');
    const bm = await withBm.next();
    expect(bm).toEqual({
      type: 'BOOKMARK',
      object: {
        kind: 'Pod',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(emu.store.resourceVersion), creationTimestamp: null },
        spec: { containers: null },
        status: {},
      },
    });
    emu.store.create(pods, 'default', testPod('bm2'));
    expect(names([await without.next(), await without.next()])).toEqual(['ADDED bm', 'ADDED bm2']);
  });

  it('ends the stream cleanly after timeoutSeconds', async () => {
    const w = await watch('/api/v1/nodes?watch=true&timeoutSeconds=1');
    expect(await w.ended).toBe('end');
    expect(emu.watches.size).toBe(open.length - 1);
  });

  it('converts events.k8s.io watches and keeps kind/apiVersion on custom resources', async () => {
    const ev = await watch(
      `/apis/events.k8s.io/v1/namespaces/default/events?watch=true&resourceVersion=${emu.store.resourceVersion}`,
    );
    const nad = await watch(
      `/apis/k8s.cni.cncf.io/v1/network-attachment-definitions?watch=true&resourceVersion=${emu.store.resourceVersion}`,
    );
    emu.store.create(eventsV1, 'default', {
      metadata: { name: 'e' },
      eventTime: '2024-01-01T00:00:00.000000Z',
      reportingController: 'multus',
      reportingInstance: 'n1',
      action: 'Add',
      reason: 'AddedInterface',
      type: 'Normal',
      note: 'hello',
      regarding: { kind: 'Pod', namespace: 'default', name: 'p' },
    });
    emu.store.seed([
      {
        apiVersion: 'k8s.cni.cncf.io/v1',
        kind: 'NetworkAttachmentDefinition',
        metadata: { name: 'n' },
        spec: { config: '{}' },
      },
    ]);
    expect(await ev.next()).toMatchObject({
      type: 'ADDED',
      object: { apiVersion: 'events.k8s.io/v1', note: 'hello', regarding: { name: 'p' } },
    });
    expect(await nad.next()).toMatchObject({
      type: 'ADDED',
      object: { kind: 'NetworkAttachmentDefinition', apiVersion: 'k8s.cni.cncf.io/v1' },
    });
  });

  it('serves the legacy /watch/ path prefix', async () => {
    const w = await watch('/api/v1/watch/namespaces/kube-system/pods');
    emu.store.create(pods, 'kube-system', testPod('legacy'));
    expect(names([await w.next()])).toEqual(['ADDED legacy']);
  });
});
