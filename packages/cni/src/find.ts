// Resolving a plugin `type` to an executable in an ordered list of bin dirs.
//
// A `type` is untrusted: for multus-ts it comes from a NetworkAttachmentDefinition that any user of a namespace
// can write. So it must be a bare file name ([A-Za-z0-9._-], not '.' or '..', at most NAME_MAX bytes): no '/',
// no NUL, no '..', nothing that could name a file outside the bin dirs. Anything else is code 7 before the
// file system is touched.
//
// Symlinks. The bin dirs themselves belong to the node's administrator, not to the config's author. A symlink in
// a bin dir is followed wherever it points, as libcni does (it stats through links): distributions and
// installers commonly ship plugins as links (e.g. /opt/cni/bin/bridge -> /usr/lib/cni/bridge), and only someone
// who can already write the bin dir can plant one. What the untrusted name controls, which entry of which bin
// dir, cannot escape. The target must still be a regular, executable file; dangling links, links to
// directories or to non-executable files are skipped like any other unusable entry. The returned path is the
// entry in the bin dir (not the link's target), the same path libcni would execute.
import { accessSync, constants, type Stats, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { CNI_ERRORS } from './catalogue.ts';
import { CniError } from './errors.ts';

const PLUGIN_TYPE_RE = /^[A-Za-z0-9._-]+$/;
/** Linux NAME_MAX: no file name can be longer, so a longer `type` can only be an attack or a mistake. */
export const MAX_PLUGIN_TYPE_LENGTH = 255;

/** A short, printable rendering of an untrusted string for error messages (quoted, escaped, capped). */
export function quoteUntrusted(value: string, max = 64): string {
  const head = value.length > max ? `${value.slice(0, max)}...` : value;
  return JSON.stringify(head);
}

/** Returns `type` when it is a bare plugin name; throws code 7 (ERR_PLUGIN_TYPE_INVALID) otherwise. */
export function validatePluginType(type: unknown): string {
  const bad = (reason: string, shown: string) =>
    CniError.of(CNI_ERRORS, 'ERR_PLUGIN_TYPE_INVALID', { type: shown, reason });
  if (typeof type !== 'string') throw bad('must be a string', quoteUntrusted(String(JSON.stringify(type))));
  const shown = quoteUntrusted(type);
  if (type === '') throw bad('must not be empty', shown);
  if (type.includes('\0')) throw bad('must not contain NUL', shown);
  if (type.includes('/')) throw bad('must be a bare name, not a path', shown);
  if (type === '.' || type === '..') throw bad('must not be "." or ".."', shown);
  if (type.length > MAX_PLUGIN_TYPE_LENGTH)
    throw bad(`longer than ${MAX_PLUGIN_TYPE_LENGTH} characters`, shown);
  if (!PLUGIN_TYPE_RE.test(type)) throw bad('only letters, digits, ".", "_" and "-" are allowed', shown);
  return type;
}

/** Checks the bin dir list: non-empty, every entry an absolute path without NUL or ':' (CNI_PATH's separator). */
export function validateBinDirs(binDirs: readonly string[]): readonly string[] {
  if (binDirs.length === 0) {
    throw CniError.of(CNI_ERRORS, 'ERR_BIN_DIR_INVALID', { dir: '', reason: 'no bin dirs given' });
  }
  for (const dir of binDirs) {
    const shown = quoteUntrusted(dir).slice(1, -1);
    if (typeof dir !== 'string' || !isAbsolute(dir)) {
      throw CniError.of(CNI_ERRORS, 'ERR_BIN_DIR_INVALID', {
        dir: shown,
        reason: 'must be an absolute path',
      });
    }
    if (dir.includes('\0') || dir.includes(':')) {
      throw CniError.of(CNI_ERRORS, 'ERR_BIN_DIR_INVALID', {
        dir: shown,
        reason: 'must not contain NUL or ":"',
      });
    }
  }
  return binDirs;
}

/**
 * Why an existing entry was passed over, or undefined when it is usable. Synchronous on purpose: two metadata
 * calls on a local directory take microseconds, where two thread-pool round trips cost ~0.1 ms of every delegate
 * run (measured by test/bench/cni-overhead.ts).
 */
function unusable(path: string): string | undefined {
  let info: Stats | undefined;
  try {
    info = statSync(path, { throwIfNoEntry: false });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') return 'absent';
    return `cannot stat (${code ?? String(err)})`;
  }
  if (info === undefined) return 'absent';
  if (!info.isFile()) return 'not a regular file';
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return 'not executable';
  }
  return undefined;
}

/**
 * The first `<binDir>/<type>` that is a regular executable file (links followed), in bin dir order.
 * Throws code 7: ERR_PLUGIN_TYPE_INVALID for a non-bare name, ERR_PLUGIN_NOT_FOUND (details list the entries
 * that exist but were unusable) when no bin dir has it.
 */
export async function findPlugin(type: string, binDirs: readonly string[]): Promise<string> {
  validatePluginType(type);
  validateBinDirs(binDirs);
  const skipped: string[] = [];
  for (const dir of binDirs) {
    const candidate = join(dir, type);
    const why = unusable(candidate);
    if (why === undefined) return candidate;
    if (why !== 'absent') skipped.push(`${candidate}: ${why}`);
  }
  throw CniError.of(
    CNI_ERRORS,
    'ERR_PLUGIN_NOT_FOUND',
    { type: quoteUntrusted(type), path: binDirs.join(' ') },
    skipped.length > 0 ? `skipped ${skipped.join('; ')}` : undefined,
  );
}
