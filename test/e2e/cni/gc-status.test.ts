// GC and STATUS. Debian's plugins (1.1.1) speak CNI up to 1.0.0, so with them GC and STATUS must not be forwarded
// (only libcni's synthesized DEL of stale cached attachments runs); the 1.1.0 behaviour is proven with recording
// fake plugins: forwarding to every plugin, the valid list under both keys, errors collected and returned together.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CniErrorList, type GcAttachment } from '@multus-ts/cni';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findLink, netnsPath, TestScope } from '../../support/netns.ts';
import { type CniTestEnv, cniTestEnv, conflist, rejected } from './setup.ts';

afterAll(() => TestScope.cleanupAll());

const cacheFile = (env: CniTestEnv, net: string, cid: string, ifName = 'eth0') =>
  join(env.cacheDir, 'results', `${net}-${cid}-${ifName}`);

describe('GC and STATUS below 1.1.0 with the real plugins', () => {
  let env: CniTestEnv;
  beforeEach(async () => {
    env = await cniTestEnv({ recorder: 'recorder' });
  });
  afterEach(async () => {
    await env.scope.cleanup();
  });

  const list = (env: CniTestEnv, extra: Record<string, unknown> = {}) =>
    conflist({
      cniVersion: '1.0.0',
      name: 'gc-net',
      ...extra,
      plugins: [
        {
          type: 'bridge',
          bridge: 'mt-br2',
          ipam: { type: 'host-local', dataDir: env.dataDir, ranges: [[{ subnet: '10.92.0.0/24' }]] },
        },
        { type: 'recorder' },
      ],
    });

  it('STATUS is skipped: no plugin is called', async () => {
    expect(await env.runtime().statusNetworkList(list(env))).toEqual({ skipped: 'version' });
    expect(env.calls()).toEqual([]);
  });

  it('GC is not forwarded, but stale cached attachments get a DEL; the valid one is untouched', async () => {
    const runtime = env.runtime();
    const pod2 = await env.scope.netns('pod');
    const keep = { containerId: 'keep', netns: env.podPath, ifName: 'eth0' };
    const stale = {
      containerId: 'stale',
      netns: netnsPath(pod2),
      ifName: 'eth0',
      args: [
        ['IgnoreUnknown', '1'],
        ['K8S_POD_NAME', 'old'],
      ] as [string, string][],
    };
    await runtime.addNetworkList(list(env), keep);
    const staleResult = await runtime.addNetworkList(list(env), stale);

    const outcome = await runtime.gcNetworkList(list(env), [{ containerID: 'keep', ifname: 'eth0' }]);
    expect(outcome).toEqual({
      skipped: 'version',
      deleted: [{ containerID: 'stale', ifname: 'eth0' }],
      collected: [],
    });

    const calls = env.calls().filter((c) => c.command !== 'ADD');
    expect(calls.map((c) => [c.command, c.env['CNI_CONTAINERID']])).toEqual([['DEL', 'stale']]);
    expect(calls[0]!.env['CNI_NETNS']).toBe(netnsPath(pod2));
    expect(calls[0]!.env['CNI_ARGS']).toBe('IgnoreUnknown=1;K8S_POD_NAME=old');
    expect((calls[0]!.stdin as Record<string, unknown>)['prevResult']).toEqual(
      JSON.parse(JSON.stringify(staleResult)),
    );
    expect(await findLink(pod2, 'eth0')).toBeUndefined();
    expect(await findLink(env.pod, 'eth0')).toBeDefined();
    expect(existsSync(cacheFile(env, 'gc-net', 'stale'))).toBe(false);
    expect(existsSync(cacheFile(env, 'gc-net', 'keep'))).toBe(true);
    await runtime.delNetworkList(list(env), keep);
  });

  it('GC with disableGC does nothing at all, even with stale attachments', async () => {
    const runtime = env.runtime();
    const rt = { containerId: 'orphan', netns: env.podPath, ifName: 'eth0' };
    await runtime.addNetworkList(list(env), rt);
    const outcome = await runtime.gcNetworkList(list(env, { disableGC: true }), []);
    expect(outcome).toEqual({ skipped: 'disableGC', deleted: [], collected: [] });
    expect(env.calls().filter((c) => c.command !== 'ADD')).toEqual([]);
    expect(await findLink(env.pod, 'eth0')).toBeDefined();
    await runtime.delNetworkList(list(env), rt);
  });
});

