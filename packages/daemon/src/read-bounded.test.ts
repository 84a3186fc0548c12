import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readUpToBound } from './read-bounded.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mts-bounded-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function read(content: Buffer, statSize: number, max: number): Promise<Buffer> {
  const p = join(dir, 'f');
  writeFileSync(p, content);
  const fh = await open(p, 'r');
  try {
    return await readUpToBound(fh, statSize, max);
  } finally {
    await fh.close();
  }
}

describe('readUpToBound', () => {
  it('reads a file whole, also one that grew past what stat said (in several steps)', async () => {
    const small = Buffer.from('{"a":1}');
    expect((await read(small, small.length, 1024)).equals(small)).toBe(true);
    const grown = Buffer.alloc(200 * 1024, 0x61);
    expect((await read(grown, 10, 1024 * 1024)).equals(grown)).toBe(true);
    expect((await read(Buffer.alloc(0), 0, 16)).length).toBe(0);
  });

  it('stops one byte past the bound, whatever stat said', async () => {
    const big = Buffer.alloc(300 * 1024, 0x62);
    for (const statSize of [0, 100, big.length]) {
      const got = await read(big, statSize, 100 * 1024);
      expect(got.length).toBe(100 * 1024 + 1);
      expect(got.equals(big.subarray(0, got.length))).toBe(true);
    }
  });
});
