// Loading daemon-config.json: bounded read, hostile-input guards, JSON parse, validation with messages that name
// the key, and the warnings an operator needs (duplicate keys, keys Go would have matched case-insensitively).
import { constants, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { CniError } from '@multus-ts/cni';
import { readUpToBound } from '../read-bounded.ts';
import { DAEMON_CONFIG_ERRORS } from './catalogue.ts';
import {
  DAEMON_CONFIG_MAX_BYTES,
  DAEMON_CONFIG_MAX_DEPTH,
  DEFAULT_DAEMON_CONFIG_PATH,
  UPSTREAM_LOG_LEVELS,
} from './defaults.ts';
import { scanJson } from './json-scan.ts';
import { daemonConfigFileSchema, NULL_MEANS_EMPTY, OWN_KEYS, UPSTREAM_KEYS } from './schema.ts';
import { buildDaemonConfig, type DaemonConfig } from './views.ts';

export interface LoadedDaemonConfig {
  /** Where it came from (a path, or the label given to parseDaemonConfig). */
  readonly source: string;
  readonly typed: DaemonConfig;
  /** The whole file as parsed, unknown keys included (deep-frozen): what the overlay puts into requests. */
  readonly raw: Readonly<Record<string, unknown>>;
  readonly rawText: string;
  /** Things worth a log line at start-up; none of them stops the daemon. */
  readonly warnings: readonly string[];
}

const KNOWN_KEYS: readonly string[] = [...UPSTREAM_KEYS, ...OWN_KEYS];
const NESTED_KNOWN: Readonly<Record<string, readonly string[]>> = {
  perNodeCertificate: ['enabled', 'bootstrapKubeconfig', 'certDir', 'certDuration'],
  logOptions: ['maxAge', 'maxSize', 'maxBackups', 'compress'],
};
const MAX_PROBLEMS = 10;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepFreeze<T>(v: T): T {
  // Depth is bounded by DAEMON_CONFIG_MAX_DEPTH, so recursion is safe here.
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
  }
  return v;
}

/** Warnings for keys that Go's case-insensitive decoder would have applied and we ignore. */
function caseWarnings(
  obj: Record<string, unknown>,
  known: readonly string[],
  prefix: string,
  source: string,
): string[] {
  const out: string[] = [];
  const byLower = new Map(known.map((k) => [k.toLowerCase(), k]));
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const match = byLower.get(key.toLowerCase());
    if (match !== undefined) {
      out.push(
        `${source}: key "${prefix}${key}" is ignored: it differs from "${prefix}${match}" only by case ` +
          `(upstream's Go decoder would apply it); rename it to "${match}"`,
      );
    }
  }
  return out;
}

/** Builds the zod input: known keys only, JSON null handled as Go does (unset, or empty for slices/maps). */
function schemaInput(raw: Record<string, unknown>): { input: Record<string, unknown>; present: Set<string> } {
  const input: Record<string, unknown> = {};
  const present = new Set<string>();
  for (const key of KNOWN_KEYS) {
    if (!Object.hasOwn(raw, key)) continue;
    let v = raw[key];
    if (v === null) {
      if (!Object.hasOwn(NULL_MEANS_EMPTY, key)) continue;
      v = NULL_MEANS_EMPTY[key];
    } else if (NESTED_KNOWN[key] && isPlainObject(v)) {
      v = Object.fromEntries(Object.entries(v).filter(([, inner]) => inner !== null));
    }
    input[key] = v;
    present.add(key);
  }
  return { input, present };
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out === '' ? '(top level)' : out;
}

