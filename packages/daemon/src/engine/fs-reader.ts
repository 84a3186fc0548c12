// The file-system side of netspec's ConfDirReader: config directories and files for file-based networks (the
// cluster network's conflist is read on every ADD). Reads are cached and revalidated with a stat: an unchanged
// file (same mtime, size and inode) is not read and parsed again, an edited one is picked up at once.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { ConfDirReader } from '@multus-ts/netspec';

const MAX_FILE_BYTES = 1024 * 1024;
const MAX_CACHED = 256;

interface Cached<T> {
  key: string;
  value: T;
}

function stamp(st: { mtimeMs: number; size: number; ino: number }): string {
  return `${st.mtimeMs}:${st.size}:${st.ino}`;
}

export function cachingConfDirReader(): ConfDirReader {
  const files = new Map<string, Cached<string>>();
  const dirs = new Map<string, Cached<string[]>>();
  const remember = <T>(map: Map<string, Cached<T>>, path: string, entry: Cached<T>) => {
    if (map.size >= MAX_CACHED) map.delete(map.keys().next().value as string);
    map.set(path, entry);
  };
  return {
    list(dir: string): string[] {
      const key = stamp(statSync(dir));
      const hit = dirs.get(dir);
      if (hit?.key === key) return [...hit.value];
      const names = readdirSync(dir);
      remember(dirs, dir, { key, value: names });
      return [...names];
    },
    read(path: string): string {
      const st = statSync(path);
      if (!st.isFile()) throw new Error(`${path} is not a regular file`);
      if (st.size > MAX_FILE_BYTES) throw new Error(`${path} is larger than ${MAX_FILE_BYTES} bytes`);
      const key = stamp(st);
      const hit = files.get(path);
      if (hit?.key === key) return hit.value;
      const text = readFileSync(path, 'utf8');
      remember(files, path, { key, value: text });
      return text;
    },
  };
}

/** One shared instance: the daemon's view of its config directories. */
export const fsConfDirReader: ConfDirReader = cachingConfDirReader();
