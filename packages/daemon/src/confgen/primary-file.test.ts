import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PRIMARY_CONFIG_MAX_BYTES, readPrimaryText } from './primary-file.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mts-primary-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('readPrimaryText', () => {
  it('reads a small file whole, and an empty one as ""', async () => {
    const text = '{"cniVersion":"0.3.1","name":"cbr0","plugins":[{"type":"bridge"}]}';
    writeFileSync(join(dir, 'a.conflist'), text);
    writeFileSync(join(dir, 'empty.conf'), '');
    expect(await readPrimaryText(join(dir, 'a.conflist'))).toBe(text);
    expect(await readPrimaryText(join(dir, 'empty.conf'))).toBe('');
  });

  it('decodes multi-byte UTF-8 whole in a large file', async () => {
    const text = `{"name":"${'ü€𝄞'.repeat(40_000)}"}`; // ~360 KB
    writeFileSync(join(dir, 'big.conf'), text);
    expect(await readPrimaryText(join(dir, 'big.conf'))).toBe(text);
  });

  it('accepts exactly the bound and refuses one byte more', async () => {
    writeFileSync(join(dir, 'max.conf'), 'x'.repeat(PRIMARY_CONFIG_MAX_BYTES));
    writeFileSync(join(dir, 'over.conf'), 'x'.repeat(PRIMARY_CONFIG_MAX_BYTES + 1));
    expect((await readPrimaryText(join(dir, 'max.conf')))?.length).toBe(PRIMARY_CONFIG_MAX_BYTES);
    await expect(readPrimaryText(join(dir, 'over.conf'))).rejects.toThrow(
      `the cluster primary CNI config ${join(dir, 'over.conf')} is larger than ${PRIMARY_CONFIG_MAX_BYTES} bytes`,
    );
  });

  it('is undefined for a missing file (also through a dangling symlink) and refuses a directory', async () => {
    expect(await readPrimaryText(join(dir, 'nope.conf'))).toBeUndefined();
    symlinkSync(join(dir, 'gone.conf'), join(dir, 'dangling.conf'));
    expect(await readPrimaryText(join(dir, 'dangling.conf'))).toBeUndefined();
    mkdirSync(join(dir, 'd.conf'));
    await expect(readPrimaryText(join(dir, 'd.conf'))).rejects.toThrow(/not a regular file/);
  });
});
