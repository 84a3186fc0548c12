// chrootDir (upstream's `chrootDir`, issue 5): the plugin runs with another root directory, for that child process
// only (the caller keeps its own root). The plugin is found in the caller's file system and must exist at the same
// path under the new root, as upstream requires. A minimal root is built from the real loopback plugin and its
// shared libraries; the pod's netns file is bind-mounted into it.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CniRuntime, parseNetworkConfig } from '@multus-ts/cni';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CNI_BIN_DIR, findLink, netnsPath, requireHostTools, TestScope } from '../../support/netns.ts';

afterAll(() => TestScope.cleanupAll());

const list = () =>
  parseNetworkConfig(
    JSON.stringify({ cniVersion: '1.0.0', name: 'lo-net', plugins: [{ type: 'loopback' }] }),
  );

/** A root holding `binary` and the shared libraries `ldd` lists for it, at their host paths. */
function minimalRoot(root: string, binary: string): void {
  const files = [binary];
  for (const line of execFileSync('ldd', [binary], { encoding: 'utf8' }).split('\n')) {
    const m = /(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1]) files.push(m[1]);
  }
  for (const f of files) {
    mkdirSync(join(root, dirname(f)), { recursive: true });
    copyFileSync(f, join(root, f));
  }
}

describe('chrootDir', () => {
  let scope: TestScope;
  let pod: string;
  let root: string;
  beforeEach(async () => {
    requireHostTools(['loopback']);
    scope = new TestScope();
    pod = await scope.netns('mts-chroot');
    root = await scope.tempDir('multus-ts-chroot-');
    // The pod's netns must be reachable at the same path inside the root: bind-mount the nsfs file there.
    const inside = join(root, netnsPath(pod));
    mkdirSync(dirname(inside), { recursive: true });
    writeFileSync(inside, '');
    execFileSync('mount', ['--bind', netnsPath(pod), inside]);
    scope.defer(`umount ${inside}`, () => execFileSync('umount', [inside]));
    // Plugins find their own netns through /proc, as they would under a real host root.
    const proc = join(root, 'proc');
    mkdirSync(proc);
    execFileSync('mount', ['-t', 'proc', 'proc', proc]);
    scope.defer(`umount ${proc}`, () => execFileSync('umount', [proc]));
  });
  afterEach(async () => {
    await scope.cleanup();
  });

  it('runs the plugin inside the chroot: loopback ADD works from a root that holds it', async () => {
    minimalRoot(root, join(CNI_BIN_DIR, 'loopback'));
    const runtime = new CniRuntime({
      binDirs: [CNI_BIN_DIR],
      cacheDir: join(root, 'cache-outside'),
      chrootDir: root,
    });
    await runtime.addNetworkList(list(), { containerId: 'chroot-c1', netns: netnsPath(pod), ifName: 'lo' });
    expect((await findLink(pod, 'lo'))?.flags).toContain('UP');
    await runtime.delNetworkList(list(), { containerId: 'chroot-c1', netns: netnsPath(pod), ifName: 'lo' });
  });

  it('fails when the plugin exists on the host but not under the root (so it really ran chrooted)', async () => {
    const runtime = new CniRuntime({
      binDirs: [CNI_BIN_DIR],
      cacheDir: join(root, 'cache-outside'),
      chrootDir: root,
    });
    await expect(
      runtime.addNetworkList(list(), { containerId: 'chroot-c2', netns: netnsPath(pod), ifName: 'lo' }),
    ).rejects.toMatchObject({ msg: expect.stringContaining('loopback') });
    expect((await findLink(pod, 'lo'))?.flags).not.toContain('UP');
  });
});
