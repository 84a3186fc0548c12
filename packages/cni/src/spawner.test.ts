import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findSpawnHelper } from './spawner.ts';

describe('findSpawnHelper', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'multus-ts-find-spawn-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('returns the first candidate that is an executable regular file', () => {
    const plain = join(dir, 'plain');
    writeFileSync(plain, '');
    chmodSync(plain, 0o644);
    const folder = join(dir, 'folder');
    mkdirSync(folder);
    const good = join(dir, 'good');
    writeFileSync(good, '');
    chmodSync(good, 0o755);
    const second = join(dir, 'second');
    writeFileSync(second, '');
    chmodSync(second, 0o755);
    expect(findSpawnHelper([join(dir, 'absent'), plain, folder, good, second])).toBe(good);
  });

  it('returns undefined when no candidate fits, or there are none', () => {
    expect(findSpawnHelper([join(dir, 'absent'), dir, ''])).toBeUndefined();
    expect(findSpawnHelper([])).toBeUndefined();
  });
});
