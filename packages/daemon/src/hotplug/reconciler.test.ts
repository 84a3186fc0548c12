// The reconciler's scheduling, with the pass itself replaced: which pods get a pass and when (start, annotation
// changes, ADDs, retries), that a retry backs off, and that a repeated Warning is recorded once.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RequestContext } from '../engine/context.ts';
import type { PodInfo } from '../kube/pods.ts';
import { DelegateCache } from '../store/delegate-cache.ts';
import type { PassOutcome } from './reconcile.ts';
import { backoffDelay, HotplugReconciler } from './reconciler.ts';

const NETS = 'k8s.v1.cni.cncf.io/networks';
const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

function pod(name: string, networks?: string, uid = `uid-${name}`): PodInfo {
  return {
    namespace: 'default',
    name,
    uid,
    nodeName: 'n',
    resourceVersion: '1',
    annotations: networks === undefined ? {} : { [NETS]: networks },
    deleting: false,
  };
}

const done = (extra: Partial<PassOutcome> = {}): PassOutcome => ({
  state: 'done',
  events: [],
  retry: false,
  statusPending: false,
  ...extra,
});

/**
 * Lets real I/O and promise chains run (fake timers leave setImmediate and the clock alone). Bounded by wall time,
 * not by a count of turns: on a loaded machine a file read can take many turns of the event loop.
 */
async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond() && performance.now() < deadline) await new Promise((r) => setImmediate(r));
  expect(cond()).toBe(true);
}

let dir: string;
let pods: Map<string, PodInfo>;
let calls: { containerId: string; pod: string; checkStatus: boolean }[];
let outcomes: PassOutcome[];
let events: { reason: string; message: string }[];

function reconciler(): HotplugReconciler {
  return new HotplugReconciler({
    engine: {
      serialised: (_id, fn) => fn(),
      contextFor: (call) => ({ call }) as unknown as RequestContext,
    },
    pod: (ns, name) => pods.get(`${ns}/${name}`),
    synced: async () => {},
    multusConf: async () => Buffer.from('{}'),
    events: { record: (_p, ev) => events.push({ reason: ev.reason, message: ev.message }) },
    logger: silent,
    cniDir: dir,
    retryBaseMs: 1000,
    retryMaxMs: 4000,
    reconcile: async (ctx, p, checkStatus) => {
      calls.push({ containerId: ctx.call.containerId, pod: p.name, checkStatus });
      return outcomes.shift() ?? done();
    },
  });
}

async function sandbox(containerId: string, p: PodInfo): Promise<void> {
  await new DelegateCache(dir).save({
    containerId,
    netns: `/run/netns/${containerId}`,
    pod: { namespace: p.namespace, name: p.name, uid: p.uid },
    // The pod and netns ride on the delegates: an entry always has the cluster network's.
    delegates: [
      {
        name: 'cbr0',
        networkName: 'cbr0',
        ifName: 'eth0',
        master: true,
        kind: 'conf',
        configBytes: Buffer.from('{"cniVersion":"1.0.0","name":"cbr0","type":"bridge"}'),
        cniArgs: [],
        capabilityArgs: {},
        filterV4Gateway: false,
        filterV6Gateway: false,
      },
    ],
  });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mts-hotplug-'));
  pods = new Map();
  calls = [];
  outcomes = [];
  events = [];
});
afterEach(async () => {
  vi.useRealTimers();
  await rm(dir, { recursive: true, force: true });
});

describe('HotplugReconciler', () => {
  it('at start, reconciles every pod with a sandbox in the delegate cache, comparing network-status', async () => {
    const a = pod('a', 'blue');
    pods.set('default/a', a).set('default/b', pod('b', 'blue'));
    await sandbox('c1', a);
    const r = reconciler();
    await r.start();
    await until(() => calls.length === 1);
    expect(calls).toEqual([{ containerId: 'c1', pod: 'a', checkStatus: true }]);
    await r.stop();
  });

  it('acts on a changed networks annotation only, and only for pods it holds a sandbox of', async () => {
    const a = pod('a', 'blue');
    pods.set('default/a', a);
    await sandbox('c1', a);
    const r = reconciler();
    await r.start();
    await until(() => calls.length === 1);
    r.podChanged('default/a', { ...a, resourceVersion: '2' });
    r.podChanged('default/b', pod('b', 'green'));
    await new Promise((res) => setTimeout(res, 20));
    expect(calls).toHaveLength(1);
    const edited = pod('a', 'blue,green');
    pods.set('default/a', edited);
    r.podChanged('default/a', edited);
    await until(() => calls.length === 2);
    expect(calls[1]).toEqual({ containerId: 'c1', pod: 'a', checkStatus: false });
    await r.stop();
  });

  it('an ADD makes it look at once; a sandbox that is gone is forgotten', async () => {
    const a = pod('a');
    pods.set('default/a', a);
    const r = reconciler();
    await r.start();
    outcomes.push({ ...done(), state: 'gone' });
    r.sandboxAdded('c9', 'default', 'a');
    await until(() => calls.length === 1);
    const edited = pod('a', 'blue');
    r.podChanged('default/a', edited);
    await new Promise((res) => setTimeout(res, 20));
    expect(calls).toHaveLength(1);
    await r.stop();
  });

  it('retries with backoff after a failure, and records a repeated Warning once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const a = pod('a', 'blue');
    pods.set('default/a', a);
    await sandbox('c1', a);
    const warning = {
      type: 'Warning' as const,
      reason: 'HotplugFailed',
      message: 'Add net1 from default/blue: boom',
    };
    outcomes.push(done({ retry: true, events: [warning] }), done({ retry: true, events: [warning] }));
    const r = reconciler();
    await r.start();
    await until(() => calls.length === 1);
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await until(() => calls.length === 2);
    // The second retry waits twice as long.
    await vi.advanceTimersByTimeAsync(1999);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    await until(() => calls.length === 3);
    expect(events).toEqual([{ reason: 'HotplugFailed', message: warning.message }]);
    // Succeeded: no more passes.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(3);
    await r.stop();
  });

  it('a deleted pod stops its retries', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const a = pod('a', 'blue');
    pods.set('default/a', a);
    await sandbox('c1', a);
    outcomes.push(done({ retry: true }));
    const r = reconciler();
    await r.start();
    await until(() => calls.length === 1);
    pods.delete('default/a');
    r.podChanged('default/a', undefined);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(1);
    await r.stop();
  });

  it('backoffDelay doubles from the base up to the cap', () => {
    expect([1, 2, 3, 4, 5, 40].map((n) => backoffDelay(n, 1000, 60_000))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 60_000,
    ]);
  });
});
