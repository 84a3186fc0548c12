// Keeps <cniConfigDir>/00-multus.conf in step with the primary CNI config, for as long as the daemon runs.
// Where upstream is fragile (multus-thick.md §2.6, §10 items 2-4) this follows issue 5 and spec 6.1 instead:
// - the file is only ever replaced atomically with a complete, generated config, never written empty;
// - a primary that is missing, half-written or invalid leaves the last good file in place and is retried;
// - every change in the directory re-runs discovery, so a removed primary is replaced by the next one and an
//   earlier-sorting new primary takes over;
// - stop() keeps the file (pods scheduled during a restart must not fall back to the primary); removing it is the
//   uninstall option `cleanupOnExit`;
// - removal of the readiness indicator file is an observable state, not an exit.
import { EventEmitter } from 'node:events';
import { rm } from 'node:fs/promises';
import { CniError } from '@multus-ts/cni';
import { DAEMON_CONFIG_ERRORS } from '../config/catalogue.ts';
import { MULTUS_CONF_FILE } from '../config/defaults.ts';
import type { DaemonConfig } from '../config/views.ts';
import { DirWatchSet } from './dir-watch.ts';
import { runConfPass } from './pass.ts';
import { ReadinessTracker } from './readiness.ts';
import { goJoin, type PrimarySelection } from './select.ts';

export type ConfLogLevel = 'debug' | 'info' | 'warn' | 'error';
export type ConfLogger = (
  level: ConfLogLevel,
  msg: string,
  fields?: Readonly<Record<string, unknown>>,
) => void;

export interface MultusConfManagerOptions {
  readonly config: DaemonConfig;
  readonly log?: ConfLogger;
  /** Remove 00-multus.conf in stop() (uninstall). Default: `config.ours.cleanupConfigOnExit`. */
  readonly cleanupOnExit?: boolean;
  /** Start-up: how many times to look for a usable primary. Default: `config.ours.primaryConfigWaitSeconds`. */
  readonly primaryWaitAttempts?: number;
  /** Start-up: pause between attempts (cut short by a change in the directory). Default 1000. */
  readonly primaryWaitIntervalMs?: number;
  /** Quiet time after a directory event before re-reading. Default 100. */
  readonly debounceMs?: number;
  /** While the primary is missing or unusable: re-check this often. Default 1000. */
  readonly retryIntervalMs?: number;
  /** Full re-check regardless of events (a missed inotify event cannot strand us). 0 disables. Default 30000. */
  readonly resyncIntervalMs?: number;
  /** Readiness indicator poll. Default 1000. */
  readonly readinessPollMs?: number;
}

export interface WrittenInfo {
  readonly path: string;
  readonly primary: string;
  readonly content: string;
}

type Outcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'no-primary' }
  | { readonly kind: 'failed'; readonly error: CniError; readonly transient: boolean };

type State = 'idle' | 'starting' | 'running' | 'stopped';

const noop: ConfLogger = () => {};

