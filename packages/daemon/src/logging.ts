// multus-daemon's logs: pino NDJSON to stderr and/or `logFile` (size-rotated as upstream's logOptions say), with
// upstream's level names, each CNI request's identity on every line it causes, and secrets scrubbed from every
// line whatever logged it.
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { DaemonConfig, LogOptions } from './config/index.ts';
import type { CniCall } from './server/wire.ts';

// ---- levels ---------------------------------------------------------------------------------------------------

// Upstream prints its warnings at its `error` level ("warning: ..."), so `error` shows pino's warn lines too.
const LEVELS: Readonly<Record<string, pino.Level>> = {
  debug: 'debug',
  verbose: 'info',
  error: 'warn',
  panic: 'fatal',
};

/** Upstream level name (case-insensitive) -> pino level; unset or unknown names log at info (see operations.md). */
export function pinoLevel(upstream: string): pino.Level {
  return LEVELS[upstream.toLowerCase()] ?? 'info';
}

// ---- rotation -------------------------------------------------------------------------------------------------

/** Upstream's defaults (lumberjack through pkg/logging) when a logFile is set. */
export const ROTATION_DEFAULTS = { maxSize: 100, maxAge: 5, maxBackups: 5, compress: true } as const;
const MB = 1024 * 1024;
const DAY_MS = 86_400_000;

export interface RotationPolicy {
  /** Rotate before a write would take the file past this many bytes. */
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

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A pino destination writing one file, renamed to `<stem>-<UTC time><ext>` when it would grow past maxBytes.
 * Writes are synchronous (as upstream's lumberjack): a line is on disk when the log call returns, and a rotation
 * happens between two whole lines. Pruning and gzip run in the background, one job at a time. A failing disk never
 * throws into the caller: the error is reported once on stderr and the next write retries.
 */
export class RotatingFile implements DestinationStream {
  readonly path: string;
  readonly policy: RotationPolicy;
  readonly #now: () => number;
  readonly #backupRe: RegExp;
  #fd: number | undefined;
  #size = 0;
  #maintenance: Promise<void> = Promise.resolve();
  #lastError = '';
  #opened = false;

  constructor(path: string, policy: RotationPolicy, opts: { now?: () => number } = {}) {
    this.path = path;
    this.policy = policy;
    this.#now = opts.now ?? Date.now;
    const ext = extname(path);
    const stem = basename(path, ext);
    this.#backupRe = new RegExp(
      `^${escapeRe(stem)}-(\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\d\\.\\d{3})(?:-(\\d+))?${escapeRe(ext)}(\\.gz)?(\\.tmp)?$`,
    );
  }

  write(line: string): boolean {
    try {
      const len = Buffer.byteLength(line);
      if (this.#fd === undefined) this.#open();
      if (this.#size > 0 && this.#size + len > this.policy.maxBytes) this.#rotate();
      writeSync(this.#fd!, line);
      this.#size += len;
      this.#lastError = '';
    } catch (err) {
      this.#report(err);
    }
    return true;
  }

  flush(cb?: (err?: Error) => void): void {
    cb?.();
  }

  /** Resolves when background pruning and compression are done (tests, shutdown). */
  idle(): Promise<void> {
    return this.#maintenance;
  }

  async close(): Promise<void> {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
    await this.#maintenance;
  }

  /** Backups of this file, newest first. */
  async backups(): Promise<string[]> {
    const dir = dirname(this.path);
    const found: { name: string; key: string }[] = [];
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const m = this.#backupRe.exec(name);
      if (m && !m[4]) found.push({ name, key: `${m[1]}-${(m[2] ?? '0').padStart(6, '0')}` });
    }
    return found.sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0)).map((f) => join(dir, f.name));
  }

  #open(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    this.#fd = openSync(this.path, 'a', 0o600);
    this.#size = fstatSync(this.#fd).size;
    if (!this.#opened) this.#schedule(); // leftovers of an earlier run: age limit, backups never compressed
    this.#opened = true;
  }

  #rotate(): void {
    const ext = extname(this.path);
    const stamp = new Date(this.#now()).toISOString().slice(0, 23).replace(/:/g, '-');
    const base = join(dirname(this.path), `${basename(this.path, ext)}-${stamp}`);
    let target = `${base}${ext}`;
    for (let n = 1; existsSync(target) || existsSync(`${target}.gz`); n++) target = `${base}-${n}${ext}`;
    try {
      renameSync(this.path, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        // Cannot rotate: keep appending rather than lose lines, and try again after another maxBytes.
        this.#report(err, false);
        this.#size = 0;
        return;
      }
      // Someone removed the file: nothing to keep, start a new one below.
    }
    closeSync(this.#fd!);
    this.#fd = openSync(this.path, 'a', 0o600);
    this.#size = 0;
    this.#schedule();
  }

  #schedule(): void {
    this.#maintenance = this.#maintenance
      .then(() => this.#maintain())
      .catch((err: unknown) => this.#report(err, false));
  }

  async #maintain(): Promise<void> {
    const dir = dirname(this.path);
    // Temp files of a compression the previous process did not finish.
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const m = this.#backupRe.exec(name);
      if (m?.[4]) await rm(join(dir, name), { force: true });
    }
    const all = await this.backups();
    const cutoff = this.#now() - this.policy.maxAgeDays * DAY_MS;
    const keep: string[] = [];
    for (const [i, file] of all.entries()) {
      const tooMany = this.policy.maxBackups > 0 && i >= this.policy.maxBackups;
      const tooOld = this.policy.maxAgeDays > 0 && this.#stampOf(file) < cutoff;
      if (tooMany || tooOld) await rm(file, { force: true });
      else keep.push(file);
    }
    if (!this.policy.compress) return;
    for (const file of keep) {
      if (file.endsWith('.gz')) continue;
      const tmp = `${file}.gz.tmp`;
      await pipeline(createReadStream(file), createGzip(), createWriteStream(tmp, { mode: 0o600 }));
      await rename(tmp, `${file}.gz`);
      await rm(file, { force: true });
    }
  }

  /** The UTC time in a backup's name, in ms; +Infinity (never too old) when unreadable. */
  #stampOf(file: string): number {
    const stamp = this.#backupRe.exec(basename(file))?.[1] ?? '';
    const t = Date.parse(`${stamp.replace(/T(\d\d)-(\d\d)-(\d\d)/, 'T$1:$2:$3')}Z`);
    return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
  }

