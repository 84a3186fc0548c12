// Misbehaving delegates: one that hangs, one that crashes, one that prints garbage. Each ADD must fail with an
// exact CNI code, roll back the cluster network it already attached, and leave nothing behind after the runtime's
// DEL; the daemon must keep serving other pods meanwhile. Real daemon, shim, bridge/host-local and namespaces.
//
// The hang costs a full minute: the daemon's per-plugin timeout is the CNI library's default (60 s) and
// daemon-config.json has no key to shorten it (see docs/reliability.md).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NodeHarness, type SandboxRef } from '../../support/daemon-harness.ts';
import { installFakePlugin, isAlive, readCalls } from '../../support/fake-plugins/install.ts';
import { listLinks, TestScope } from '../../support/netns.ts';
import { expectDaemonAlive, expectNetnsGone, expectNoLeaks, NETWORKS, shimCode } from './support.ts';

/** The CNI library's default per-plugin timeout, which the daemon uses (no daemon-config key sets it). */
const PLUGIN_TIMEOUT_MS = 60_000;

let h: NodeHarness;
let recordDir: string;
const made: SandboxRef[] = [];

beforeAll(async () => {
  h = await NodeHarness.start({ cniVersion: '1.0.0' });
  recordDir = await mkdtemp(join(tmpdir(), 'mts-rel-rec-'));
  await installFakePlugin(h.binDir, 'hang', 'hang');
  await installFakePlugin(h.binDir, 'crash', 'crash');
  await installFakePlugin(h.binDir, 'garbage', 'garbage');
  for (const kind of ['hang', 'crash']) {
    await h.createNad('default', kind, {
      cniVersion: '1.0.0',
      type: kind,
      recordFile: join(recordDir, `${kind}.jsonl`),
    });
  }
  await h.createNad('default', 'garbage', { cniVersion: '1.0.0', type: 'garbage' });
});
afterEach(async () => {
  for (const sb of made.splice(0)) for (let i = 0; i < 3; i++) await h.shim('DEL', sb);
});
afterAll(async () => {
  const sandboxes = [...made];
  await h?.stop();
  await TestScope.cleanupAll();
  if (recordDir) await rm(recordDir, { recursive: true, force: true });
  expectNetnsGone(sandboxes);
});

async function pod(name: string, networks?: string): Promise<SandboxRef> {
  const sb = await h.createPod({ name, ...(networks ? { annotations: { [NETWORKS]: networks } } : {}) });
  made.push(sb);
  return sb;
}

async function podInterfaces(sb: SandboxRef): Promise<string[]> {
  return (await listLinks(sb.netnsName)).map((l) => l.ifname).sort();
}

describe('a delegate that hangs', () => {
  it(
    'is killed with its process group after the plugin timeout: ADD fails with code 11, nothing is left',
    async () => {
      const sb = await pod('hang-pod', 'hang');
      const started = Date.now();
      const hung = h.shim('ADD', sb);

      // While that ADD hangs, the daemon keeps serving other pods.
      const other = await pod('beside-hang');
      const t0 = Date.now();
      const otherAdd = await h.shim('ADD', other);
      expect(shimCode(otherAdd), otherAdd.stdout).toBe(0);
      expect(Date.now() - t0).toBeLessThan(PLUGIN_TIMEOUT_MS / 2);
      expect(shimCode(await h.shim('DEL', other))).toBe(0);

      const out = await hung;
      const elapsed = Date.now() - started;
      expect(out.json, out.stdout + h.daemonLog.slice(-2000)).toMatchObject({
        cniVersion: '1.0.0',
        code: 11,
      });
      expect(String(out.json?.['msg'])).toMatch(/did not finish within 60000 ms/);
      expect(elapsed).toBeGreaterThanOrEqual(PLUGIN_TIMEOUT_MS - 1000);

      const calls = readCalls(join(recordDir, 'hang.jsonl'));
      const hangingAdd = calls.find((c) => c.command === 'ADD' && c.extra?.['hanging'] === true);
      expect(hangingAdd, JSON.stringify(calls)).toBeDefined();
      // The whole process group died: the plugin and the child it started.
      expect(isAlive(hangingAdd!.pid)).toBe(false);
      expect(isAlive(hangingAdd!.extra?.['childPid'] as number)).toBe(false);
      // Rolled back: the hung delegate got its DEL, the cluster network is gone again.
      expect(calls.filter((c) => c.command === 'DEL').length).toBeGreaterThanOrEqual(1);
      expect(await podInterfaces(sb)).toEqual(['lo']);

      expect(shimCode(await h.shim('DEL', sb))).toBe(0);
      made.splice(made.indexOf(sb), 1);
      await expectNoLeaks(h, [sb, other]);
      expectDaemonAlive(h);
    },
    PLUGIN_TIMEOUT_MS + 60_000,
  );
});

describe('a delegate that crashes', () => {
  it('killed by a signal halfway through its output: ADD fails with code 999, rolled back, no leaks', async () => {
    const sb = await pod('crash-pod', 'crash');
    const out = await h.shim('ADD', sb);
    expect(out.code).toBe(1);
    expect(out.json, out.stdout).toMatchObject({ cniVersion: '1.0.0', code: 999 });
    expect(String(out.json?.['msg'])).toMatch(/netplugin failed: killed by signal SIGKILL/);
    expect(String(out.json?.['details'])).toMatch(/about to die/);
    expect(await podInterfaces(sb)).toEqual(['lo']);
    // The crashed delegate was asked to DEL what it may have half-made.
    const calls = readCalls(join(recordDir, 'crash.jsonl')).filter(
      (c) => c.env['CNI_CONTAINERID'] === sb.containerId,
    );
    expect(calls.map((c) => c.command)).toEqual(['ADD', 'DEL']);

    expect(shimCode(await h.shim('DEL', sb))).toBe(0);
    made.splice(made.indexOf(sb), 1);
    await expectNoLeaks(h, [sb]);
    expectDaemonAlive(h);
  });
});

describe('a delegate that prints garbage', () => {
  it('ADD fails with code 6; the DELs report code 6 twice, then give up (bounded retries); no leaks', async () => {
    const sb = await pod('garbage-pod', 'garbage');
    const out = await h.shim('ADD', sb);
    expect(out.code).toBe(1);
    expect(out.json, out.stdout).toMatchObject({ cniVersion: '1.0.0', code: 6 });
    expect(String(out.json?.['msg'])).toMatch(/cannot decode the output of plugin/);
    expect(await podInterfaces(sb)).toEqual(['lo']);
    // garbage also answers DEL with garbage: only that delegate stays cached for the runtime's DEL.
    expect((await h.leftovers()).cache).toEqual([sb.containerId]);
    const dels = [await h.shim('DEL', sb), await h.shim('DEL', sb), await h.shim('DEL', sb)];
    expect(dels.map(shimCode)).toEqual([6, 6, 0]);
    made.splice(made.indexOf(sb), 1);
    await expectNoLeaks(h, [sb]);
    expectDaemonAlive(h);
  });

  it('a garbage delegate in one pod does not disturb a concurrent ADD of another', async () => {
    const a = await pod('garbage-a', 'garbage');
    const b = await pod('clean-b');
    const [ra, rb] = await Promise.all([h.shim('ADD', a), h.shim('ADD', b)]);
    expect(shimCode(ra)).toBe(6);
    expect(shimCode(rb), rb.stdout).toBe(0);
    expect(await podInterfaces(b)).toEqual(['eth0', 'lo']);
    for (const sb of made.splice(0)) for (let i = 0; i < 3; i++) await h.shim('DEL', sb);
    await expectNoLeaks(h, [a, b]);
  });
});
