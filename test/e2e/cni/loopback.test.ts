// The real loopback plugin through CniRuntime: ADD/CHECK/DEL in a throwaway namespace, the libcni result cache
// it leaves behind, VERSION, and the runtime-side validation of the attachment identifiers.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PluginRunEvent } from '@multus-ts/cni';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findLink, TestScope } from '../../support/netns.ts';
import { type CniTestEnv, cniTestEnv, conflist, rejected } from './setup.ts';

const list = () => conflist({ cniVersion: '1.0.0', name: 'lo-net', plugins: [{ type: 'loopback' }] });

// Safety net: vitest can skip afterEach after some failures; nothing may outlive this file.
afterAll(() => TestScope.cleanupAll());

describe('loopback (real plugin)', () => {
  let env: CniTestEnv;
  beforeEach(async () => {
    env = await cniTestEnv();
  });
  afterEach(async () => {
    await env.scope.cleanup();
  });

  it('brings lo up on ADD, passes CHECK, takes it down on DEL, and DEL can be repeated', async () => {
    const events: PluginRunEvent[] = [];
    const runtime = env.runtime({ onPluginRun: (e) => events.push(e) });
    const rt = { containerId: 'lo-c1', netns: env.podPath, ifName: 'lo' };
    expect((await findLink(env.pod, 'lo'))?.flags).not.toContain('UP');

    const result = await runtime.addNetworkList(list(), rt);
    expect(result.cniVersion).toBe('1.0.0');
    expect(result).toMatchObject({
      interfaces: [{ name: 'lo', sandbox: env.podPath }],
      ips: [
        { address: '127.0.0.1/8', interface: 0 },
        { address: '::1/128', interface: 0 },
      ],
    });
    expect((await findLink(env.pod, 'lo'))?.flags).toContain('UP');

    expect(await runtime.checkNetworkList(list(), rt)).toEqual({});

    await runtime.delNetworkList(list(), rt);
    expect((await findLink(env.pod, 'lo'))?.flags).not.toContain('UP');
    await runtime.delNetworkList(list(), rt);
    expect(events.map((e) => [e.network, e.type, e.command, e.error])).toEqual([
      ['lo-net', 'loopback', 'ADD', undefined],
      ['lo-net', 'loopback', 'CHECK', undefined],
      ['lo-net', 'loopback', 'DEL', undefined],
      ['lo-net', 'loopback', 'DEL', undefined],
    ]);
    expect(events.every((e) => e.durationMs > 0)).toBe(true);
  });

  it('writes the libcni cache entry (0600 in a 0700 dir) after ADD and removes it on DEL', async () => {
    const runtime = env.runtime();
    const l = list();
    const rt = {
      containerId: 'lo-c2',
      netns: env.podPath,
      ifName: 'lo',
      args: [
        ['IgnoreUnknown', 'true'],
        ['K8S_POD_NAME', 'p'],
      ] as [string, string][],
      capabilityArgs: { portMappings: [{ hostPort: 1, containerPort: 2, protocol: 'tcp' }] },
    };
    const result = await runtime.addNetworkList(l, rt);
    const path = join(env.cacheDir, 'results', 'lo-net-lo-c2-lo');
    expect(statSync(join(env.cacheDir, 'results')).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const entry = JSON.parse(readFileSync(path, 'utf8'));
    expect(entry).toEqual({
      kind: 'cniCacheV1',
      containerId: 'lo-c2',
      config: Buffer.from(l.bytes).toString('base64'),
      ifName: 'lo',
      networkName: 'lo-net',
      netns: env.podPath,
      cniArgs: rt.args,
      capabilityArgs: rt.capabilityArgs,
      result: JSON.parse(JSON.stringify(result)),
    });
    await runtime.delNetworkList(l, rt);
    expect(() => statSync(path)).toThrow();
  });

  it('answers VERSION with the versions the plugin speaks', async () => {
    const info = await env.runtime().versionInfo('loopback');
    expect(info.supportedVersions).toEqual(expect.arrayContaining(['0.3.1', '0.4.0', '1.0.0']));
  });

  it('surfaces the plugin error for a netns that does not exist', async () => {
    const e = await rejected(
      env
        .runtime()
        .addNetworkList(list(), { containerId: 'lo-c3', netns: '/run/netns/absent-ns', ifName: 'lo' }),
    );
    expect(e.code).toBe(999);
    expect(e.msg).toMatch(
      /^plugin type="loopback" failed \(add\): failed to Statfs "\/run\/netns\/absent-ns"/,
    );
  });

  it.each([
    ['an empty container ID', { containerId: '' }, 3],
    ['a container ID with a slash', { containerId: '../etc' }, 4],
    ['a container ID with NUL', { containerId: 'a\0b' }, 4],
    ['an empty ifname', { ifName: '' }, 4],
    ['an ifname with a slash', { ifName: 'eth0/x' }, 4],
    ['an ifname longer than 15 bytes', { ifName: 'x'.repeat(16) }, 4],
    ['an ifname "."', { ifName: '.' }, 4],
  ])('refuses %s before running anything (code %s)', async (_l, over, code) => {
    const rt = { containerId: 'lo-c4', netns: env.podPath, ifName: 'lo', ...over };
    const runtime = env.runtime();
    expect((await rejected(runtime.addNetworkList(list(), rt))).code).toBe(code);
    expect((await rejected(runtime.delNetworkList(list(), rt))).code).toBe(code);
    expect((await findLink(env.pod, 'lo'))?.flags).not.toContain('UP');
  });

  it('refuses a hand-built list with an invalid network name (code 7)', async () => {
    const bad = { ...list(), name: '../evil' };
    const e = await rejected(
      env.runtime().addNetworkList(bad, { containerId: 'c', netns: env.podPath, ifName: 'lo' }),
    );
    expect(e.code).toBe(7);
  });
});
