// Reading an open file to its end, but never more than `max + 1` bytes: callers refuse a file longer than `max`.
// Buffers are sized to the file (stat's size, normally a few KB), not to the bound: a bound-sized buffer per read
// (1 MiB) stays resident in malloc's heap after it is freed. The first read asks for one byte more than stat said,
// so a file that grew since is still read to its end, in 64 KiB steps.
import type { FileHandle } from 'node:fs/promises';

const GROWTH_CHUNK_BYTES = 64 * 1024;

/** The file's bytes from the current position: all of them, or the first `max + 1` when there are more. */
export async function readUpToBound(fh: FileHandle, statSize: number, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let len = 0;
  let want = Math.min(statSize, max) + 1;
  while (len <= max) {
    const buf = Buffer.allocUnsafe(Math.min(want, max + 1 - len));
    const { bytesRead } = await fh.read(buf, 0, buf.length, null);
    if (bytesRead === 0) break;
    chunks.push(buf.subarray(0, bytesRead));
    len += bytesRead;
    want = GROWTH_CHUNK_BYTES;
  }
  return Buffer.concat(chunks, len);
}
