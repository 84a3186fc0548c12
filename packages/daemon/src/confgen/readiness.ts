// The readiness indicator file as an observable state: present = ready. Upstream exits the daemon (and deletes
// 00-multus.conf) when the file disappears; we report "not ready" instead so the server can answer ADD with
// "try again later" until it returns. A directory watch gives quick reactions, a poll covers what a watch can miss
// (the directory not existing yet, network filesystems, overflowed inotify queues).
import { EventEmitter } from 'node:events';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { DirWatchSet } from './dir-watch.ts';

export interface ReadinessOptions {
  readonly pollMs: number;
}

export class ReadinessTracker extends EventEmitter<{ change: [ready: boolean] }> {
  readonly #path: string;
  readonly #pollMs: number;
  #ready: boolean;
  #poll: NodeJS.Timeout | undefined;
  #watch: DirWatchSet | undefined;
  #checking: Promise<void> | undefined;
  #recheck = false;
  #stopped = false;

  /** An empty `path` means no readiness indicator is configured: always ready. */
  constructor(path: string, opts: ReadinessOptions) {
    super();
    this.#path = path;
    this.#pollMs = opts.pollMs;
    this.#ready = path === '';
  }

  get ready(): boolean {
    return this.#ready;
  }

  get path(): string {
    return this.#path;
  }

  async start(): Promise<void> {
    if (this.#path === '') return;
    const name = basename(this.#path);
    this.#watch = new DirWatchSet([dirname(this.#path)], (_dir, fileName) => {
      if (fileName === null || fileName === name) void this.check();
    });
    await this.#watch.ensure();
    await this.check();
    this.#poll = setInterval(() => {
      void this.#watch?.ensure();
      void this.check();
    }, this.#pollMs);
    this.#poll.unref();
  }

  /** Re-reads the file's presence now; concurrent calls coalesce into one more check. */
  check(): Promise<void> {
    if (this.#path === '' || this.#stopped) return Promise.resolve();
    if (this.#checking) {
      this.#recheck = true;
      return this.#checking;
    }
    this.#checking = (async () => {
      do {
        this.#recheck = false;
        const present = await stat(this.#path).then(
          () => true,
          () => false,
        );
        if (!this.#stopped && present !== this.#ready) {
          this.#ready = present;
          this.emit('change', present);
        }
      } while (this.#recheck && !this.#stopped);
    })().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  /** Resolves true as soon as ready, false after `timeoutMs` without becoming ready. */
  whenReady(timeoutMs: number): Promise<boolean> {
    if (this.#ready) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onChange = (ready: boolean): void => {
        if (!ready) return;
        clearTimeout(timer);
        this.off('change', onChange);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.off('change', onChange);
        resolve(this.#ready);
      }, timeoutMs);
      this.on('change', onChange);
    });
  }

  stop(): void {
    this.#stopped = true;
    if (this.#poll) clearInterval(this.#poll);
    this.#poll = undefined;
    this.#watch?.close();
    this.#watch = undefined;
  }
}