  #report(err: unknown, closeFile = true): void {
    const text = `multus-daemon: log file ${this.path}: ${(err as Error).message ?? String(err)}`;
    if (text === this.#lastError) return;
    this.#lastError = text;
    process.stderr.write(`${text}\n`);
    if (closeFile && this.#fd !== undefined) {
      try {
        closeSync(this.#fd);
      } catch {
        // already unusable
      }
      this.#fd = undefined;
    }
  }
}

// ---- request context ------------------------------------------------------------------------------------------

interface RequestLogContext {
  call: CniCall;
  fields?: Readonly<Record<string, string>>;
}

const requestContext = new AsyncLocalStorage<RequestLogContext>();

/** Runs `fn` as the handling of `call`: every line logged meanwhile (by any logger) names the request. */
export function withRequestContext<T>(call: CniCall, fn: () => Promise<T>): Promise<T> {
  return requestContext.run({ call }, fn);
}

const MAX_FIELD = 256;
const clip = (s: string) => (s.length > MAX_FIELD ? `${s.slice(0, MAX_FIELD)}...` : s);

/** The request's identity as log fields; lenient (a malformed request still gets what can be read). */
export function requestFields(call: CniCall): Record<string, string> {
  const out: Record<string, string> = { command: call.command };
  if (call.containerId) out['containerID'] = clip(call.containerId);
  if (call.ifName) out['ifname'] = clip(call.ifName);
  let ns = '';
  let name = '';
  for (const item of call.args.split(';')) {
    const eq = item.indexOf('=');
    if (eq < 0) continue;
    const key = item.slice(0, eq).trim();
    if (key === 'K8S_POD_NAMESPACE') ns = item.slice(eq + 1).trim();
    else if (key === 'K8S_POD_NAME') name = item.slice(eq + 1).trim();
  }
  if (ns || name) out['pod'] = clip(`${ns}/${name}`);
  // The network the runtime invoked: the name in the request's config (the multus network itself; delegate lines
  // bind their own `network`).
  if (call.config.byteLength <= 1024 * 1024) {
    try {
      const conf = JSON.parse(Buffer.from(call.config).toString('utf8')) as { name?: unknown };
      if (typeof conf?.name === 'string' && conf.name !== '') out['network'] = clip(conf.name);
    } catch {
      // not JSON: the engine reports that; the line just has no network
    }
  }
  return out;
}

/** pino mixin: the current request's fields that neither the logger's bindings nor the call itself set. */
function requestMixin(merge: object, _level: number, logger: Logger): object {
  const ctx = requestContext.getStore();
  if (!ctx) return {};
  ctx.fields ??= requestFields(ctx.call);
  const bound = logger.bindings();
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(ctx.fields)) if (!(k in bound) && !(k in merge)) out[k] = v;
  return out;
}

