// multus-daemon's logs: pino NDJSON to stderr and/or `logFile` (size-rotated as upstream's logOptions say), with
// upstream's level names, each CNI request's identity on every line it causes, and secrets scrubbed from every
// line whatever logged it.
import { AsyncLocalStorage } from 'node:async_hooks';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { DaemonConfig, LogOptions } from './config/index.ts';
import { LogFile, rotationPolicy } from './log-file.ts';
import type { CniCall } from './server/wire.ts';

export { ROTATION_DEFAULTS, type RotationPolicy, rotationPolicy } from './log-file.ts';

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
 * pino.multistream with a `flush(cb)` (it has none), so that `logger.flush(cb)` also waits for the log file's
 * asynchronous writes when stderr is on too.
 */
function fanOut(entries: pino.StreamEntry[]): DestinationStream {
  const multi = pino.multistream(entries, { dedupe: false });
  type Flush = (cb: (err?: Error | null) => void) => void;
  const flushes = entries
    .map((e) => (e.stream as { flush?: Flush }).flush?.bind(e.stream))
    .filter((f): f is Flush => f !== undefined);
  const flush = (cb?: (err?: Error) => void) => {
    let left = flushes.length;
    if (left === 0) return cb?.();
    let first: Error | undefined;
    for (const f of flushes)
      f((err) => {
        first ??= err ?? undefined;
        if (--left === 0) cb?.(first);
      });
  };
  return Object.assign(multi, { flush });
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
    streams.push({ level, stream: new LogFile(settings.logFile, rotationPolicy(settings.logOptions)) });
  const destination = streams.length === 1 ? streams[0]!.stream : fanOut(streams);
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
