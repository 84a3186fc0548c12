// Bundles each entry point into one ESM file with esbuild (node builtins and npm dependencies stay external
// only where they must: everything else is inlined so `node packages/daemon/dist/main.js` needs no resolution).
import { existsSync } from 'node:fs';
import { build } from 'esbuild';

const entries: { in: string; out: string }[] = [
  { in: 'packages/daemon/src/main.ts', out: 'packages/daemon/dist/main.js' },
];

for (const e of entries) {
  if (!existsSync(e.in)) {
    console.log(`build: ${e.in} does not exist yet, skipped`);
    continue;
  }
  await build({
    entryPoints: [e.in],
    outfile: e.out,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    sourcemap: true,
    legalComments: 'none',
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  });
  console.log(`build: ${e.out}`);
}