/** Parses and validates daemon-config.json text. Throws a CniError naming the file and the key. */
export function parseDaemonConfig(
  rawText: string,
  source = 'daemon-config.json',
  configPath?: string,
): LoadedDaemonConfig {
  const size = Buffer.byteLength(rawText);
  if (size > DAEMON_CONFIG_MAX_BYTES) {
    throw CniError.of(DAEMON_CONFIG_ERRORS, 'ERR_DAEMON_CONFIG_TOO_LARGE', {
      source,
      size,
      max: DAEMON_CONFIG_MAX_BYTES,
    });
  }
  if (rawText.charCodeAt(0) === 0xfeff)
    throw CniError.of(DAEMON_CONFIG_ERRORS, 'ERR_DAEMON_CONFIG_BOM', { source });
  const scan = scanJson(rawText, DAEMON_CONFIG_MAX_DEPTH);
  if (scan.maxDepth > DAEMON_CONFIG_MAX_DEPTH) {
    throw CniError.of(DAEMON_CONFIG_ERRORS, 'ERR_DAEMON_CONFIG_TOO_DEEP', {
      source,
      max: DAEMON_CONFIG_MAX_DEPTH,
      path: scan.deepestPath.length > 60 ? `${scan.deepestPath.slice(0, 60)}...` : scan.deepestPath,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawText);
  } catch (err) {
    throw CniError.of(DAEMON_CONFIG_ERRORS, 'ERR_DAEMON_CONFIG_NOT_JSON', {
      source,
      reason: (err as Error).message,
    });
  }
  if (!isPlainObject(parsed)) {
    const got = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : typeof parsed;
    throw CniError.of(DAEMON_CONFIG_ERRORS, 'ERR_DAEMON_CONFIG_NOT_OBJECT', { source, got });
  }
  const raw = parsed;
  const { input, present } = schemaInput(raw);
  const result = daemonConfigFileSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues
      .slice(0, MAX_PROBLEMS)
      .map((i) => `${formatPath(i.path)}: ${i.message}`);
    const more = result.error.issues.length - problems.length;
    throw CniError.of(DAEMON_CONFIG_ERRORS, 'ERR_DAEMON_CONFIG_INVALID', {
      source,
      problems: problems.join('; ') + (more > 0 ? `; and ${more} more` : ''),
    });
  }

  const warnings: string[] = [];
  for (const key of scan.duplicateKeys) {
    warnings.push(`${source}: key "${key}" appears more than once; the last value is used (as upstream)`);
  }
  warnings.push(...caseWarnings(raw, KNOWN_KEYS, '', source));
  for (const [parent, known] of Object.entries(NESTED_KNOWN)) {
    const nested = raw[parent];
    if (isPlainObject(nested)) warnings.push(...caseWarnings(nested, known, `${parent}.`, source));
  }
  const level = result.data.logLevel;
  if (level && !(UPSTREAM_LOG_LEVELS as readonly string[]).includes(level.toLowerCase())) {
    warnings.push(
      `${source}: logLevel "${level}" is not one of ${UPSTREAM_LOG_LEVELS.join(', ')}; the level stays unchanged`,
    );
  }
  const typed = buildDaemonConfig(result.data, present, configPath);
  if (result.data.logFile && typed.server.logFile === '') {
    warnings.push(`${source}: logFile names the daemon configuration itself; the daemon does not log to it`);
  }
  if (typed.server.enablePprof) {
    warnings.push(`${source}: enablePprof has no effect in multus-ts (there is no Go profiler to expose)`);
  }
  return { source, typed, raw: deepFreeze(raw), rawText, warnings };
}

function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'a special file';
}

/** Reads at most `max + 1` bytes of a regular file (O_NONBLOCK so a FIFO cannot hang the open). */
async function readBounded(path: string, max: number): Promise<Buffer> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw CniError.of(DAEMON_CONFIG_ERRORS, 'ERR_DAEMON_CONFIG_READ', {
      source: path,
      reason: (err as Error).message,
    });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile())
      throw CniError.of(DAEMON_CONFIG_ERRORS, 'ERR_DAEMON_CONFIG_NOT_FILE', {
        source: path,
        kind: fileKind(st),
      });
    if (st.size > max) {
      throw CniError.of(DAEMON_CONFIG_ERRORS, 'ERR_DAEMON_CONFIG_TOO_LARGE', {
        source: path,
        size: st.size,
        max,
      });
    }
    const bytes = await readUpToBound(fh, st.size, max);
    if (bytes.length > max) {
      throw CniError.of(DAEMON_CONFIG_ERRORS, 'ERR_DAEMON_CONFIG_TOO_LARGE', {
        source: path,
        size: `more than ${max}`,
        max,
      });
    }
    return bytes;
  } catch (err) {
    if (err instanceof CniError) throw err;
    throw CniError.of(DAEMON_CONFIG_ERRORS, 'ERR_DAEMON_CONFIG_READ', {
      source: path,
      reason: (err as Error).message,
    });
  } finally {
    await fh.close();
  }
}

/**
 * Loads daemon-config.json. Invalid bytes inside strings become U+FFFD, as Go's decoder does; a leading byte order
 * mark is rejected, as Go does, but with a message that says so.
 */
export async function loadDaemonConfig(
  path: string = DEFAULT_DAEMON_CONFIG_PATH,
): Promise<LoadedDaemonConfig> {
  const bytes = await readBounded(path, DAEMON_CONFIG_MAX_BYTES);
  const text = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(bytes);
  return parseDaemonConfig(text, path, path);
}
