// Damaged delegate cache files, written into cniDir before the runtime's DEL: truncated, corrupt, empty, the wrong
// shape, a symlink, upstream Multus's layout, a future version of ours, and temp files a crash left behind. DEL
// must succeed every time, and tear the pod's attachments down from whatever state is left: the pod (while it
// exists) or the libcni result cache entries that ADD wrote next to the delegate cache.
import { existsSync } from 'node:fs';
import { readFile, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NodeHarness, SandboxRef } from '../../support/daemon-harness.ts';
import { listLinks, TestScope } from '../../support/netns.ts';
import {
  expectDaemonAlive,
  expectNetnsGone,
  expectNoLeaks,
  leaks,
  NETWORKS,
  shimCode,
  startMacvlanNode,
} from './support.ts';

let h: NodeHarness;
const made: SandboxRef[] = [];
const all: SandboxRef[] = [];

beforeAll(async () => {
  ({ h } = await startMacvlanNode('10.51.0.0/24', false));
});
afterEach(async () => {
  for (const sb of made.splice(0)) await h.shim('DEL', sb);
});
afterAll(async () => {
  await h?.stop();
  await TestScope.cleanupAll();
  expectNetnsGone(all);
});

/** A pod with eth0 (bridge) and net1 (macvlan), added for real; returns its sandbox and its cache file's text. */
async function addedPod(name: string): Promise<{ sb: SandboxRef; path: string; text: string }> {
  const sb = await h.createPod({ name, annotations: { [NETWORKS]: 'mv' } });
  made.push(sb);
  all.push(sb);
  const out = await h.shim('ADD', sb);
  expect(shimCode(out), out.stdout + h.daemonLog.slice(-2000)).toBe(0);
  const path = join(h.cniDir, sb.containerId);
  expect((await leaks(h)).leases.length).toBeGreaterThanOrEqual(2);
  return { sb, path, text: await readFile(path, 'utf8') };
}

async function deletePod(sb: SandboxRef): Promise<void> {
  await h.core.deleteNamespacedPod({ namespace: sb.namespace, name: sb.name, gracePeriodSeconds: 0 });
  await new Promise((r) => setTimeout(r, 300));
}

/** The runtime's DEL: must succeed, and the node must be clean afterwards. */
async function expectCleanDel(sb: SandboxRef): Promise<void> {
  const out = await h.shim('DEL', sb);
  expect(shimCode(out), `${out.stdout}\n${h.daemonLog.slice(-3000)}`).toBe(0);
  made.splice(made.indexOf(sb), 1);
  expect((await listLinks(sb.netnsName)).map((l) => l.ifname)).toEqual(['lo']);
  await expectNoLeaks(h, [sb]);
  // A repeated DEL is fine too.
  expect(shimCode(await h.shim('DEL', sb))).toBe(0);
  expectDaemonAlive(h);
}

const damages: [string, (text: string) => string | Buffer][] = [
  ['truncated in the middle', (t) => t.slice(0, Math.floor(t.length / 2))],
  ['random bytes (not UTF-8)', () => Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22, 0xc3, 0x28, 0x5b])],
  ['empty', () => ''],
  ['JSON of the wrong shape', () => '{"Conf":{"type":"bridge"},"Bytes":42}'],
  [
    'an array whose Bytes are not a JSON config',
    () => JSON.stringify([{ Bytes: Buffer.from('x').toString('base64') }]),
  ],
];

describe('damaged delegate cache, pod still there', () => {
  for (const [what, damage] of damages) {
    it(`${what}: DEL rebuilds the attachments from the pod and removes them`, async () => {
      const { sb, path, text } = await addedPod(`dmg-${damages.findIndex((d) => d[0] === what)}`);
      await writeFile(path, damage(text));
      await expectCleanDel(sb);
    });
  }

  it('a symlink in place of the cache file: not followed, its target untouched, DEL cleans up', async () => {
    const { sb, path, text } = await addedPod('dmg-symlink');
    const victim = join(h.root, 'victim.json');
    await writeFile(victim, text);
    await unlink(path);
    await symlink(victim, path);
    await expectCleanDel(sb);
    expect(await readFile(victim, 'utf8')).toBe(text);
  });
});

describe('damaged or foreign delegate cache, pod gone', () => {
  it('upstream Multus layout (no multusTs extras): DEL tears everything down from it', async () => {
    const { sb, path, text } = await addedPod('foreign-upstream');
    const upstream = (JSON.parse(text) as Record<string, unknown>[]).map(
      ({ multusTs: _drop, ...rest }) => rest,
    );
    await writeFile(path, JSON.stringify(upstream));
    await deletePod(sb);
    await expectCleanDel(sb);
  });

  it('a newer multus-ts version of the extras: DEL still uses the upstream-compatible part', async () => {
    const { sb, path, text } = await addedPod('foreign-future');
    const future = (JSON.parse(text) as Record<string, Record<string, unknown>>[]).map((el) => ({
      ...el,
      multusTs: { ...el['multusTs'], version: 2, somethingNew: true },
    }));
    await writeFile(path, JSON.stringify(future));
    await deletePod(sb);
    await expectCleanDel(sb);
  });

  it('truncated: DEL falls back to the result cache entries ADD wrote and releases the addresses', async () => {
    const { sb, path, text } = await addedPod('trunc-gone');
    await writeFile(path, text.slice(0, Math.floor(text.length / 2)));
    await deletePod(sb);
    await expectCleanDel(sb);
  });
});

describe('temp files a crash left behind', () => {
  it('are removed by the restarted daemon or by the DEL of their container', async () => {
    const { sb, text } = await addedPod('stale-tmp');
    const stale = [
      join(h.cniDir, `.${sb.containerId}.424242.7.0badc0de.tmp`),
      join(h.cniDir, 'results', `.cbr0-${sb.containerId}-eth0.424242.8.0badc0de.tmp`),
    ];
    for (const f of stale) await writeFile(f, text.slice(0, 100));
    await h.stopDaemon('SIGKILL');
    await h.startDaemon();
    const out = await h.shim('DEL', sb);
    expect(shimCode(out), out.stdout).toBe(0);
    made.splice(made.indexOf(sb), 1);
    expect(
      stale.filter((f) => existsSync(f)),
      'stale temp files still there',
    ).toEqual([]);
    await expectNoLeaks(h, [sb]);
  });
});
