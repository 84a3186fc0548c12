// Replacing a file so that every reader sees either the old or the new complete content, never an empty or
// partial one: temp file in the same directory, write, rename. `durable` adds fsync of the file and of the
// directory so the new content also survives a power loss (00-multus.conf); caches whose entries a power loss
// makes moot anyway skip it (1-3 ms per write). The temp name starts with '.' and ends in '.tmp' so neither
// config discovery, a runtime's config loader nor a cache listing picks it up.
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

let counter = 0;

function tempPathFor(path: string): string {
  const unique = `${process.pid}.${++counter}.${randomBytes(4).toString('hex')}`;
  return join(dirname(path), `.${basename(path)}.${unique}.tmp`);
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export interface AtomicWriteOptions {
  /** File mode, exactly, whatever the umask. Default 0o600. */
  mode?: number;
  /** fsync the file and its directory. Default true. */
  durable?: boolean;
}

/** Atomically replaces `path` with `data`. */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const mode = opts.mode ?? 0o600;
  const durable = opts.durable ?? true;
  const tmp = tempPathFor(path);
  let renamed = false;
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.chmod(mode);
      if (durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    renamed = true;
    if (durable) await fsyncDir(dirname(path));
  } finally {
    if (!renamed) await rm(tmp, { force: true });
  }
}
