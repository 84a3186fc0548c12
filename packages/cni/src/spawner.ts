// The seam between execPlugin and whatever starts the plugin process. directSpawner is Node's child_process;
// HelperSpawner (helper-spawner.ts) hands the same requests to the small multus-spawn process, so the daemon
// never forks itself (a fork of a 100+ MB Node process costs milliseconds on the main thread per plugin run).
//
// The contract both keep, so execPlugin behaves the same with either:
// - The child leads its own process group (detached => setsid). A timeout or an output cap kills the whole
//   group with SIGKILL and is reported in `stopped`; whatever was read until then is kept (within the caps).
// - The child gets exactly `env`, default signal dispositions, and no descriptors but its three pipes.
// - stdin is written in full unless the child stops reading (EPIPE is not an error).
// - After the child exits, anything still holding its stdout/stderr open (a daemonised grandchild) gets
//   `drainGraceMs`; then the pipes are closed so one leaky plugin cannot hang the caller.
// - When exec itself fails, run() resolves with the errno-coded error (`code` ENOENT, EACCES, ETXTBSY, ...).
//   It rejects only when the outcome is unknown (HelperSpawner lost its helper: a CniError, code 11).
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';

/** How long pipes may stay open after the child itself has exited, unless a request says otherwise. */
export const DEFAULT_DRAIN_GRACE_MS = 500;

/** Why a run was cut short. */
export type SpawnStop = { kind: 'timeout' } | { kind: 'overflow'; stream: 'stdout' | 'stderr'; max: number };

export interface SpawnRequest {
  /** The file to execute; argv[0] is this path too. */
  file: string;
  /** argv[1..]. */
  args: readonly string[];
  /** The child's whole environment. */
  env: Readonly<Record<string, string>>;
  stdin: Uint8Array;
  timeoutMs: number;
  maxStdout: number;
  maxStderr: number;
  /** Default DEFAULT_DRAIN_GRACE_MS. */
  drainGraceMs?: number | undefined;
}

export interface SpawnOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
  stopped?: SpawnStop;
}

export interface Spawner {
  /** Resolves with the finished run, or with the errno-coded error when exec itself failed. */
  run(req: SpawnRequest): Promise<SpawnOutcome | NodeJS.ErrnoException>;
  /** Releases what the spawner holds (a helper process); runs in flight finish first (bounded). */
  close?(): Promise<void>;
}

/** Kills the child's whole process group; the leader alone if the group is already gone. */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

function runDirect(req: SpawnRequest): Promise<SpawnOutcome | NodeJS.ErrnoException> {
  const caps = { stdout: req.maxStdout, stderr: req.maxStderr };
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(req.file, [...req.args], {
        env: { ...req.env },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      });
    } catch (err) {
      // Some exec failures (ETXTBSY among them) are thrown synchronously, others arrive as 'error' events.
      resolve(err as NodeJS.ErrnoException);
      return;
    }
    const chunks: Record<'stdout' | 'stderr', Buffer[]> = { stdout: [], stderr: [] };
    const sizes = { stdout: 0, stderr: 0 };
    let stopped: SpawnStop | undefined;
    let settled = false;
    let drainTimer: NodeJS.Timeout | undefined;

    const stop = (why: SpawnStop) => {
      if (stopped) return;
      stopped = why;
      killGroup(child);
      child.stdout?.destroy();
      child.stderr?.destroy();
    };
    const deadline = setTimeout(() => stop({ kind: 'timeout' }), req.timeoutMs);

    const finish = (value: SpawnOutcome | NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      if (drainTimer) clearTimeout(drainTimer);
      resolve(value);
    };

    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream]?.on('data', (chunk: Buffer) => {
        if (stopped) return;
        sizes[stream] += chunk.length;
        if (sizes[stream] > caps[stream]) {
          stop({ kind: 'overflow', stream, max: caps[stream] });
          return;
        }
        chunks[stream].push(chunk);
      });
      child[stream]?.on('error', () => {
        // a destroyed pipe; the outcome is decided by exit status and `stopped`
      });
    }
    // A child may exit without reading stdin (VERSION, or an early failure): EPIPE here is not an error.
    child.stdin?.on('error', () => {});
    child.stdin?.end(req.stdin);

    child.on('error', (err: NodeJS.ErrnoException) => {
      if (child.pid === undefined) finish(err);
    });
    child.on('exit', () => {
      drainTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, req.drainGraceMs ?? DEFAULT_DRAIN_GRACE_MS);
    });
    child.on('close', (exitCode: number | null, signal: NodeJS.Signals | null) => {
      finish({
        exitCode,
        signal,
        stdout: Buffer.concat(chunks.stdout),
        stderr: Buffer.concat(chunks.stderr),
        ...(stopped ? { stopped } : {}),
      });
    });
  });
}

/** Node's child_process: one fork of this process per run. */
export const directSpawner: Spawner = { run: runDirect };

/** The first candidate that is an executable regular file (e.g. where the daemon's image puts multus-spawn). */
export function findSpawnHelper(candidates: readonly string[]): string | undefined {
  for (const path of candidates) {
    try {
      if (!statSync(path).isFile()) continue;
      accessSync(path, fsConstants.X_OK);
      return path;
    } catch {
      // missing or not executable: try the next
    }
  }
  return undefined;
}
