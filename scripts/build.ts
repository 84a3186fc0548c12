// Bundles multus-daemon with esbuild into packages/daemon/dist, as two files: main.js (src/main.ts, the small entry
// that sets the process up) and cli.js (src/cli.ts and everything it imports). main.js loads cli.js only after
// enabling the compile cache, which is why they are separate. Node built-ins aside, npm dependencies are inlined,
// so `node packages/daemon/dist/main.js` needs no package resolution; the image copies the whole directory.
// Parts cli.js loads lazily (the kubelet gRPC client, the YAML parser, the metrics registry) stay inside it as
// esbuild's lazily initialised modules: parsed, never run unless used. (Code splitting would leave them out of the
// parse as well, but it turns a dynamic import of a CommonJS package into a namespace with only `default`.)
// What the options are for (measured in docs/operations.md, "Memory"):
// - minifyWhitespace: drops comments and indentation, so the source V8 keeps for lazy compilation is ~1/2 the size,
//   and one-byte (a single non-ASCII character in a comment made V8 store the whole 4 MB bundle as UTF-16);
//   names are kept, so stack traces stay readable without the source map.
// - require-builtins: `import x from 'node:http'` in an ES module builds an ESM facade that reads every export
//   (node:http's lazy WebSocket getters load all of undici, ~5 MB); a require() does not.
import { existsSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { type BuildOptions, build, type Plugin } from 'esbuild';

const BUILTINS = new Set(builtinModules);

/** Static imports of Node built-ins become require() calls (through the banner's createRequire). */
const requireBuiltins: Plugin = {
  name: 'require-builtins',
  setup(b) {
    b.onResolve({ filter: /^[a-z:_/0-9]+$/ }, (args) => {
      const bare = args.path.replace(/^node:/, '');
      if (args.kind !== 'import-statement' || !(args.path.startsWith('node:') || BUILTINS.has(bare)))
        return undefined;
      return { path: args.path, namespace: 'builtin-require' };
    });
    b.onLoad({ filter: /.*/, namespace: 'builtin-require' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/** main.ts's `import('./cli.ts')` stays an import, of the second bundle beside it. */
const cliBesideMain: Plugin = {
  name: 'cli-beside-main',
  setup(b) {
    b.onResolve({ filter: /^\.\/cli\.ts$/ }, () => ({ path: './cli.js', external: true }));
  },
};

const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  charset: 'ascii',
  minifyWhitespace: true,
  sourcemap: true,
  legalComments: 'none',
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
};

const entries: { in: string; out: string; plugins: Plugin[] }[] = [
  { in: 'packages/daemon/src/main.ts', out: 'packages/daemon/dist/main.js', plugins: [cliBesideMain] },
  { in: 'packages/daemon/src/cli.ts', out: 'packages/daemon/dist/cli.js', plugins: [] },
];

// A fresh directory: files of an earlier layout and their compile-cache entries would otherwise stay behind.
for (const dir of new Set(entries.map((e) => dirname(e.out)))) rmSync(dir, { recursive: true, force: true });

for (const e of entries) {
  if (!existsSync(e.in)) {
    console.log(`build: ${e.in} does not exist yet, skipped`);
    continue;
  }
  await build({ ...common, entryPoints: [e.in], outfile: e.out, plugins: [requireBuiltins, ...e.plugins] });
  console.log(`build: ${join(e.out)}`);
}
