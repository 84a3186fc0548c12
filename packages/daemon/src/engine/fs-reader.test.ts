import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cachingConfDirReader } from './fs-reader.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mts-reader-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('cachingConfDirReader', () => {
  it('returns new content as soon as the file changes (same size, new mtime)', () => {
    const r = cachingConfDirReader();
    const p = join(dir, '10-a.conflist');
    writeFileSync(p, '{"a":1}');
    utimesSync(p, 1000, 1000);
    expect(r.read(p)).toBe('{"a":1}');
    writeFileSync(p, '{"a":2}');
    utimesSync(p, 2000, 2000);
    expect(r.read(p)).toBe('{"a":2}');
  });
  it('sees new directory entries and refuses directories and oversized files', () => {
    const r = cachingConfDirReader();
    expect(r.list(dir)).toEqual([]);
    writeFileSync(join(dir, 'x.conf'), '{}');
    expect(r.list(dir)).toEqual(['x.conf']);
    expect(() => r.read(dir)).toThrow(/not a regular file/);
    writeFileSync(join(dir, 'big.conf'), Buffer.alloc(1024 * 1024 + 1));
    expect(() => r.read(join(dir, 'big.conf'))).toThrow(/larger than/);
    expect(() => r.read(join(dir, 'absent.conf'))).toThrow(/ENOENT/);
  });
});
