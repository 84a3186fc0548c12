// Installs the misbehaving fake plugins that install.ts does not know (hang, crash) the same way: bundled with
// common.ts by esbuild into one executable with a `#!<this node>` line.
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

export type FaultyKind = 'hang' | 'crash';

const bundles = new Map<FaultyKind, string>();

function bundle(kind: FaultyKind): string {
  const cached = bundles.get(kind);
  if (cached) return cached;
  const out = buildSync({
    entryPoints: [join(import.meta.dirname, `${kind}.ts`)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    logLevel: 'silent',
  });
  const code = out.outputFiles[0]?.text;
  if (!code) throw new Error(`esbuild produced nothing for fake plugin ${kind}`);
  bundles.set(kind, code);
  return code;
}

/** Writes fake plugin `kind` as `<dir>/<name>` (mode 0755) and returns its path. */
export async function installFaultyPlugin(dir: string, name: string, kind: FaultyKind): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!${process.execPath}\n${bundle(kind)}`);
  await chmod(path, 0o755);
  return path;
}
