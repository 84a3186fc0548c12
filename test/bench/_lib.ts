// Shared pieces of the daemon benchmarks: summary statistics, the build check, /proc readings of the daemon,
// a time bound that still cleans up, and the headline rows run.ts turns into the README table. Files whose name
// starts with `_` are not benchmarks (run.ts skips them).
import { existsSync, readFileSync } from 'node:fs';
import { DAEMON_MAIN, SHIM_BIN, SPAWN_HELPER_BIN } from '../support/daemon-harness.ts';
import { ipPath, netnsExists, run } from '../support/netns.ts';

export interface Summary {
  n: number;
  p50: number;
  min: number;
  max: number;
}

export const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

/** Median (upper median for even counts), min and max, rounded to the microsecond. */
export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: round(sorted[Math.floor(sorted.length / 2)] ?? Number.NaN),
    min: round(sorted[0] ?? Number.NaN),
    max: round(sorted.at(-1) ?? Number.NaN),
  };
}

/** One row of the headline table (run.ts renders these; `met` is undefined where there is no target). */
export interface Headline {
  name: string;
  value: number | string;
  unit: string;
  target?: string;
  met?: boolean;
}

/** The benchmarks measure what `make build` produced; they never build it themselves. */
export function requireBuild(): void {
  const missing = [
    ['daemon bundle', DAEMON_MAIN],
    ['multus-shim', SHIM_BIN],
    ['multus-spawn', SPAWN_HELPER_BIN],
  ].filter(([, path]) => !existsSync(path ?? ''));
  if (missing.length > 0) {
    throw new Error(
      `bench: ${missing.map(([what, path]) => `the ${what} is missing at ${path}`).join('; ')}: run \`make build\` first (make bench does)`,
    );
  }
}

export interface ProcMemory {
  /** Resident set size now. */
  vmRssKiB: number;
  /** Peak resident set size since the process started. */
  vmHwmKiB: number;
  rssAnonKiB: number;
  rssFileKiB: number;
}

/** Memory figures of a live process from /proc/<pid>/status. */
export function procMemory(pid: number): ProcMemory {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    if (!m) throw new Error(`/proc/${pid}/status has no ${key}`);
    return Number(m[1]);
  };
  return {
    vmRssKiB: kib('VmRSS'),
    vmHwmKiB: kib('VmHWM'),
    rssAnonKiB: kib('RssAnon'),
    rssFileKiB: kib('RssFile'),
  };
}

/** User + system CPU time of a process so far, in ms (/proc/<pid>/stat, clock ticks of 100 Hz). */
export function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at index 2 of the split below.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Polls VmRSS of a process every `everyMs` while running, keeping the peak (VmHWM covers the whole life). */
export class RssSampler {
  peakKiB = 0;
  samples = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(pid: number, everyMs = 20) {
    const sample = () => {
      try {
        this.peakKiB = Math.max(this.peakKiB, procMemory(pid).vmRssKiB);
        this.samples++;
      } catch {
        // the process has exited: the last sample stands
      }
    };
    sample();
    this.#timer = setInterval(sample, everyMs);
  }

  stop(): number {
    clearInterval(this.#timer);
    return this.peakKiB;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Deletes a network namespace now (TestScope's own undo step skips namespaces that are already gone). */
export async function deleteNetns(name: string): Promise<void> {
  if (netnsExists(name)) await run(ipPath(), ['netns', 'delete', name]);
}

/** Runs `tasks` with at most `width` at a time. */
export async function inBatches<T>(
  items: readonly T[],
  width: number,
  task: (item: T, i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

/**
 * Runs a benchmark's body under a time bound. `cleanup` runs once, whatever happens: after the body, when the
 * bound passes, and on SIGTERM/SIGINT (run.ts's own timeout), so no namespace or daemon outlives the script.
 * The body's result is printed as one JSON document on stdout.
 */
export async function runBench(
  name: string,
  budgetMs: number,
  body: () => Promise<unknown>,
  cleanup: () => Promise<void>,
): Promise<void> {
  let cleaned: Promise<void> | undefined;
  const cleanOnce = () => {
    cleaned ??= cleanup().catch((err: unknown) => {
      process.stderr.write(`${name}: cleanup failed: ${(err as Error).message}\n`);
      process.exitCode = 1;
    });
    return cleaned;
  };
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`${name}: ${sig}: cleaning up\n`);
    void cleanOnce().finally(() => process.exit(1));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${name}: did not finish within ${budgetMs / 1000} s`)),
      budgetMs,
    );
  });
  try {
    const result = await Promise.race([body(), bound]);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } catch (err) {
    process.stderr.write(`${name}: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  } finally {
    clearTimeout(timer);
    await cleanOnce();
  }
  // A body abandoned by the time bound may still hold timers or children: leave now that cleanup is done.
  process.exit();
}
