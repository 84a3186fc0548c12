// Installs the fake CNI plugins of this folder into a bin dir as standalone executables: each is bundled with
// common.ts by esbuild and gets a `#!<this node>` line, so it runs without a shell launcher (a shell would add
// variables such as PWD to the environment the tests inspect) and without depending on PATH.
import { readFileSync, statSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { type Call, RECORD_ENV } from './common.ts';

export { type Call, RECORD_ENV };

/** The kinds of fake plugin, one source file each. */
export type FakeKind = 'recorder' | 'fail' | 'slow' | 'garbage' | 'flood' | 'hang' | 'crash';

const bundles = new Map<FakeKind, string>();

function bundle(kind: FakeKind): string {
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
export async function installFakePlugin(
  dir: string,
  name: string,
  kind: FakeKind = 'recorder',
): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!${process.execPath}\n${bundle(kind)}`);
  await chmod(path, 0o755);
  return path;
}

/** The calls recorded in `file` so far (one JSON object per line), oldest first; [] when none. */
export function readCalls(file: string): Call[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Call);
}

/** Whether a process is still running (a zombie waiting to be reaped counts as dead). */
export function isAlive(pid: number): boolean {
  try {
    statSync(`/proc/${pid}`);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
