// The V8 settings multus-daemon runs with, applied by main.ts before the daemon's code is loaded. They live here,
// in the bundle, rather than on each command line (image ENTRYPOINT, DaemonSet, test harness, make demo), so every
// way of starting `node dist/main.js` gets the same ones. Each is read by V8 when it decides (young-generation
// growth, tiering), so setting it at run time takes full effect; flags that only count at isolate creation
// (--max-semi-space-size, --jitless) are not used for that reason. docs/operations.md ("Memory") has the figures.
import { setFlagsFromString } from 'node:v8';

/**
 * - `--semi-space-growth-factor=1`: the young generation stays at its initial 2 x 1 MiB instead of growing to
 *   2 x 8 MiB under load and staying there; more frequent, shorter scavenges.
 * - `--no-opt --no-maglev --no-sparkplug`: bytecode interpreter only. The daemon's JavaScript is a small part of
 *   an ADD (plugins and the API dominate); the optimising compilers cost code pages, code space and compile zones.
 * - `--optimize-for-size`: V8's own memory-over-speed trade-offs (heap growth, object layouts).
 */
export const DAEMON_V8_FLAGS: readonly string[] = [
  '--semi-space-growth-factor=1',
  '--no-opt',
  '--no-maglev',
  '--no-sparkplug',
  '--optimize-for-size',
];

/** `--no-opt`, `--opt`, `--no_opt=...` → `opt`; `--max-semi-space-size=1` → `max-semi-space-size`. */
export function v8FlagName(arg: string): string | undefined {
  if (!arg.startsWith('--') || arg === '--') return undefined;
  const name = arg.slice(2).split('=', 1)[0]!.replaceAll('_', '-');
  return name.startsWith('no-') ? name.slice(3) : name;
}

/**
 * The daemon's flags minus those the operator chose: a flag named on node's command line or in NODE_OPTIONS
 * (e.g. `node --opt dist/main.js` to get the optimising compiler back) is left as the operator set it.
 */
export function flagsToApply(
  ours: readonly string[],
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string[] {
  const operator = new Set(
    [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].map(v8FlagName).filter((n) => n !== undefined),
  );
  return ours.filter((f) => !operator.has(v8FlagName(f) ?? f));
}

/** Applies the daemon's V8 flags to this process; returns the ones applied. */
export function applyDaemonV8Flags(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env['NODE_OPTIONS'],
): string[] {
  const applied = flagsToApply(DAEMON_V8_FLAGS, execArgv, nodeOptions);
  for (const f of applied) setFlagsFromString(f);
  return applied;
}
