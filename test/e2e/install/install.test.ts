// The init container's install step (images/install-multus.sh): atomic, idempotent, and safe while the old
// multus-shim is being executed (upstream #1221 "text file busy").
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, SHIM_BIN } from '../../support/daemon-harness.ts';
import { TestScope } from '../../support/netns.ts';

const SCRIPT = join(REPO_ROOT, 'images/install-multus.sh');
const scope = new TestScope();
let dest: string;

beforeAll(async () => {
  if (!existsSync(SHIM_BIN)) throw new Error(`multus-shim is not built at ${SHIM_BIN}: run make build`);
  dest = await scope.tempDir('multus-ts-install-');
});
afterAll(async () => {
  await scope.cleanup();
});

function install(...files: string[]) {
  return spawnSync('/bin/sh', [SCRIPT, '-d', dest, ...files], { encoding: 'utf8' });
}

describe('install-multus.sh', () => {
  it('installs the shim executable and byte-identical, and is idempotent', () => {
    const first = install(SHIM_BIN);
    expect(first.status, first.stderr).toBe(0);
    const installed = join(dest, 'multus-shim');
    expect(readFileSync(installed).equals(readFileSync(SHIM_BIN))).toBe(true);
    expect(statSync(installed).mode & 0o777).toBe(0o755);
    const again = install(SHIM_BIN);
    expect(again.status, again.stderr).toBe(0);
    expect(readdirSync(dest)).toEqual(['multus-shim']);
  });

  it('replaces a shim that is being executed right now, where a plain cp fails with "Text file busy"', async () => {
    const installed = join(dest, 'multus-shim');
    copyFileSync(SHIM_BIN, installed);
    // A running shim: it blocks reading the CNI config from stdin, so its binary stays busy.
    const running = spawn(installed, [], {
      env: {
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: 'c1',
        CNI_NETNS: '/proc/1/ns/net',
        CNI_IFNAME: 'eth0',
        CNI_PATH: '/x',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    await new Promise((r) => setTimeout(r, 100));
    try {
      const naive = spawnSync('cp', [SHIM_BIN, installed], { encoding: 'utf8' });
      expect(naive.status).not.toBe(0);
      expect(naive.stderr).toMatch(/Text file busy/);

      const replacement = join(await scope.tempDir('multus-ts-src-'), 'multus-shim');
      writeFileSync(replacement, Buffer.concat([readFileSync(SHIM_BIN), Buffer.from('new-version-marker')]));
      const out = install(replacement);
      expect(out.status, out.stderr).toBe(0);
      expect(readFileSync(installed).includes(Buffer.from('new-version-marker'))).toBe(true);
      expect(running.exitCode, 'the old shim keeps running from its (now unlinked) binary').toBe(null);
    } finally {
      // Never let it reach a daemon: it has served its purpose as a busy binary.
      const closed = new Promise((r) => running.on('close', r));
      running.kill('SIGKILL');
      await closed;
    }
    expect(readdirSync(dest)).toEqual(['multus-shim']);
  });

  it.each([
    [['-d'], 2],
    [[], 2],
    [['/nonexistent/file'], 1],
  ])('refuses bad arguments %j with exit %i and leaves nothing behind', (args, code) => {
    const r =
      args[0] === '-d' ? spawnSync('/bin/sh', [SCRIPT, ...args], { encoding: 'utf8' }) : install(...args);
    expect(r.status).toBe(code);
    expect(readdirSync(dest).filter((f) => f.startsWith('.'))).toEqual([]);
  });
});
