// The daemon's `logFile` sink: a pino destination over rotating-file-stream, which does the size rotation, the
// backup count and gzip as upstream's `logOptions` (lumberjack) ask. On top of it only what the library lacks:
// removal of backups by age, and a guard so that a failing disk never takes the daemon down with it.
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, extname, join, sep } from 'node:path';
import type { DestinationStream } from 'pino';
import { createStream, type RotatingFileStream } from 'rotating-file-stream';
import type { LogOptions } from './config/index.ts';

/** Upstream's defaults (lumberjack through pkg/logging) when a logFile is set. */
export const ROTATION_DEFAULTS = { maxSize: 100, maxAge: 5, maxBackups: 5, compress: true } as const;
const MB = 1024 * 1024;
const DAY_MS = 86_400_000;

export interface RotationPolicy {
  /** The file is rotated once it holds this many bytes. */
  maxBytes: number;
  /** Remove backups older than this many days; 0 keeps them whatever their age. */
  maxAgeDays: number;
  /** Keep at most this many backups; 0 keeps all (age still applies). */
  maxBackups: number;
  compress: boolean;
}

/** logOptions as upstream applies them: defaults for absent fields; 0 or less means "no limit" (maxSize: default). */
export function rotationPolicy(o: LogOptions | undefined): RotationPolicy {
  const size = o?.maxSize ?? ROTATION_DEFAULTS.maxSize;
  return {
    maxBytes: (size > 0 ? size : ROTATION_DEFAULTS.maxSize) * MB,
    maxAgeDays: Math.max(0, o?.maxAge ?? ROTATION_DEFAULTS.maxAge),
    maxBackups: Math.max(0, o?.maxBackups ?? ROTATION_DEFAULTS.maxBackups),
    compress: o?.compress ?? ROTATION_DEFAULTS.compress,
  };
}

/** Lines accepted while the library is still busy (a slow disk, a gzip of 100 MB); beyond this, lines are dropped. */
const MAX_BUFFERED_BYTES = 16 * MB;
/** After the file failed, lines are dropped for this long before the file is opened again. */
const RETRY_MS = 1000;

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `<stem>-<UTC time>[-<n>]<ext>[.gz]`: lumberjack's backup names, so operators' globs and habits carry over. */
function backupName(stem: string, ext: string, compress: boolean, time: Date, index: number): string {
  const stamp = time.toISOString().slice(0, 23).replace(/:/g, '-');
  return `${stem}-${stamp}${index > 1 ? `-${index}` : ''}${ext}${compress ? '.gz' : ''}`;
}

/**
 * A pino destination appending NDJSON lines to one file that rotating-file-stream rotates. Writes are
 * asynchronous: `flush(cb)` calls back once every line written so far is in the file (or was lost to an error).
 * The library closes its stream for good on the first error, so a failure (disk full, directory removed, not a
 * directory) is reported once on stderr, lines are dropped for a second, and then a new stream is opened; nothing
 * ever throws into the caller.
 */
export class LogFile implements DestinationStream {
  readonly path: string;
  readonly policy: RotationPolicy;
  readonly #retryMs: number;
  readonly #now: () => number;
  readonly #backupRe: RegExp;
  #stream: RotatingFileStream | undefined;
  #failedAt = Number.NEGATIVE_INFINITY;
  /** Lines handed to the library whose write has not called back yet. */
  #pending = 0;
  #flushWaiters: (() => void)[] = [];
  #dropped = 0;
  #lastReport = '';
  #pruning: Promise<void> = Promise.resolve();

