// HelperSpawner: runs every request through one long-lived multus-spawn process (packages/shim), which does the
// fork/exec, pipes, caps, deadlines and reaping, so this process never forks itself.
//
// Decisions:
// - The helper starts lazily on the first run. When it cannot be started at all (missing, not executable), or
//   it dies three times in a row before answering anything, the spawner falls back to directSpawner for good
//   and says so once through onFallback: plugins still run, only slower.
// - When a running helper is lost (it exits, is killed, or writes something that is not a result frame), every
//   run it had in flight fails with code 11 (ERR_SPAWN_HELPER_LOST): the plugin may or may not have run, and
//   the children it started keep running on their own. The next run starts a new helper.
// - A request the helper cannot take (a NUL inside a string, caps over its limits, a frame over 64 MiB) runs
//   through directSpawner, so its answer is what Node gives.
// - An idle helper does not keep the event loop alive; one with runs in flight does.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { CNI_ERRORS } from './catalogue.ts';
import { CniError } from './errors.ts';
import {
  encodeSpawnRequest,
  type ResultFrame,
  ResultFrameReader,
  ResultKind,
  SpawnProtocolError,
  StopCode,
  signalName,
  spawnError,
} from './spawn-frames.ts';
import { directSpawner, type Spawner, type SpawnOutcome, type SpawnRequest } from './spawner.ts';

export interface HelperSpawnerOptions {
  /** The multus-spawn binary (see findSpawnHelper). */
  helperPath: string;
  /** Each line the helper writes to its stderr (its diagnostics). */
  onLog?: ((line: string) => void) | undefined;
  /** Called once when the spawner gives up on the helper and runs everything directly from then on. */
  onFallback?: ((reason: string) => void) | undefined;
  /** How long close() waits for runs in flight before it kills the helper (default 10 s). */
  closeTimeoutMs?: number | undefined;
}

/** Consecutive helpers that die before answering anything, before the spawner falls back for good. */
const MAX_SILENT_DEATHS = 3;

interface Pending {
  req: SpawnRequest;
  resolve: (outcome: SpawnOutcome | NodeJS.ErrnoException) => void;
  reject: (err: CniError) => void;
}

interface Helper {
  child: ChildProcess;
  pending: Map<number, Pending>;
  reader: ResultFrameReader;
  lost: boolean;
  answered: boolean;
  closing: boolean;
  stderrTail: string;
}

export class HelperSpawner implements Spawner {
  readonly #opts: HelperSpawnerOptions;
  #helper: Helper | undefined;
  #fallbackReason: string | undefined;
  #nextId = 1;
  #silentDeaths = 0;

  constructor(opts: HelperSpawnerOptions) {
    this.#opts = opts;
  }

  /** The running helper's pid, if one is running. */
  get pid(): number | undefined {
    return this.#helper?.child.pid;
  }

  /** Why the spawner runs everything directly, once it does. */
  get fallbackReason(): string | undefined {
    return this.#fallbackReason;
  }

