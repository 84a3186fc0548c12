// A ConfDirReader over an in-memory map of absolute paths to texts: for tests, and for callers that already hold
// the files (e.g. a snapshot of a config directory).
import type { ConfDirReader } from './nad.ts';

function enoent(path: string): Error {
  return Object.assign(new Error(`ENOENT: no such file or directory, '${path}'`), { code: 'ENOENT' });
}

/** Directories are implied by the paths; listing returns each directory's direct entries (files and subdirs). */
export function memoryReader(files: Readonly<Record<string, string>>): ConfDirReader {
  return {
    list(dir: string): string[] {
      const prefix = dir.endsWith('/') ? dir : `${dir}/`;
      const names = new Set<string>();
      for (const path of Object.keys(files)) {
        if (!path.startsWith(prefix)) continue;
        const rest = path.slice(prefix.length);
        const name = rest.split('/')[0];
        if (name) names.add(name);
      }
      if (names.size === 0) throw enoent(dir);
      return [...names];
    },
    read(path: string): string {
      const text = files[path];
      if (text === undefined) throw enoent(path);
      return text;
    },
  };
}
