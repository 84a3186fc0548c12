// Fake plugin "flood": records the call, then writes `bytes` (default 8 MiB) of '{' to `stream` (stdout or
// stderr, default stdout) and exits 0.
import { writeSync } from 'node:fs';
import { readStdin, record } from './common.ts';

const { text, conf } = readStdin();
record(text, conf);
const total = typeof conf['bytes'] === 'number' ? conf['bytes'] : 8 * 1024 * 1024;
const fd = conf['stream'] === 'stderr' ? 2 : 1;
const chunk = Buffer.alloc(64 * 1024, '{');
let written = 0;
while (written < total) {
  try {
    written += writeSync(fd, chunk, 0, Math.min(chunk.length, total - written));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
    break; // the reader went away (killed for flooding): nothing left to do
  }
}
