// multus-daemon entry point: `node packages/daemon/dist/main.js --config <file>` (cli.ts has the command line).
// This module only prepares the process, so it imports nothing but Node built-ins and runtime-flags.ts, then
// loads the daemon: first the V8 flags (before the daemon's code allocates or compiles anything), then the
// compile cache, so V8 deserialises the bundle's code instead of parsing it again (parsing a 2 MB bundle leaves
// several MB of freed-but-resident malloc memory behind). In the image the cache is written at build time
// (images/Dockerfile runs `main.js -version`); elsewhere the first start writes it.
import { enableCompileCache } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyDaemonV8Flags } from './runtime-flags.ts';

/** Beside the bundle: `<dist>/.compile-cache`. NODE_COMPILE_CACHE names another directory. */
export const COMPILE_CACHE_DIR = '.compile-cache';

applyDaemonV8Flags();
const here = fileURLToPath(import.meta.url);
// Only for the bundle (dist/main.js), not when this file runs from source under Node's type stripping.
if (here.endsWith('.js'))
  enableCompileCache(process.env['NODE_COMPILE_CACHE'] || join(dirname(here), COMPILE_CACHE_DIR));
await import('./cli.ts');
