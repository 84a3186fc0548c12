// Reading the primary CNI config file (bounded: it is another component's file in a shared directory) and the
// opt-in `forceCNIVersion` rewrite of it, done atomically and keeping the file's key order and mode.
import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { writeFileAtomic } from '@multus-ts/cni';

/** A primary config larger than this is refused (real ones are a few KB). */
export const PRIMARY_CONFIG_MAX_BYTES = 1024 * 1024;
/** Reads after the first (a file that grew while being read). */
const READ_CHUNK_BYTES = 64 * 1024;

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
    // Buffers sized to the file (a few KB), not to the bound: this runs on every change in the directory, and a
    // 1 MiB buffer each time left that much freed-but-resident memory in the daemon's malloc heap. The first read
    // asks for one byte more than stat said, so a file that grew since is still read to its end (and bounded).
    const chunks: Buffer[] = [];
    let len = 0;
    let want = Math.min(st.size, PRIMARY_CONFIG_MAX_BYTES) + 1;
    while (len <= PRIMARY_CONFIG_MAX_BYTES) {
      const buf = Buffer.allocUnsafe(Math.min(want, PRIMARY_CONFIG_MAX_BYTES + 1 - len));
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      chunks.push(buf.subarray(0, bytesRead));
      len += bytesRead;
      want = READ_CHUNK_BYTES;
    }
    if (len > PRIMARY_CONFIG_MAX_BYTES) {
      throw new Error(
        `the cluster primary CNI config ${path} is larger than ${PRIMARY_CONFIG_MAX_BYTES} bytes`,
      );
    }
    return Buffer.concat(chunks, len).toString('utf8');
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
