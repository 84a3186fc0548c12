// Disk full while ADD writes its caches: cniDir is a 64 KiB tmpfs, filled up. ADD must fail cleanly with code 5
// (I/O failure), roll back whatever it attached, and leave no half-written file behind; DEL succeeds; once space
// is back, ADD works again. Two points of failure: the delegate cache (written before any delegate runs) and the
// libcni result cache (written after the cluster network's plugin succeeded).
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NodeHarness, type SandboxRef } from '../../support/daemon-harness.ts';
import { listLinks, run, TestScope } from '../../support/netns.ts';
import { expectDaemonAlive, expectNetnsGone, expectNoLeaks, shimCode } from './support.ts';

const TMPFS_BYTES = 64 * 1024;
const PAGE = 4096;

let h: NodeHarness;
let filler: string;
const made: SandboxRef[] = [];

beforeAll(async () => {
  h = await NodeHarness.start({ cniVersion: '1.0.0' });
  await run('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_BYTES},mode=0700`, 'mts-rel-full', h.cniDir]);
  h.scope.defer('tmpfs on cniDir', () => run('umount', [h.cniDir]));
  filler = join(h.cniDir, 'zz-filler');
});
afterEach(async () => {
  await rm(filler, { force: true });
  for (const sb of made.splice(0)) await h.shim('DEL', sb);
});
afterAll(async () => {
  const sandboxes = [...made];
  await h?.stop();
  await TestScope.cleanupAll();
  expectNetnsGone(sandboxes);
});

/** Fills the tmpfs so that exactly `freePages` pages remain. */
async function fill(freePages: number): Promise<void> {
  await rm(filler, { force: true });
  await writeFile(filler, Buffer.alloc(TMPFS_BYTES - freePages * PAGE, 0x78));
  const df = (await run('df', ['-B1', '--output=avail', h.cniDir])).stdout.trim().split('\n').pop();
  expect(Number(df)).toBe(freePages * PAGE);
}

async function filesUnderCniDir(): Promise<string[]> {
  const entries = await readdir(h.cniDir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => !e.isDirectory()).map((e) => relative(h.cniDir, join(e.parentPath, e.name)));
}

async function expectCleanFailure(sb: SandboxRef, out: { stdout: string; json?: Record<string, unknown> }) {
  expect(out.json, 'ADD must fail').toBeDefined();
  expect((await listLinks(sb.netnsName)).map((l) => l.ifname)).toEqual(['lo']);
  // Nothing half-written: no delegate cache, no result cache, no temp file; only the filler.
  expect(await filesUnderCniDir()).toEqual(['zz-filler']);
  expect(`${out.json?.['msg']} ${out.json?.['details']}`).toMatch(/ENOSPC|no space/i);
  expect(out.json, `${out.stdout}\n${h.daemonLog.slice(-2000)}`).toMatchObject({
    cniVersion: '1.0.0',
    code: 5,
  });
}

async function recoverAndClean(sb: SandboxRef): Promise<void> {
  expect(shimCode(await h.shim('DEL', sb))).toBe(0);
  await rm(filler, { force: true });
  const again = await h.shim('ADD', sb);
  expect(shimCode(again), again.stdout).toBe(0);
  expect(shimCode(await h.shim('DEL', sb))).toBe(0);
  made.splice(made.indexOf(sb), 1);
  await expectNoLeaks(h, [sb]);
  expectDaemonAlive(h);
}

describe('disk full under cniDir', () => {
  it('no room for the delegate cache: ADD fails with code 5 before any delegate runs', async () => {
    const sb = await h.createPod({ name: 'full-delegate-cache' });
    made.push(sb);
    await fill(0);
    const out = await h.shim('ADD', sb);
    await expectCleanFailure(sb, out);
    await recoverAndClean(sb);
  });

  it('room for the delegate cache only: the result cache write fails, ADD rolls back, code 5', async () => {
    const sb = await h.createPod({ name: 'full-result-cache' });
    made.push(sb);
    await fill(1);
    const out = await h.shim('ADD', sb);
    await expectCleanFailure(sb, out);
    await recoverAndClean(sb);
  });
});