export class MultusConfManager extends EventEmitter<{
  readiness: [ready: boolean];
  written: [info: WrittenInfo];
  problem: [error: CniError];
}> {
  readonly #config: DaemonConfig;
  readonly #log: ConfLogger;
  readonly #cleanupOnExit: boolean;
  readonly #attempts: number;
  readonly #waitMs: number;
  readonly #debounceMs: number;
  readonly #retryMs: number;
  readonly #resyncMs: number;
  readonly #outputPath: string;
  readonly #readiness: ReadinessTracker;
  readonly #watch: DirWatchSet;

  #state: State = 'idle';
  #primary: PrimarySelection | undefined;
  #content: string | undefined;
  #lastProblem: string | undefined;
  #missingLogged = false;
  #running: Promise<Outcome> | undefined;
  #dirty = false;
  #debounce: NodeJS.Timeout | undefined;
  #debounceSince = 0;
  #retry: NodeJS.Timeout | undefined;
  #resync: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  /** A directory event seen during start-up while no wait was in progress. */
  #eventDuringStart = false;

  constructor(opts: MultusConfManagerOptions) {
    super();
    const m = opts.config.multus;
    this.#config = opts.config;
    this.#log = opts.log ?? noop;
    this.#cleanupOnExit = opts.cleanupOnExit ?? opts.config.ours.cleanupConfigOnExit;
    this.#attempts = Math.max(
      1,
      Math.ceil(opts.primaryWaitAttempts ?? opts.config.ours.primaryConfigWaitSeconds),
    );
    this.#waitMs = opts.primaryWaitIntervalMs ?? 1000;
    this.#debounceMs = opts.debounceMs ?? 100;
    this.#retryMs = opts.retryIntervalMs ?? 1000;
    this.#resyncMs = opts.resyncIntervalMs ?? 30_000;
    this.#outputPath = goJoin(m.cniConfigDir, MULTUS_CONF_FILE);
    this.#readiness = new ReadinessTracker(m.readinessindicatorfile, {
      pollMs: opts.readinessPollMs ?? 1000,
    });
    this.#readiness.on('change', (ready) => {
      this.#log(
        ready ? 'info' : 'warn',
        ready
          ? 'readiness indicator file is present: node ready'
          : 'readiness indicator file is gone: node not ready',
        {
          file: m.readinessindicatorfile,
        },
      );
      this.emit('readiness', ready);
    });
    this.#watch = new DirWatchSet([m.multusAutoconfigDir, m.cniConfigDir], (_dir, fileName) => {
      this.#onDirEvent(fileName);
    });
  }

  /** Full path of the 00-multus.conf this manager maintains. */
  get outputPath(): string {
    return this.#outputPath;
  }

  /** The primary currently behind 00-multus.conf (its `clusterNetwork`). */
  get primaryPath(): string | undefined {
    return this.#primary?.path;
  }

  /** The last content generated and known to be on disk. */
  get content(): string | undefined {
    return this.#content;
  }

  /** Why the last attempt to regenerate failed, while the failure lasts. */
  get problem(): string | undefined {
    return this.#lastProblem;
  }

  /** Readiness indicator present (always true when none is configured). */
  get ready(): boolean {
    return this.#readiness.ready;
  }

  whenReady(timeoutMs: number): Promise<boolean> {
    return this.#readiness.whenReady(timeoutMs);
  }

  /**
   * Waits for a usable primary (bounded), writes 00-multus.conf, then keeps it current until stop(). Rejects with
   * upstream's "failed to find the cluster master CNI plugin" text after the attempts, at once for a primary that
   * cannot work (version mismatch, recursive master), and if stop() is called meanwhile.
   */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`MultusConfManager: start() in state ${this.#state}`);
    this.#state = 'starting';
    await this.#readiness.start();
    await this.#watch.ensure();
    let last: Outcome = { kind: 'no-primary' };
    // An attempt is used up by a wait that ran its full length; a directory event cuts the wait short and
    // triggers an extra look without using up an attempt, so the bound stays about attempts x interval.
    let attempt = 1;
    for (;;) {
      this.#eventDuringStart = false;
      last = await this.#reconcileSerialized();
      if (this.#isStopped()) break;
      if (last.kind === 'ok') break;
      if (last.kind === 'failed' && !last.transient) break;
      if (attempt >= this.#attempts) break;
      if (!(await this.#sleepOrWake(this.#waitMs))) attempt++;
      if (this.#isStopped()) break;
    }
    if (this.#isStopped()) throw new Error('MultusConfManager: stopped before start completed');
    if (last.kind !== 'ok') {
      this.#teardown();
      this.#state = 'stopped';
      if (last.kind === 'failed') throw last.error;
      throw CniError.of(DAEMON_CONFIG_ERRORS, 'ERR_CONFGEN_NO_PRIMARY', {
        dir: this.#config.multus.multusAutoconfigDir,
      });
    }
    this.#state = 'running';
    if (this.#resyncMs > 0) {
      this.#resync = setInterval(() => this.#kick(), this.#resyncMs);
      this.#resync.unref();
    }
    // Something changed after the pass that succeeded: look again rather than wait for the next event.
    if (this.#eventDuringStart) this.#kick();
  }

  /** Re-reads everything now (for operators and tests); resolves when 00-multus.conf reflects it. */
  async resync(): Promise<void> {
    if (this.#state !== 'running') return;
    await this.#reconcileSerialized();
  }

  /** Stops watching; keeps 00-multus.conf unless cleanupOnExit. Waits for an in-flight write to finish. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#teardown();
    await this.#running?.catch(() => undefined);
    if (this.#cleanupOnExit) {
      await rm(this.#outputPath, { force: true });
      this.#log('info', 'removed 00-multus.conf (cleanup on exit)', { file: this.#outputPath });
    }
  }

  #isStopped(): boolean {
    return this.#state === 'stopped';
  }

  #teardown(): void {
    for (const t of [this.#debounce, this.#retry]) if (t) clearTimeout(t);
    if (this.#resync) clearInterval(this.#resync);
    this.#debounce = this.#retry = this.#resync = undefined;
    this.#watch.close();
    this.#readiness.stop();
    this.#wake?.();
  }

  /** Resolves true when woken by a directory event (or stop), false when the full wait elapsed. */
  #sleepOrWake(ms: number): Promise<boolean> {
    if (this.#eventDuringStart) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve(false);
      }, ms);
      this.#wake = () => {
        this.#wake = undefined;
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  #onDirEvent(fileName: string | null): void {
    // Our own temp files come and go on every write; they never change the outcome.
    if (fileName?.startsWith(`.${MULTUS_CONF_FILE}.`)) return;
    if (this.#state === 'starting') {
      this.#eventDuringStart = true;
      this.#wake?.();
      return;
    }
    if (this.#state !== 'running') return;
    const now = Date.now();
    if (this.#debounce) {
      // Keep postponing while events stream in, but not forever.
      if (now - this.#debounceSince >= 10 * this.#debounceMs) return;
      clearTimeout(this.#debounce);
    } else this.#debounceSince = now;
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      this.#kick();
    }, this.#debounceMs);
  }

  #kick(): void {
    if (this.#state !== 'running') return;
    void this.#reconcileSerialized();
  }

  /** One reconcile at a time; a request arriving meanwhile runs once more afterwards. */
  #reconcileSerialized(): Promise<Outcome> {
    if (this.#running) {
      this.#dirty = true;
      return this.#running;
    }
    const run = async (): Promise<Outcome> => {
      let outcome: Outcome;
      do {
        this.#dirty = false;
        outcome = await this.#reconcile();
      } while (this.#dirty && !this.#isStopped());
      this.#afterOutcome(outcome);
      return outcome;
    };
    this.#running = run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  #afterOutcome(outcome: Outcome): void {
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = undefined;
    if (outcome.kind !== 'ok' && this.#state === 'running') {
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        this.#kick();
      }, this.#retryMs);
      this.#retry.unref();
    }
  }

  async #reconcile(): Promise<Outcome> {
    await this.#watch.ensure();
    const pass = await runConfPass(this.#config, this.#outputPath, () => !this.#isStopped());
    if (pass.kind === 'no-primary') return this.#noPrimary();
    if (pass.kind === 'failed') return this.#failed(pass.error, pass.transient);
    const { selection, content } = pass;
    if (pass.wrote) {
      this.#log('info', 'wrote 00-multus.conf', { file: this.#outputPath, primary: selection.path, content });
      this.emit('written', { path: this.#outputPath, primary: selection.path, content });
    }
    if (this.#primary && this.#primary.path !== selection.path) {
      this.#log('info', 'primary CNI config changed', { from: this.#primary.path, to: selection.path });
    }
    this.#primary = selection;
    this.#content = content;
    this.#missingLogged = false;
    if (this.#lastProblem !== undefined) {
      this.#log('info', '00-multus.conf is current again', { primary: selection.path });
    }
    this.#lastProblem = undefined;
    return { kind: 'ok' };
  }

  #noPrimary(): Outcome {
    if (!this.#missingLogged) {
      this.#missingLogged = true;
      const dir = this.#config.multus.multusAutoconfigDir;
      if (this.#content !== undefined) {
        this.#log('warn', 'no primary CNI config any more; keeping 00-multus.conf until one appears', {
          dir,
          clusterNetwork: this.#primary?.path,
        });
      } else this.#log('info', 'waiting for a primary CNI config', { dir });
    }
    return { kind: 'no-primary' };
  }

  #failed(error: CniError, transient: boolean): Outcome {
    const first = this.#lastProblem !== error.message;
    this.#lastProblem = error.message;
    this.#log(first ? 'error' : 'debug', 'cannot regenerate 00-multus.conf; the last good one stays', {
      error: error.message,
      kept: this.#content !== undefined,
    });
    if (first) this.emit('problem', error);
    return { kind: 'failed', error, transient };
  }
}