  constructor(path: string, policy: RotationPolicy, opts: { retryMs?: number; now?: () => number } = {}) {
    this.path = path;
    this.policy = policy;
    this.#retryMs = opts.retryMs ?? RETRY_MS;
    this.#now = opts.now ?? Date.now;
    const ext = extname(path);
    this.#backupRe = new RegExp(
      `^${escapeRe(basename(path, ext))}-(\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\d\\.\\d{3})(?:-(\\d+))?${escapeRe(ext)}(?:\\.gz)?$`,
    );
  }

  write(line: string): boolean {
    const stream = this.#current();
    if (!stream) {
      this.#dropped++;
      return true;
    }
    if (stream.writableLength > MAX_BUFFERED_BYTES) {
      this.#dropped++;
      this.#report(`the disk is ${MAX_BUFFERED_BYTES / MB} MiB behind; dropping lines until it catches up`);
      return true;
    }
    this.#pending++;
    stream.write(line, (err) => {
      if (err) this.#dropped++;
      if (--this.#pending === 0) for (const done of this.#flushWaiters.splice(0)) done();
    });
    return true;
  }

  /** Calls back once every line written so far has reached the file or failed (pino's `logger.flush(cb)`). */
  flush(cb?: (err?: Error) => void): void {
    if (this.#pending === 0) cb?.();
    else this.#flushWaiters.push(() => cb?.());
  }

  /** Resolves when written lines and the age pruning are done (tests, shutdown). */
  async idle(): Promise<void> {
    await new Promise<void>((resolve) => this.flush(() => resolve()));
    // A failed write calls back before the stream's 'error' event (next tick) is delivered and reported.
    await new Promise((resolve) => setImmediate(resolve));
    await this.#pruning;
  }

  /** Flushes, closes the file and waits for pruning; a later write opens it again. */
  async close(): Promise<void> {
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream && !stream.destroyed) {
      await new Promise<void>((resolve) => {
        stream.once('close', resolve);
        stream.end();
      });
    }
    await this.#pruning;
  }

  /** Backups of this file (rotated, compressed or not), newest first. */
  async backups(): Promise<string[]> {
    const dir = dirname(this.path);
    const found: { name: string; key: string }[] = [];
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const m = this.#backupRe.exec(name);
      if (m) found.push({ name, key: `${m[1]}-${(m[2] ?? '1').padStart(4, '0')}` });
    }
    return found.sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0)).map((f) => join(dir, f.name));
  }

  /** The library's stream, opened (again) unless the file failed less than retryMs ago. */
  #current(): RotatingFileStream | undefined {
    const live = this.#stream;
    if (live && !live.destroyed && !live.writableEnded) return live;
    this.#stream = undefined;
    if (this.#now() - this.#failedAt < this.#retryMs) return undefined;
    try {
      this.#stream = this.#open();
    } catch (err) {
      this.#fail(err);
    }
    return this.#stream;
  }

  #open(): RotatingFileStream {
    const ext = extname(this.path);
    const stem = basename(this.path, ext);
    const { maxBytes, maxBackups, compress } = this.policy;
    const stream = createStream(
      (time, index) =>
        time ? backupName(stem, ext, compress, new Date(time), index ?? 1) : basename(this.path),
      {
        path: `${dirname(this.path)}${sep}`,
        size: `${Math.max(1, Math.floor(maxBytes))}B`,
        // The library's own record of the backups it keeps (needed for maxFiles), beside the log file.
        history: `${basename(this.path)}.history`,
        mode: 0o600,
        ...(maxBackups > 0 ? { maxFiles: maxBackups } : {}),
        ...(compress ? { compress: 'gzip' as const } : {}),
      },
    );
    stream.on('error', (err) => {
      if (this.#stream === stream) this.#stream = undefined;
      this.#fail(err);
    });
    stream.on('warning', (err) => this.#report(err.message));
    // 'open' comes at start-up and after every rotation: the moments lumberjack applies its limits.
    stream.on('open', () => {
      if (this.#dropped > 0) this.#report(`writable again; ${this.#dropped} line(s) were lost`);
      this.#dropped = 0;
      this.#lastReport = '';
      this.#schedulePrune();
    });
    return stream;
  }

  #schedulePrune(): void {
    if (this.policy.maxAgeDays <= 0) return;
    this.#pruning = this.#pruning
      .then(() => this.#pruneByAge())
      .catch((err: unknown) => this.#report(String(err)));
  }

  /**
   * The one rule rotating-file-stream does not implement: lumberjack's MaxAge. Backups whose name says they were
   * rotated more than maxAge days ago are removed (the name, not the mtime, as upstream: copying a backup
   * around does not make it younger).
   */
  async #pruneByAge(): Promise<void> {
    const cutoff = this.#now() - this.policy.maxAgeDays * DAY_MS;
    for (const file of await this.backups()) {
      const stamp = this.#backupRe.exec(basename(file))?.[1] ?? '';
      const rotatedAt = Date.parse(`${stamp.replace(/T(\d\d)-(\d\d)-(\d\d)/, 'T$1:$2:$3')}Z`);
      if (rotatedAt < cutoff) await rm(file, { force: true });
    }
  }

  #fail(err: unknown): void {
    this.#failedAt = this.#now();
    this.#report(err instanceof Error ? err.message : String(err));
  }

  /** One stderr line per distinct problem, however many log lines hit it. */
  #report(what: string): void {
    const text = `multus-daemon: log file ${this.path}: ${what}`;
    if (text === this.#lastReport) return;
    this.#lastReport = text;
    process.stderr.write(`${text}\n`);
  }
}
