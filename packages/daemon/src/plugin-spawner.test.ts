// Which spawner the daemon picks: the helper beside the code or named by the environment, Node's own spawning
// when it is switched off or missing (said in the log), and a working helper end to end.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { directSpawner, HelperSpawner } from '@multus-ts/cni';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makePluginSpawner, SPAWN_HELPER_ENV, spawnHelperCandidates } from './plugin-spawner.ts';

const REPO_HELPER = resolve(import.meta.dirname, '..', '..', 'shim', 'multus-spawn');

let dir: string;
let lines: { level: string; fields: object; msg: string }[];
const logger = {
  info: (fields: object, msg: string) => lines.push({ level: 'info', fields, msg }),
  warn: (fields: object, msg: string) => lines.push({ level: 'warn', fields, msg }),
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mts-spawner-'));
  lines = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('makePluginSpawner', () => {
  it('looks beside the code in the image layout (bin/ next to dist/) and in the repository (packages/shim)', () => {
    expect(spawnHelperCandidates('/usr/src/multus-ts/dist')).toEqual([
      '/usr/src/multus-ts/bin/multus-spawn',
      '/usr/src/shim/multus-spawn',
    ]);
    expect(spawnHelperCandidates('/w/packages/daemon/dist')[1]).toBe('/w/packages/shim/multus-spawn');
  });

  it('uses the helper found beside the code', () => {
    const codeDir = join(dir, 'dist');
    mkdirSync(join(dir, 'bin'), { recursive: true });
    writeFileSync(join(dir, 'bin', 'multus-spawn'), '#!/bin/sh\n');
    chmodSync(join(dir, 'bin', 'multus-spawn'), 0o755);
    const s = makePluginSpawner({}, logger, codeDir);
    expect(s).toBeInstanceOf(HelperSpawner);
    expect(lines).toEqual([
      {
        level: 'info',
        fields: { helper: join(dir, 'bin', 'multus-spawn') },
        msg: expect.stringContaining('multus-spawn'),
      },
    ]);
  });

  it(`${SPAWN_HELPER_ENV}=off forks from the daemon, and says so`, () => {
    const s = makePluginSpawner({ [SPAWN_HELPER_ENV]: 'off' }, logger, dir);
    expect(s).toBe(directSpawner);
    expect(lines[0]?.msg).toContain('=off');
  });

  it('a missing or non-executable helper falls back to forking, with a warning naming where it looked', () => {
    const plain = join(dir, 'not-executable');
    writeFileSync(plain, 'x');
    for (const env of [{ [SPAWN_HELPER_ENV]: join(dir, 'absent') }, { [SPAWN_HELPER_ENV]: plain }, {}]) {
      lines = [];
      expect(makePluginSpawner(env, logger, join(dir, 'dist'))).toBe(directSpawner);
      expect(lines).toHaveLength(1);
      expect(lines[0]?.level).toBe('warn');
      expect((lines[0]?.fields as { looked?: string[] } | undefined)?.looked?.length).toBeGreaterThan(0);
    }
  });

  it('runs a process through the repository helper (run `make build` first)', async () => {
    const s = makePluginSpawner({ [SPAWN_HELPER_ENV]: REPO_HELPER }, logger, dir);
    expect(s, `no usable ${REPO_HELPER}: run \`make build\` first`).toBeInstanceOf(HelperSpawner);
    try {
      const out = await s.run({
        file: '/bin/sh',
        args: ['-c', 'cat; echo " ppid=$PPID"'],
        env: { PATH: '/usr/bin:/bin' },
        stdin: Buffer.from('hello'),
        timeoutMs: 10_000,
        maxStdout: 1024,
        maxStderr: 1024,
      });
      if (out instanceof Error) throw out;
      expect(out.exitCode).toBe(0);
      const text = out.stdout.toString();
      expect(text.startsWith('hello ppid=')).toBe(true);
      // started by the helper, not by this process
      expect(Number(text.split('=')[1])).toBe((s as HelperSpawner).pid);
      expect((s as HelperSpawner).pid).not.toBe(process.pid);
    } finally {
      await s.close?.();
    }
  });
});