  run(req: SpawnRequest): Promise<SpawnOutcome | NodeJS.ErrnoException> {
    if (this.#fallbackReason !== undefined) return directSpawner.run(req);
    const helper = this.#helper ?? this.#start();
    if (!helper) return directSpawner.run(req);
    let id = this.#nextId;
    while (helper.pending.has(id)) id = (id + 1) >>> 0;
    this.#nextId = (id + 1) >>> 0;
    const frame = encodeSpawnRequest(id, req);
    if (typeof frame === 'string') return directSpawner.run(req);
    return new Promise((resolve, reject) => {
      helper.pending.set(id, { req, resolve, reject });
      setRef(helper, true);
      helper.child.stdin?.write(frame);
    });
  }

  /**
   * Ends the helper's stdin and waits until it has finished the runs in flight and exited; after closeTimeoutMs
   * it is killed (what is still in flight then fails with code 11). A later run starts a new helper.
   */
  async close(): Promise<void> {
    const helper = this.#helper;
    if (!helper) return;
    this.#helper = undefined;
    helper.closing = true;
    if (helper.lost) return;
    setRef(helper, true);
    const closed = new Promise<void>((resolve) => helper.child.once('close', () => resolve()));
    helper.child.stdin?.end();
    const killer = setTimeout(() => helper.child.kill('SIGKILL'), this.#opts.closeTimeoutMs ?? 10_000);
    try {
      await closed;
    } finally {
      clearTimeout(killer);
    }
  }

  #start(): Helper | undefined {
    const path = this.#opts.helperPath;
    let child: ChildProcess;
    try {
      accessSync(path, fsConstants.X_OK);
      child = spawn(path, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (err) {
      this.#fallBack(`cannot start ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      return undefined;
    }
    if (child.pid === undefined) {
      // exec failed after all: Node reports the error through an 'error' event on the next tick
      child.on('error', () => {});
      this.#fallBack(`cannot start ${path}`);
      return undefined;
    }
    const helper: Helper = {
      child,
      pending: new Map(),
      reader: new ResultFrameReader(),
      lost: false,
      answered: false,
      closing: false,
      stderrTail: '',
    };
    this.#helper = helper;
    child.stdout?.on('data', (chunk: Buffer) => this.#onData(helper, chunk));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => this.#onStderr(helper, text));
    child.stdin?.on('error', () => {
      // EPIPE after the helper died: 'close' below fails what was in flight
    });
    child.on('error', () => {
      // a failed kill() or write; the 'close' event decides
    });
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      if (helper.stderrTail !== '') this.#opts.onLog?.(helper.stderrTail);
      helper.stderrTail = '';
      const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
      this.#lose(helper, `${path} ${how}`);
    });
    setRef(helper, false);
    return helper;
  }

  #onData(helper: Helper, chunk: Buffer): void {
    if (helper.lost) return;
    let frames: ResultFrame[];
    try {
      frames = helper.reader.push(chunk);
    } catch (err) {
      const why = err instanceof SpawnProtocolError ? err.message : String(err);
      this.#lose(helper, `${this.#opts.helperPath} wrote an invalid result frame (${why})`);
      return;
    }
    for (const frame of frames) {
      const pending = helper.pending.get(frame.id);
      if (!pending) {
        this.#lose(helper, `${this.#opts.helperPath} answered unknown request ${frame.id}`);
        return;
      }
      helper.pending.delete(frame.id);
      helper.answered = true;
      this.#silentDeaths = 0;
      pending.resolve(toOutcome(frame, pending.req));
    }
    if (helper.pending.size === 0 && !helper.closing) setRef(helper, false);
  }

  #onStderr(helper: Helper, text: string): void {
    const lines = (helper.stderrTail + text).split('\n');
    helper.stderrTail = lines.pop() ?? '';
    for (const line of lines) this.#opts.onLog?.(line);
  }

  /** The helper is gone or unusable: fail its runs in flight (outcome unknown) and let the next run restart. */
  #lose(helper: Helper, reason: string): void {
    if (helper.lost) return;
    helper.lost = true;
    if (this.#helper === helper) this.#helper = undefined;
    if (helper.child.exitCode === null && helper.child.signalCode === null) helper.child.kill('SIGKILL');
    const inFlight = [...helper.pending.values()];
    helper.pending.clear();
    for (const { req, reject } of inFlight) {
      reject(CniError.of(CNI_ERRORS, 'ERR_SPAWN_HELPER_LOST', { path: req.file }, reason));
    }
    if (!helper.closing && !helper.answered && inFlight.length > 0) {
      this.#silentDeaths++;
      if (this.#silentDeaths >= MAX_SILENT_DEATHS) {
        this.#fallBack(`${MAX_SILENT_DEATHS} helpers in a row died before answering; the last: ${reason}`);
      }
    }
  }

  #fallBack(reason: string): void {
    if (this.#fallbackReason !== undefined) return;
    this.#fallbackReason = reason;
    this.#opts.onFallback?.(reason);
  }
}

function toOutcome(frame: ResultFrame, req: SpawnRequest): SpawnOutcome | NodeJS.ErrnoException {
  if (frame.kind === ResultKind.ExecFailed) return spawnError(req, frame.value);
  const outcome: SpawnOutcome = {
    exitCode: frame.kind === ResultKind.Exited ? frame.value : null,
    signal: frame.kind === ResultKind.Signaled ? signalName(frame.value) : null,
    stdout: frame.stdout,
    stderr: frame.stderr,
  };
  if (frame.stopped === StopCode.Timeout) outcome.stopped = { kind: 'timeout' };
  if (frame.stopped === StopCode.Stdout)
    outcome.stopped = { kind: 'overflow', stream: 'stdout', max: req.maxStdout };
  if (frame.stopped === StopCode.Stderr)
    outcome.stopped = { kind: 'overflow', stream: 'stderr', max: req.maxStderr };
  return outcome;
}

/** Whether the helper's process and pipes keep the event loop alive. */
function setRef(helper: Helper, on: boolean): void {
  const handles = [helper.child, helper.child.stdin, helper.child.stdout, helper.child.stderr];
  for (const h of handles) {
    const refable = h as unknown as { ref?: () => void; unref?: () => void } | null;
    if (on) refable?.ref?.();
    else refable?.unref?.();
  }
}