// ---- secrets --------------------------------------------------------------------------------------------------

/** Keys whose values are never logged, wherever they appear in an object. */
const SECRET_KEYS = [
  'token',
  'bearerToken',
  'authorization',
  'Authorization',
  'password',
  'kubeconfig',
  'client-key-data',
  'client-certificate-data',
  'env',
];
const REDACT_PATHS = SECRET_KEYS.flatMap((k) => {
  const seg = /^[A-Za-z_$][\w$]*$/.test(k) ? k : `["${k}"]`;
  return [seg, `*.${seg}`, `*.*.${seg}`].map((p) => p.replace('.[', '['));
});

const SECRET_NAME =
  'token|bearertoken|access_token|refresh_token|id_token|password|passwd|secret|authorization|client-key-data|client-certificate-data|kubeconfig';
/** Applied to every serialised line, so secrets inside free text (error messages, stderr, YAML) go too. */
const SCRUBBERS: readonly [RegExp, string][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----/gs, '[redacted private key]'],
  [/\b(Bearer|bearer|BEARER)\s+[A-Za-z0-9\-._~+/]+=*/g, '$1 [redacted]'],
  [/\bBasic\s+[A-Za-z0-9+/]{8,}=*/g, 'Basic [redacted]'],
  // "key":"value" at the top of the JSON line (a whole string value, escapes included).
  [new RegExp(`"(${SECRET_NAME})"\\s*:\\s*"(?:[^"\\\\]|\\\\.)*"`, 'gi'), '"$1":"[redacted]"'],
  // key: value / key=value / \"key\":\"value\" inside a string (YAML, CNI_ARGS, escaped JSON).
  [
    new RegExp(
      `\\b(${SECRET_NAME})(\\\\?["'])?\\s*([:=])\\s*(\\\\?["'])?(?!\\[redacted)[^\\s"'\\\\,;}]+`,
      'gi',
    ),
    '$1$2$3$4[redacted]',
  ],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, '[redacted jwt]'],
];

export function scrubSecrets(line: string): string {
  let out = line;
  for (const [re, replacement] of SCRUBBERS) out = out.replace(re, replacement);
  return out;
}

// ---- the logger -----------------------------------------------------------------------------------------------

export interface LogSettings {
  /** Upstream level name. */
  level: string;
  logToStderr: boolean;
  /** "" or undefined: no file. */
  logFile?: string | undefined;
  logOptions?: LogOptions | undefined;
  /** Where "stderr" lines go (tests); default fd 2. */
  stderr?: DestinationStream;
}

/** The daemon's own settings from daemon-config.json: the server view, with rotation from logOptions. */
export function logSettingsFromConfig(cfg: DaemonConfig): LogSettings {
  return {
    level: cfg.server.logLevel,
    logToStderr: cfg.server.logToStderr,
    logFile: cfg.server.logFile,
    logOptions: cfg.multus.logOptions,
  };
}

/**
 * The daemon's logger. With neither `logToStderr` nor `logFile` it logs nothing, as upstream's daemon (whose
 * stderr logging is off unless configured).
 */
export function createLogger(settings: LogSettings): Logger {
  const level = pinoLevel(settings.level);
  const streams: pino.StreamEntry[] = [];
  if (settings.logToStderr)
    streams.push({ level, stream: settings.stderr ?? pino.destination({ fd: 2, sync: false }) });
  if (settings.logFile)
    streams.push({ level, stream: new RotatingFile(settings.logFile, rotationPolicy(settings.logOptions)) });
  const destination =
    streams.length === 1 ? streams[0]!.stream : pino.multistream(streams, { dedupe: false });
  return pino(
    {
      level,
      enabled: streams.length > 0,
      base: { component: 'multus-daemon' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: requestMixin,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: { streamWrite: scrubSecrets },
    },
    destination,
  );
}
