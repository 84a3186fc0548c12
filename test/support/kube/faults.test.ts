// Each fault kind, switched at run time, and the request counters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeEmulator, startKubeEmulator } from './emulator.ts';
import { openWatch, raw, testPod } from './test-helpers.ts';

let emu: KubeEmulator;

beforeAll(async () => {
  emu = await startKubeEmulator();
  emu.store.seed([testPod('p', 'n1')]);
});
afterAll(() => emu.close());

const get = () => raw(emu, 'GET', '/api/v1/namespaces/default/pods/p');
const list = () => raw(emu, 'GET', '/api/v1/pods');

describe('fault injection', () => {
  it('latency delays only the matching requests', async () => {
    emu.faults.setLatency(1500, { verb: 'get' });
    const order: string[] = [];
    const slow = get().then((r) => order.push(`get ${r.status}`));
    await list().then((r) => order.push(`list ${r.status}`));
    await slow;
    expect(order).toEqual(['list 200', 'get 200']);
    emu.faults.setLatency(0);
    expect(emu.faults.state().latency).toBeNull();
  });

  it('failNext answers the next N matching requests with the status code and a Status body', async () => {
    emu.faults.failNext(2, { code: 503, match: { resource: 'pods' } });
    const [a, b, c] = [await get(), await list(), await get()];
    expect([a.status, b.status, c.status]).toEqual([503, 503, 200]);
    expect(a.json).toMatchObject({
      kind: 'Status',
      reason: 'ServiceUnavailable',
      code: 503,
      details: { retryAfterSeconds: 1 },
    });
    expect(a.headers.get('retry-after')).toBe('1');
    emu.faults.failNext(1);
    const internal = await raw(emu, 'GET', '/api/v1/nodes');
    expect(internal.json).toMatchObject({
      reason: 'InternalError',
      code: 500,
      message: 'Internal error occurred: injected fault',
    });
  });

  it('failRate fails that share of matching requests (1 = all, 0 = off), leaving others alone', async () => {
    emu.faults.failRate(1, { code: 500, match: { verb: 'list' } });
    expect((await list()).status).toBe(500);
    expect((await get()).status).toBe(200);
    emu.faults.failRate(0.5, { seed: 7 });
    const codes = [];
    for (let i = 0; i < 40; i++) codes.push((await get()).status);
    expect(codes).toContain(500);
    expect(codes).toContain(200);
    emu.faults.failRate(0);
    expect((await list()).status).toBe(200);
  });

  it('goneNext answers a list with HTTP 410 and a watch with an ERROR event', async () => {
    emu.faults.goneNext(2);
    expect((await get()).status).toBe(200);
    const l = await list();
    expect(l.status).toBe(410);
    expect(l.json).toMatchObject({
      reason: 'Expired',
      code: 410,
      message: 'The resourceVersion for the provided list is too old.',
    });
    const w = await openWatch(emu, '/api/v1/pods?watch=true&resourceVersion=5');
    expect(w.status).toBe(200);
    expect(await w.next()).toMatchObject({
      type: 'ERROR',
      object: { kind: 'Status', reason: 'Expired', code: 410 },
    });
    expect(await w.ended).toBe('end');
    expect((await list()).status).toBe(200);
  });

  it('dropWatches ends open watches cleanly or resets them', async () => {
    const clean = await openWatch(emu, '/api/v1/pods?watch=true');
    const abrupt = await openWatch(emu, '/api/v1/nodes?watch=true');
    expect((await clean.next())?.type).toBe('ADDED');
    expect(emu.faults.dropWatches({ abrupt: false })).toBe(2);
    expect(await clean.ended).toBe('end');
    abrupt.close();
    const again = await openWatch(emu, '/api/v1/nodes?watch=true');
    expect(emu.faults.dropWatches({ abrupt: true })).toBe(1);
    expect(await again.ended).toBe('error');
  });

  it('a slow watch start holds the watch response while other requests are served', async () => {
    emu.faults.setWatchStartDelay(1500);
    const order: string[] = [];
    const w = openWatch(emu, '/api/v1/pods?watch=true').then((x) => {
      order.push('watch');
      return x;
    });
    await list().then(() => order.push('list'));
    (await w).close();
    expect(order).toEqual(['list', 'watch']);
    emu.faults.setWatchStartDelay(0);
  });

  it('down refuses connections until up, on the same port', async () => {
    const port = emu.port;
    await emu.faults.down();
    expect(emu.faults.isDown).toBe(true);
    await expect(get()).rejects.toThrow();
    await emu.faults.up();
    expect(emu.port).toBe(port);
    expect((await get()).status).toBe(200);
  });

  it('clear turns everything off', async () => {
    emu.faults.setLatency(10);
    emu.faults.failNext(3);
    emu.faults.goneNext(1);
    emu.faults.setWatchStartDelay(10);
    emu.faults.clear();
    expect(emu.faults.state()).toEqual({
      latency: null,
      failNext: [],
      failRate: null,
      goneNext: null,
      watchStartDelayMs: 0,
      down: false,
    });
    expect((await list()).status).toBe(200);
  });
});

describe('stats', () => {
  it('counts requests by verb, resource and code', async () => {
    emu.stats.reset();
    await get();
    await get();
    await raw(emu, 'GET', '/api/v1/namespaces/default/pods/missing');
    await raw(emu, 'PATCH', '/api/v1/namespaces/default/pods/p/status', {
      body: '{}',
      contentType: 'application/merge-patch+json',
    });
    await raw(emu, 'GET', '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions');
    await raw(emu, 'GET', '/api/v1/pods', { token: 'bad' });
    const s = emu.stats.snapshot();
    expect(s.total).toBe(6);
    expect(s.byVerbResource).toEqual({
      'get pods': 3,
      'patch pods/status': 1,
      'list network-attachment-definitions.k8s.cni.cncf.io': 1,
      'list pods': 1,
    });
    expect(s.byCode).toEqual({ '200': 4, '404': 1, '401': 1 });
    expect(emu.stats.count({ verb: 'get', code: 200 })).toBe(2);
    expect(emu.stats.count({ verb: ['get', 'patch'] })).toBe(4);
  });
});
