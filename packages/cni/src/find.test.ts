import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CniError } from './errors.ts';
import { findPlugin, MAX_PLUGIN_TYPE_LENGTH, validateBinDirs, validatePluginType } from './find.ts';

function codeOf(fn: () => unknown): { code: number; id: string | undefined; msg: string } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CniError);
    const e = err as CniError;
    return { code: e.code, id: e.id, msg: e.msg };
  }
  throw new Error('expected a CniError');
}

async function rejection(p: Promise<unknown>): Promise<CniError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(CniError);
    return err as CniError;
  }
  throw new Error('expected a rejection');
}

describe('validatePluginType', () => {
  const hostile: [string, unknown][] = [
    ['empty', ''],
    ['slash', '/'],
    ['dot', '.'],
    ['dotdot', '..'],
    ['traversal', '../bridge'],
    ['deep traversal', '../../../../bin/sh'],
    ['absolute path', '/bin/sh'],
    ['sub path', 'sub/bridge'],
    ['NUL', 'bridge\0'],
    ['space', 'my plugin'],
    ['shell metacharacters', 'bridge;rm -rf /'],
    ['newline', 'bridge\nmacvlan'],
    ['non-ASCII', 'brïdge'],
    ['backslash', '..\\bridge'],
    ['too long', 'a'.repeat(MAX_PLUGIN_TYPE_LENGTH + 1)],
    ['number', 42],
    ['null', null],
    ['object', { type: 'bridge' }],
  ];
  it.each(hostile)('refuses %s with code 7', (_label, type) => {
    const e = codeOf(() => validatePluginType(type));
    expect(e.code).toBe(7);
    expect(e.id).toBe('ERR_PLUGIN_TYPE_INVALID');
  });

  it('accepts bare names made of letters, digits, dot, underscore and dash', () => {
    for (const t of ['bridge', 'host-local', 'sriov_cni', 'v1.2', '...', '.hidden', 'a'.repeat(255)]) {
      expect(validatePluginType(t)).toBe(t);
    }
  });

  it('quotes and caps hostile names in the message', () => {
    const e = codeOf(() => validatePluginType(`evil\n${'x'.repeat(500)}`));
    expect(e.msg).toContain('"evil\\n');
    expect(e.msg.length).toBeLessThan(200);
  });

  it('accepts exactly the plain names (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        const plain = /^[A-Za-z0-9._-]+$/.test(s) && s !== '.' && s !== '..';
        let accepted = true;
        try {
          validatePluginType(s);
        } catch (err) {
          accepted = false;
          expect((err as CniError).code).toBe(7);
        }
        expect(accepted).toBe(plain);
      }),
    );
  });
});

describe('validateBinDirs', () => {
  it.each([
    ['no dirs', []],
    ['relative dir', ['opt/cni/bin']],
    ['dir with a colon', ['/opt/cni:/bin']],
    ['dir with NUL', ['/opt/cni\0']],
  ])('refuses %s with code 7', (_label, dirs) => {
    const e = codeOf(() => validateBinDirs(dirs));
    expect(e.code).toBe(7);
    expect(e.id).toBe('ERR_BIN_DIR_INVALID');
  });
});

describe('findPlugin', () => {
  let root: string;
  let a: string;
  let b: string;

  async function exe(path: string, mode = 0o755): Promise<void> {
    await writeFile(path, '#!/bin/sh\nexit 0\n');
    await chmod(path, mode);
  }

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'multus-ts-find-'));
    a = join(root, 'a');
    b = join(root, 'b');
    await mkdir(a);
    await mkdir(b);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('returns the first bin dir that has the plugin', async () => {
    await exe(join(a, 'p'));
    await exe(join(b, 'p'));
    expect(await findPlugin('p', [a, b])).toBe(join(a, 'p'));
    expect(await findPlugin('p', [b, a])).toBe(join(b, 'p'));
  });

  it('passes over a non-executable file and a directory of that name', async () => {
    await exe(join(a, 'p'), 0o644);
    await exe(join(b, 'p'));
    expect(await findPlugin('p', [a, b])).toBe(join(b, 'p'));
    await mkdir(join(a, 'q'));
    await exe(join(b, 'q'));
    expect(await findPlugin('q', [a, b])).toBe(join(b, 'q'));
  });

  it('is code 7 with the path list and the skipped entries when no dir has a usable plugin', async () => {
    await exe(join(a, 'p'), 0o600);
    const e = await rejection(findPlugin('p', [a, b]));
    expect(e.code).toBe(7);
    expect(e.id).toBe('ERR_PLUGIN_NOT_FOUND');
    expect(e.msg).toBe(`failed to find plugin "p" in path [${a} ${b}]`);
    expect(e.details).toContain(`${join(a, 'p')}: not executable`);
    const missing = await rejection(findPlugin('nothing', [a]));
    expect(missing.code).toBe(7);
    expect(missing.details).toBeUndefined();
  });

  it('follows a symlink that points out of the bin dir to an executable, returning the bin dir path', async () => {
    const outside = join(root, 'outside');
    await mkdir(outside);
    await exe(join(outside, 'real'));
    await symlink(join(outside, 'real'), join(a, 'linked'));
    expect(await findPlugin('linked', [a])).toBe(join(a, 'linked'));
  });

  it('passes over dangling symlinks and symlinks to directories or non-executables', async () => {
    await symlink(join(root, 'nowhere'), join(a, 'dangling'));
    await symlink(root, join(a, 'todir'));
    await exe(join(root, 'plain'), 0o644);
    await symlink(join(root, 'plain'), join(a, 'tofile'));
    for (const t of ['dangling', 'todir', 'tofile']) {
      const e = await rejection(findPlugin(t, [a]));
      expect(e.code).toBe(7);
      expect(e.id).toBe('ERR_PLUGIN_NOT_FOUND');
    }
  });

  it('refuses path traversal and absolute paths before touching the file system', async () => {
    await exe(join(root, 'escape'));
    for (const t of ['../escape', `${root}/escape`, '..', '']) {
      const e = await rejection(findPlugin(t, [a]));
      expect(e.code).toBe(7);
      expect(e.id).toBe('ERR_PLUGIN_TYPE_INVALID');
    }
  });
});
