import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic, writeFileAtomicSync } from './atomic-file.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mts-aw-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  it('creates and replaces with exactly the given bytes and mode, leaving no temp file', async () => {
    const p = join(dir, '00-multus.conf');
    const oldUmask = process.umask(0o077);
    try {
      await writeFileAtomic(p, '{"a":1}', { mode: 0o644 });
    } finally {
      process.umask(oldUmask);
    }
    expect(readFileSync(p, 'utf8')).toBe('{"a":1}');
    expect(statSync(p).mode & 0o777).toBe(0o644);
    const before = statSync(p).ino;
    await writeFileAtomic(p, new TextEncoder().encode('{"b":2}'));
    expect(readFileSync(p, 'utf8')).toBe('{"b":2}');
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(statSync(p).ino).not.toBe(before); // a new inode: readers of the old one saw complete old content
    expect(readdirSync(dir)).toEqual(['00-multus.conf']);
  });

  it('a failed rename leaves the target untouched and no temp file behind', async () => {
    const target = join(dir, 'occupied');
    mkdirSync(target);
    writeFileSync(join(target, 'inside'), 'x');
    await expect(writeFileAtomic(target, 'data')).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['occupied']);
    expect(readFileSync(join(target, 'inside'), 'utf8')).toBe('x');
  });

  it('a missing directory fails without creating anything', async () => {
    await expect(writeFileAtomic(join(dir, 'no', 'such', 'file'), 'x')).rejects.toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('an empty payload is written as such (the caller decides; the manager never passes one)', async () => {
    const p = join(dir, 'empty');
    await writeFileAtomic(p, '');
    expect(readFileSync(p, 'utf8')).toBe('');
  });
});

describe('writeFileAtomicSync', () => {
  it('replaces with exactly the given bytes and mode whatever the umask, in a new inode, leaving no temp file', () => {
    const p = join(dir, 'entry');
    const oldUmask = process.umask(0o077);
    try {
      writeFileAtomicSync(p, '{"a":1}', { mode: 0o640 });
    } finally {
      process.umask(oldUmask);
    }
    expect(statSync(p).mode & 0o777).toBe(0o640);
    const before = statSync(p).ino;
    const big = new Uint8Array(3 * 1024 * 1024).fill(0x61);
    writeFileAtomicSync(p, big, { durable: true });
    expect(readFileSync(p).equals(Buffer.from(big))).toBe(true);
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(statSync(p).ino).not.toBe(before);
    expect(readdirSync(dir)).toEqual(['entry']);
  });

  it('creates a missing parent only when asked, with the mode asked', () => {
    const p = join(dir, 'results', 'deeper', 'entry');
    expect(() => writeFileAtomicSync(p, 'x')).toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual([]);
    writeFileAtomicSync(p, 'x', { mkdirMode: 0o700 });
    expect(readFileSync(p, 'utf8')).toBe('x');
    expect(statSync(join(dir, 'results', 'deeper')).mode & 0o777).toBe(0o700);
  });

  it('a failed rename leaves the target untouched and no temp file behind', () => {
    const target = join(dir, 'occupied');
    mkdirSync(target);
    writeFileSync(join(target, 'inside'), 'x');
    expect(() => writeFileAtomicSync(target, 'data')).toThrow();
    expect(readdirSync(dir)).toEqual(['occupied']);
    expect(readFileSync(join(target, 'inside'), 'utf8')).toBe('x');
  });

  it('a parent that is a file fails (ENOTDIR) even with mkdirMode, creating nothing', () => {
    writeFileSync(join(dir, 'file'), 'x');
    expect(() => writeFileAtomicSync(join(dir, 'file', 'entry'), 'y', { mkdirMode: 0o700 })).toThrow(
      /ENOTDIR/,
    );
    expect(readdirSync(dir)).toEqual(['file']);
  });
});

describe('sweepStaleTempFiles', () => {
  it("removes dead writers' temp files and keeps live ones and everything else", async () => {
    const { sweepStaleTempFiles } = await import('./atomic-file.ts');
    const dead = join(dir, '.c1.999999.3.0badf00d.tmp');
    const mine = join(dir, `.c2.${process.pid}.1.0badf00d.tmp`);
    const other = join(dir, 'c3');
    for (const p of [dead, mine, other]) writeFileSync(p, 'x');
    expect(await sweepStaleTempFiles(dir)).toBe(1);
    expect(readdirSync(dir).sort()).toEqual([`.c2.${process.pid}.1.0badf00d.tmp`, 'c3']);
    expect(await sweepStaleTempFiles(join(dir, 'absent'))).toBe(0);
  });
});
