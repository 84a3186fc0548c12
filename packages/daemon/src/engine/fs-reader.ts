// The file-system side of netspec's ConfDirReader: config directories and files for file-based networks.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { ConfDirReader } from '@multus-ts/netspec';

const MAX_FILE_BYTES = 1024 * 1024;

export const fsConfDirReader: ConfDirReader = {
  list(dir: string): string[] {
    return readdirSync(dir);
  },
  read(path: string): string {
    const st = statSync(path);
    if (!st.isFile()) throw new Error(`${path} is not a regular file`);
    if (st.size > MAX_FILE_BYTES) throw new Error(`${path} is larger than ${MAX_FILE_BYTES} bytes`);
    return readFileSync(path, 'utf8');
  },
};
