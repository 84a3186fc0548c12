// Replacing a file so that every reader sees either the old or the new complete content, never an empty or
// partial one: temp file in the same directory, write, rename. `durable` adds fsync of the file and of the
// directory so the new content also survives a power loss (00-multus.conf); caches whose entries a power loss
// makes moot anyway skip it (1-3 ms per write). The temp name starts with '.' and ends in '.tmp' so neither
// config discovery, a runtime's config loader nor a cache listing picks it up.
//
// writeFileAtomicSync is for the small, hot, non-durable caches (the CNI result cache, the delegate cache): five
// synchronous calls on a local file system take ~0.2 ms, where the promise API's six thread-pool round trips
// take ~0.5-0.7 ms of an ADD's critical path.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

let counter = 0;
/** Random per process, so a recycled pid cannot reuse a dead writer's names; `wx` refuses any clash anyway. */
const processTag = randomBytes(4).toString('hex');

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${++counter}.${processTag}.tmp`);
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

export interface AtomicWriteSyncOptions extends AtomicWriteOptions {
  /** Create the parent directory (recursively, with this mode) when it is missing. */
  mkdirMode?: number;
}

/** writeFileAtomic with synchronous calls (see the top of this file for when). Non-durable by default. */
export function writeFileAtomicSync(
  path: string,
  data: string | Uint8Array,
  opts: AtomicWriteSyncOptions = {},
): void {
  const mode = opts.mode ?? 0o600;
  const tmp = tempPathFor(path);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || opts.mkdirMode === undefined) throw err;
    mkdirSync(dirname(path), { recursive: true, mode: opts.mkdirMode });
    fd = openSync(tmp, 'wx', mode);
  }
  let renamed = false;
  try {
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      for (let off = 0; off < bytes.byteLength; ) off += writeSync(fd, bytes, off);
      fchmodSync(fd, mode);
      if (opts.durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    renamed = true;
    if (opts.durable) {
      const dirFd = openSync(dirname(path), 'r');
      try {
        fsyncSync(dirFd);
      } finally {
        closeSync(dirFd);
      }
    }
  } finally {
    if (!renamed) rmSync(tmp, { force: true });
  }
}

const TEMP_RE = /^\..+\.(\d+)\.\d+\.[0-9a-f]{8}\.tmp$/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temp files writeFileAtomic left in `dir` when its writer died between write and rename (kill -9,
 * OOM): those of processes that no longer exist. Returns how many were removed; a missing dir is nothing to do.
 */
export async function sweepStaleTempFiles(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const m = TEMP_RE.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || alive(pid)) continue;
    await rm(join(dir, name), { force: true });
    removed++;
  }
  return removed;
}
