// Running one plugin binary: spawn with exactly the CNI environment, feed stdin, collect stdout/stderr under
// caps, enforce a deadline, decode the outcome. The process itself is started by a Spawner (spawner.ts):
// Node's child_process by default, or the multus-spawn helper; every decision below holds for both.
//
// Decisions:
// - The plugin runs as the leader of its own process group (detached => setsid). A timeout or an output cap
//   kills the whole group with SIGKILL, so an IPAM plugin or any other child the plugin started dies with it.
// - Timeout is code 11 (try again later): the plugin neither succeeded nor reported a failure, the condition may
//   well be transient (a loaded node at boot), and the runtime will DEL and retry. The stderr seen so far is kept.
// - Exceeding maxStdout/maxStderr is code 5 (I/O failure): the output could not be read within our limits.
// - "text file busy" (ETXTBSY, the binary is still open for writing, e.g. while an installer copies it) is
//   retried a few times with a pause, as upstream does (6 attempts, 1 s apart by default).
// - After the plugin exits, anything still holding its stdout/stderr open (a daemonised grandchild) gets a short
//   grace period; then the pipes are closed so one leaky plugin cannot hang the caller.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { CNI_ERRORS } from './catalogue.ts';
import { CniError } from './errors.ts';
import { decodePluginOutput, type FinishedRun, stoppedRunError } from './exec-decode.ts';
import { buildPluginEnv, type CniArgsInput, type CniCommand } from './exec-env.ts';
import { DEFAULT_DRAIN_GRACE_MS, directSpawner, type Spawner, type SpawnStop } from './spawner.ts';

export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_STDOUT = 4 * 1024 * 1024;
export const DEFAULT_MAX_STDERR = 1024 * 1024;
export const DEFAULT_ETXTBSY_RETRIES = 5;
export const DEFAULT_ETXTBSY_DELAY_MS = 1000;

export interface ExecPluginOptions {
  /** Absolute path of the plugin (from findPlugin). */
  pluginPath: string;
  command: CniCommand;
  containerId?: string | undefined;
  netns?: string | undefined;
  ifName?: string | undefined;
  /** CNI_ARGS, as a ready string or as [key, value] pairs. */
  args?: CniArgsInput | undefined;
  /** CNI_PATH: the bin dirs, in order. */
  path?: readonly string[] | string | undefined;
  /** The plugin config (or any bytes) for stdin. */
  stdin: Uint8Array | string;
  timeoutMs?: number | undefined;
  /** Names of the daemon's variables passed through to the plugin (default: PATH). */
  passEnv?: readonly string[] | undefined;
  /** Source of pass-through values (default: process.env). */
  envSource?: Readonly<Record<string, string | undefined>> | undefined;
  maxStdout?: number | undefined;
  maxStderr?: number | undefined;
  etxtbsyRetries?: number | undefined;
  etxtbsyDelayMs?: number | undefined;
  /**
   * Run the plugin with this directory as its root (`chroot` for this child only, never the caller). The plugin
   * is found in the caller's file system, so its path must be the same under the new root (as upstream).
   */
  chrootDir?: string | undefined;
  /** What starts the plugin process (default directSpawner, Node's child_process). */
  spawner?: Spawner | undefined;
}

/** coreutils' chroot(8); it reports an exec failure of the plugin with exit 126 and the errno text. */
export const CHROOT_BIN = '/usr/sbin/chroot';

export interface ExecPluginResult {
  /** stdout decoded as a JSON object; undefined when the plugin printed nothing. */
  output: Record<string, unknown> | undefined;
  /** What the plugin wrote to stderr (for the caller's logs). */
  stderr: string;
  durationMs: number;
  /** Spawn attempts (more than 1 only after "text file busy"). */
  attempts: number;
}

interface RawRun extends FinishedRun {
  stopped?: SpawnStop;
}

