// Hostile and failing plugin chains through CniRuntime: plugin types that try to leave the bin dir, a symlink out
// of the bin dir (allowed, see packages/cni/src/find.ts), flooding, garbage, a slow plugin killed at the timeout,
// and a failing plugin in the middle of a chain. Each with its exact CNI code, and nothing run that should not.
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NetworkConfigList, PluginRunEvent } from '@multus-ts/cni';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installFakePlugin } from '../../support/fake-plugins/install.ts';
import { findLink, TestScope } from '../../support/netns.ts';
import { type CniTestEnv, cniTestEnv, conflist, rejected } from './setup.ts';

afterAll(() => TestScope.cleanupAll());

/**
 * recorder + a plugin of the given type. Built around the parser (which refuses some of these types itself) so
 * that the runtime's own checks are what is tested.
 */
function withRecorder(type: string, extra: Record<string, unknown> = {}): NetworkConfigList {
  const list = conflist({
    cniVersion: '1.0.0',
    name: 'hostile',
    plugins: [{ type: 'recorder' }, { type: 'x' }],
  });
  return { ...list, plugins: [{ type: 'recorder' }, { type, ...extra }] };
}

describe('hostile plugin types and misbehaving plugins (CniRuntime)', () => {
  let env: CniTestEnv;
  let rt: { containerId: string; netns: string; ifName: string };
  beforeEach(async () => {
    env = await cniTestEnv({
      recorder: 'recorder',
      fail: 'fail',
      slow: 'slow',
      garbage: 'garbage',
      flood: 'flood',
    });
    rt = { containerId: 'hostile-c1', netns: env.podPath, ifName: 'eth0' };
  });
  afterEach(async () => {
    await env.scope.cleanup();
  });

  it.each([
    ['path traversal', '../../../../bin/sh'],
    ['a relative path into a sub dir', 'sub/bridge'],
    ['an absolute path', '/usr/lib/cni/bridge'],
    ['dot-dot', '..'],
    ['NUL', 'bridge\u0000'],
    ['an empty type', ''],
    ['shell syntax', '$(reboot)'],
  ])('refuses %s as a type with code 7 before running any plugin', async (_l, type) => {
    const runtime = env.runtime();
    for (const op of [
      () => runtime.addNetworkList(withRecorder(type), rt),
      () => runtime.delNetworkList(withRecorder(type), rt),
      () => runtime.gcNetworkList({ ...withRecorder(type), cniVersion: '1.1.0' }, []),
      () => runtime.statusNetworkList({ ...withRecorder(type), cniVersion: '1.1.0' }),
    ]) {
      const e = await rejected(op());
      expect(e.code).toBe(7);
      expect(e.id).toBe('ERR_PLUGIN_TYPE_INVALID');
    }
    expect(env.calls()).toEqual([]);
  });

  it('refuses hostile types passed to versionInfo with code 7', async () => {
    for (const type of ['../loopback', '/usr/lib/cni/loopback', '']) {
      expect((await rejected(env.runtime().versionInfo(type))).code).toBe(7);
    }
  });

  it('runs nothing when a plugin of the chain is missing (code 7, names the plugin)', async () => {
    const e = await rejected(env.runtime().addNetworkList(withRecorder('not-installed'), rt));
    expect(e.code).toBe(7);
    expect(e.msg).toBe(`failed to find plugin "not-installed" in path [${env.bin}]`);
    expect(env.calls()).toEqual([]);
  });

  it('follows a symlink in the bin dir that points out of it (a documented choice), but not a dangling one', async () => {
    const outside = await env.scope.tempDir('multus-ts-outside-');
    await installFakePlugin(outside, 'real-recorder', 'recorder');
    await symlink(join(outside, 'real-recorder'), join(env.bin, 'linked'));
    await env.runtime().addNetworkList(withRecorder('linked'), rt);
    // The fake records the name it was run under: the link in the bin dir.
    expect(env.calls().map((c) => c.plugin)).toEqual(['recorder', 'linked']);

    await symlink(join(outside, 'nothing-here'), join(env.bin, 'dangling'));
    await writeFile(join(outside, 'plain'), '#!/bin/sh\nexit 0\n', { mode: 0o644 });
    await symlink(join(outside, 'plain'), join(env.bin, 'to-plain'));
    await mkdir(join(outside, 'dir'));
    await symlink(join(outside, 'dir'), join(env.bin, 'to-dir'));
    for (const type of ['dangling', 'to-plain', 'to-dir']) {
      const e = await rejected(
        env.runtime().addNetworkList(withRecorder(type), { ...rt, containerId: type }),
      );
      expect(e.code).toBe(7);
      expect(e.id).toBe('ERR_PLUGIN_NOT_FOUND');
    }
  });

  it('is code 5 naming the plugin when it floods stdout past the cap', async () => {
    const e = await rejected(env.runtime({ maxStdout: 32 * 1024 }).addNetworkList(withRecorder('flood'), rt));
    expect(e.code).toBe(5);
    expect(e.msg).toMatch(
      /^plugin type="flood" failed \(add\): plugin .*flood \(ADD\) wrote more than 32768 bytes/,
    );
  });

  it('is code 6 for garbage stdout, and 999 keeping stderr when the garbage comes with a failure exit', async () => {
    const zero = await rejected(env.runtime().addNetworkList(withRecorder('garbage'), rt));
    expect(zero.code).toBe(6);
    expect(zero.msg).toMatch(/^plugin type="garbage" failed \(add\): cannot decode the output of plugin/);
    const failing = await rejected(
      env.runtime().addNetworkList(withRecorder('garbage', { exitCode: 3 }), rt),
    );
    expect(failing.code).toBe(999);
    expect(failing.details).toContain('stderr: fake plugin garbage: here comes garbage');
  });

  it('kills a slow plugin at the timeout: code 11, and the chain stops there', async () => {
    const list = conflist({
      cniVersion: '1.0.0',
      name: 'slow-net',
      plugins: [{ type: 'recorder' }, { type: 'slow' }, { type: 'recorder', name: 'after' }],
    });
    const started = Date.now();
    const e = await rejected(env.runtime({ timeoutMs: 1000 }).addNetworkList(list, rt));
    expect(e.code).toBe(11);
    expect(e.msg).toMatch(
      /^plugin type="slow" failed \(add\): plugin .*slow \(ADD\) did not finish within 1000 ms/,
    );
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(env.calls().map((c) => c.plugin)).toEqual(['recorder', 'slow']);
  });

  it('stops at a failing plugin, keeps its code, msg and details, and names it (with its name key)', async () => {
    const list = conflist({
      cniVersion: '1.0.0',
      name: 'fail-net',
      plugins: [
        { type: 'recorder' },
        { type: 'fail', name: 'quota', code: 142, msg: 'quota exceeded', details: 'limit 10' },
        { type: 'recorder', name: 'never' },
      ],
    });
    const events: PluginRunEvent[] = [];
    const e = await rejected(env.runtime({ onPluginRun: (ev) => events.push(ev) }).addNetworkList(list, rt));
    // The log hook saw both runs; the failed one with its error and its stderr.
    expect(events.map((ev) => [ev.type, ev.command, ev.error?.code])).toEqual([
      ['recorder', 'ADD', undefined],
      ['fail', 'ADD', 142],
    ]);
    expect(events[1]!.stderr).toBe('fake plugin fail: about to fail\n');
    expect([e.code, e.msg, e.details]).toEqual([
      142,
      'plugin type="fail" name="quota" failed (add): quota exceeded',
      'limit 10',
    ]);
    expect(e.stderr).toBe('fake plugin fail: about to fail\n');
    expect(env.calls().map((c) => c.plugin)).toEqual(['recorder', 'fail']);
    expect(await findLink(env.pod, 'eth0')).toBeUndefined();
  });

  it('is code 6 naming the plugin when ADD prints no result', async () => {
    await writeFile(join(env.bin, 'silent'), '#!/bin/sh\ncat >/dev/null\nexit 0\n', { mode: 0o755 });
    const silent = conflist({ cniVersion: '1.0.0', name: 'silent-net', plugins: [{ type: 'silent' }] });
    const e = await rejected(env.runtime().addNetworkList(silent, rt));
    expect(e.code).toBe(6);
    expect(e.msg).toMatch(/^plugin type="silent" failed \(add\): plugin .*silent printed no result for ADD$/);
  });
});
