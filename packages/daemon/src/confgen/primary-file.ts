// Reading the primary CNI config file (bounded: it is another component's file in a shared directory) and the
// opt-in `forceCNIVersion` rewrite of it, done atomically and keeping the file's key order and mode.
import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { writeFileAtomic } from '@multus-ts/cni';
import { readUpToBound } from '../read-bounded.ts';

/** A primary config larger than this is refused (real ones are a few KB). */
export const PRIMARY_CONFIG_MAX_BYTES = 1024 * 1024;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The file's text, or undefined when it does not exist (any more). Throws on other errors and on oversize. */
export async function readPrimaryText(path: string): Promise<string | undefined> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`failed to read the cluster primary CNI config ${path}: ${(err as Error).message}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile())
      throw new Error(`failed to read the cluster primary CNI config ${path}: not a regular file`);
    // This runs on every change in the directory: see readUpToBound for why buffers follow the file's size.
    const bytes = await readUpToBound(fh, st.size, PRIMARY_CONFIG_MAX_BYTES);
    if (bytes.length > PRIMARY_CONFIG_MAX_BYTES) {
      throw new Error(
        `the cluster primary CNI config ${path} is larger than ${PRIMARY_CONFIG_MAX_BYTES} bytes`,
      );
    }
    return bytes.toString('utf8');
  } finally {
    await fh.close();
  }
}

/**
 * `forceCNIVersion` (upstream: kind/e2e only): make the primary's top-level cniVersion ours. Upstream re-marshals
 * the file non-atomically with sorted keys; we replace only that value, atomically, keeping order and mode.
 * Returns whether the file was rewritten. Unparseable text is left alone (the generator reports it).
 */
export async function forcePrimaryCniVersion(
  path: string,
  text: string,
  cniVersion: string,
): Promise<boolean> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return false;
  }
  if (!isObject(data) || data.cniVersion === cniVersion) return false;
  data.cniVersion = cniVersion;
  const mode = (await stat(path)).mode & 0o7777;
  await writeFileAtomic(path, JSON.stringify(data), { mode });
  return true;
}