describe('GC and STATUS at 1.1.0 with recording fake plugins', () => {
  let env: CniTestEnv;
  beforeEach(async () => {
    env = await cniTestEnv({ 'rec-a': 'recorder', 'rec-fail': 'recorder', 'rec-b': 'recorder' });
  });
  afterEach(async () => {
    await env.scope.cleanup();
  });

  const failing = {
    GC: { code: 150, msg: 'gc exploded', details: 'store locked' },
    STATUS: { code: 50, msg: 'not ready' },
  };
  const list = (middle: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}) =>
    conflist({
      cniVersion: '1.1.0',
      name: 'gc11',
      ...extra,
      plugins: [{ type: 'rec-a' }, ...(middle ? [{ type: 'rec-fail', ...middle }] : []), { type: 'rec-b' }],
    });
  const valid: GcAttachment[] = [
    { containerID: 'c1', ifname: 'eth0' },
    { containerID: 'c9', ifname: 'net1' },
  ];

  it('forwards GC to every plugin with name, cniVersion and the valid list under both keys', async () => {
    const outcome = await env.runtime().gcNetworkList(list(undefined), valid);
    expect(outcome).toEqual({ deleted: [], collected: ['rec-a', 'rec-b'] });
    const calls = env.calls();
    expect(calls.map((c) => [c.plugin, c.command])).toEqual([
      ['rec-a', 'GC'],
      ['rec-b', 'GC'],
    ]);
    for (const call of calls) {
      expect(call.stdin).toEqual({
        cniVersion: '1.1.0',
        name: 'gc11',
        type: call.plugin,
        'cni.dev/valid-attachments': valid,
        'cni.dev/attachments': valid,
      });
      expect(call.env).toMatchObject({
        CNI_COMMAND: 'GC',
        CNI_CONTAINERID: '',
        CNI_NETNS: '',
        CNI_IFNAME: '',
        CNI_ARGS: '',
        CNI_PATH: env.bin,
      });
    }
  });

  it('sends an empty valid list as [] under both keys', async () => {
    await env.runtime().gcNetworkList(list(undefined), []);
    for (const call of env.calls()) {
      const stdin = call.stdin as Record<string, unknown>;
      expect(stdin['cni.dev/valid-attachments']).toEqual([]);
      expect(stdin['cni.dev/attachments']).toEqual([]);
    }
  });

  it('continues past a failing plugin and returns its error (code kept) after calling the rest', async () => {
    const e = await rejected(env.runtime().gcNetworkList(list({ failOn: failing }), valid));
    expect(e).toBeInstanceOf(CniErrorList);
    expect(e.code).toBe(150);
    expect(e.msg).toBe('failed to GC plugin rec-fail: gc exploded');
    expect(e.details).toBe('store locked');
    expect(env.calls().map((c) => c.plugin)).toEqual(['rec-a', 'rec-fail', 'rec-b']);
  });

  it('DELs stale cached attachments first, then GCs, and reports every error together', async () => {
    const runtime = env.runtime();
    const add = (containerId: string) =>
      runtime.addNetworkList(list({}), {
        containerId,
        netns: env.podPath,
        ifName: 'eth0',
        args: [['K8S_POD_NAME', containerId]],
        capabilityArgs: { mac: 'c2:11:22:33:44:55' },
      });
    await add('c1');
    await add('c2');
    const before = env.calls().length;
    const failDelAndGc = { failOn: { DEL: { code: 160, msg: 'del exploded' }, GC: failing.GC } };
    const e = await rejected(runtime.gcNetworkList(list(failDelAndGc), valid));
    expect(e).toBeInstanceOf(CniErrorList);
    const all = (e as unknown as CniErrorList).errors;
    expect(all.map((x) => [x.code, x.msg])).toEqual([
      [
        160,
        'failed to delete stale attachment c2 eth0: plugin type="rec-fail" failed (delete): del exploded',
      ],
      [150, 'failed to GC plugin rec-fail: gc exploded'],
    ]);
    expect(e.code).toBe(160);
    const after = env.calls().slice(before);
    // Stale c2: DEL in reverse order, stopping at the failure; then GC to all three.
    expect(after.map((c) => [c.plugin, c.command, c.env['CNI_CONTAINERID']])).toEqual([
      ['rec-b', 'DEL', 'c2'],
      ['rec-fail', 'DEL', 'c2'],
      ['rec-a', 'GC', ''],
      ['rec-fail', 'GC', ''],
      ['rec-b', 'GC', ''],
    ]);
    expect(after[0]!.env['CNI_ARGS']).toBe('K8S_POD_NAME=c2');
    // The failed DEL keeps c2's cache entry for a later retry; c1 was valid and is untouched.
    expect(existsSync(cacheFile(env, 'gc11', 'c2'))).toBe(true);
    expect(existsSync(cacheFile(env, 'gc11', 'c1'))).toBe(true);

    // Without failures the stale attachment goes away.
    const ok = await runtime.gcNetworkList(list({}), valid);
    expect(ok).toEqual({
      deleted: [{ containerID: 'c2', ifname: 'eth0' }],
      collected: ['rec-a', 'rec-fail', 'rec-b'],
    });
    expect(existsSync(cacheFile(env, 'gc11', 'c2'))).toBe(false);
  });

  it('GC with disableGC calls nothing', async () => {
    expect(await env.runtime().gcNetworkList(list(undefined, { disableGC: true }), valid)).toEqual({
      skipped: 'disableGC',
      deleted: [],
      collected: [],
    });
    expect(env.calls()).toEqual([]);
  });

  it('STATUS asks every plugin in order', async () => {
    expect(await env.runtime().statusNetworkList(list({}))).toEqual({});
    const calls = env.calls();
    expect(calls.map((c) => [c.plugin, c.command])).toEqual([
      ['rec-a', 'STATUS'],
      ['rec-fail', 'STATUS'],
      ['rec-b', 'STATUS'],
    ]);
    expect(calls[0]!.stdin).toEqual({ cniVersion: '1.1.0', name: 'gc11', type: 'rec-a' });
  });

  it("STATUS returns a plugin's error unchanged (code 50) and stops there", async () => {
    const e = await rejected(env.runtime().statusNetworkList(list({ failOn: failing })));
    expect([e.code, e.msg]).toEqual([50, 'not ready']);
    expect(env.calls().map((c) => c.plugin)).toEqual(['rec-a', 'rec-fail']);
  });
});