/** One spawn. Resolves with the run, or with the spawn error (ETXTBSY, ENOENT, ...) when exec itself failed. */
async function spawnOnce(
  opts: ExecPluginOptions,
  env: Record<string, string>,
  stdin: Uint8Array,
): Promise<RawRun | NodeJS.ErrnoException> {
  const spawner = opts.spawner ?? directSpawner;
  const outcome = await spawner.run({
    // chroot(8) goes through argv, never through a chroot of the caller (or of the spawn helper)
    file: opts.chrootDir ? CHROOT_BIN : opts.pluginPath,
    args: opts.chrootDir ? [opts.chrootDir, opts.pluginPath] : [],
    env,
    stdin,
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxStdout: opts.maxStdout ?? DEFAULT_MAX_STDOUT,
    maxStderr: opts.maxStderr ?? DEFAULT_MAX_STDERR,
    drainGraceMs: DEFAULT_DRAIN_GRACE_MS,
  });
  if (outcome instanceof Error) return outcome;
  return { ...outcome, pluginPath: opts.pluginPath, command: opts.command };
}

function toBytes(stdin: Uint8Array | string): Uint8Array {
  return typeof stdin === 'string' ? Buffer.from(stdin, 'utf8') : stdin;
}

/**
 * Runs one plugin and decodes its answer. Throws CniError: code 4 for a bad environment value, 5 when the plugin
 * cannot be executed or floods its output, 11 on timeout (or when the spawn helper was lost mid-run: outcome
 * unknown), 6 for undecodable output, and the plugin's own error
 * (or 999 with stderr in details) when it fails.
 */
export async function execPlugin(opts: ExecPluginOptions): Promise<ExecPluginResult> {
  const env = buildPluginEnv({
    command: opts.command,
    containerId: opts.containerId,
    netns: opts.netns,
    ifName: opts.ifName,
    args: opts.args,
    path: opts.path,
    passEnv: opts.passEnv,
    source: opts.envSource,
  });
  const stdin = toBytes(opts.stdin);
  const retries = opts.etxtbsyRetries ?? DEFAULT_ETXTBSY_RETRIES;
  const started = performance.now();
  for (let attempt = 1; ; attempt++) {
    const run = await spawnOnce(opts, env, stdin);
    if (run instanceof Error) {
      if (run.code === 'ETXTBSY' && attempt <= retries) {
        await sleep(opts.etxtbsyDelayMs ?? DEFAULT_ETXTBSY_DELAY_MS);
        continue;
      }
      throw CniError.of(
        CNI_ERRORS,
        'ERR_PLUGIN_SPAWN_FAILED',
        { path: opts.pluginPath, reason: run.code ?? run.message },
        attempt > 1 ? `after ${attempt} attempts` : undefined,
        run,
      );
    }
    if (
      opts.chrootDir &&
      run.exitCode === 126 &&
      /Text file busy/.test(Buffer.from(run.stderr).toString()) &&
      attempt <= retries
    ) {
      await sleep(opts.etxtbsyDelayMs ?? DEFAULT_ETXTBSY_DELAY_MS);
      continue;
    }
    if (run.stopped?.kind === 'timeout') {
      const ms = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const base = CniError.of(CNI_ERRORS, 'ERR_PLUGIN_TIMEOUT', {
        path: opts.pluginPath,
        command: opts.command,
        ms,
      });
      throw stoppedRunError(base, run);
    }
    if (run.stopped?.kind === 'overflow') {
      const { stream, max } = run.stopped;
      const base = CniError.of(CNI_ERRORS, 'ERR_PLUGIN_OUTPUT_TOO_LARGE', {
        path: opts.pluginPath,
        command: opts.command,
        max,
        stream,
      });
      throw stoppedRunError(base, run);
    }
    const output = decodePluginOutput(run);
    return {
      output,
      stderr: new TextDecoder('utf-8', { fatal: false }).decode(run.stderr),
      durationMs: performance.now() - started,
      attempts: attempt,
    };
  }
}
