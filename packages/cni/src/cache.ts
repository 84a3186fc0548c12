// The libcni-compatible result cache: one JSON file per attachment at
// `<cacheDir>/results/<networkName>-<containerId>-<ifName>`, in the `cniCacheV1` format libcni reads and writes,
// so a runtime (or upstream multus) and this library can read each other's entries.
//
// - Writes are atomic: a temp file in the same directory, then rename, so a crash of the writer leaves either the
//   old entry or the new one, never half a file. New directories are 0700, files 0600. Not fsynced (libcni does not
//   either): only a power loss could lose an entry, and a power loss also ends every attachment it describes; the
//   two syncs would cost 1-3 ms on every ADD.
// - Every key component is validated with the CNI identifier rules before it touches a path, so no component can
//   contain `/`, be `.`/`..`, or hold NUL: nothing can escape `<cacheDir>/results`.
// - read() never throws for a bad file: a missing, corrupt, truncated or foreign entry comes back as a typed
//   failure, because DEL must be able to carry on without it.
import { constants } from 'node:fs';
import { open, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomicSync } from './atomic-file.ts';
import { CNI_ERRORS } from './catalogue.ts';
import { validateContainerId, validateIfName, validateNetworkName } from './config.ts';
import { convertResult } from './convert.ts';
import { CniError } from './errors.ts';
import { type CniResult, parseResult } from './result.ts';
import type { CniVersion } from './version.ts';

export const CACHE_KIND = 'cniCacheV1';
/** Cache files are small; anything much larger is not one of ours. */
export const MAX_CACHE_FILE_BYTES = 16 * 1024 * 1024;

export interface CacheKey {
  networkName: string;
  containerId: string;
  ifName: string;
}

export interface CacheEntry extends CacheKey {
  /** The network config (conf or conflist) bytes the attachment was made with. */
  config: Uint8Array;
  netns?: string;
  /** CNI_ARGS as key/value pairs. */
  cniArgs?: [string, string][];
  capabilityArgs?: Record<string, unknown>;
  /** The ADD result as JSON (any version). */
  result?: Record<string, unknown> | CniResult;
}

export type CacheReadFailure = {
  ok: false;
  /** missing: no file; corrupt: unreadable/undecodable; foreign: valid JSON but not this key's cniCacheV1 entry. */
  reason: 'missing' | 'corrupt' | 'foreign';
  path: string;
  error: CniError;
};
export type CacheReadSuccess = {
  ok: true;
  path: string;
  entry: CacheEntry;
  /** True for a pre-cniCacheV1 file that holds only a result (config is then empty). */
  legacy: boolean;
};
export type CacheReadOutcome = CacheReadSuccess | CacheReadFailure;

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The file as libcni writes it (Go's []byte is standard base64 with padding; null when nil). */
const CacheFileSchema = z.looseObject({
  kind: z.literal(CACHE_KIND),
  containerId: z.string(),
  config: z.string().regex(BASE64_RE).nullable(),
  ifName: z.string(),
  networkName: z.string(),
  netns: z.string().optional(),
  cniArgs: z
    .array(z.tuple([z.string(), z.string()]))
    .nullable()
    .optional(),
  capabilityArgs: z.record(z.string(), z.unknown()).nullable().optional(),
  result: z.record(z.string(), z.unknown()).nullable().optional(),
});

function keyError(key: string, value: string, err: unknown): CniError {
  // Keep the identifier rule's code (3, 4 or 7) and message; say which key component broke it.
  const code = err instanceof CniError ? err.code : 7;
  const detail = err instanceof CniError ? err.msg : 'expected a string';
  const { msg } = CniError.of(CNI_ERRORS, 'ERR_CACHE_KEY_INVALID', { key, value });
  return new CniError(code, msg, detail, { id: 'ERR_CACHE_KEY_INVALID', cause: err });
}

/** Validates the three key components; throws a CniError (code 3, 4 or 7, from the identifier rules). */
export function validateCacheKey(k: CacheKey): void {
  const checks: [string, string, (v: string) => void][] = [
    ['networkName', k.networkName, validateNetworkName],
    ['containerId', k.containerId, validateContainerId],
    ['ifName', k.ifName, validateIfName],
  ];
  for (const [key, value, check] of checks) {
    if (typeof value !== 'string') throw keyError(key, String(value), undefined);
    try {
      check(value);
    } catch (err) {
      throw keyError(key, value, err);
    }
  }
}

function isNodeError(err: unknown, ...codes: string[]): boolean {
  return err instanceof Error && codes.includes((err as NodeJS.ErrnoException).code ?? '');
}

export class ResultCache {
  readonly cacheDir: string;
  readonly resultsDir: string;

  constructor(cacheDir: string) {
    this.cacheDir = cacheDir;
    this.resultsDir = join(cacheDir, 'results');
  }

  /** The file an entry lives in. Throws for an invalid key. */
  pathFor(k: CacheKey): string {
    validateCacheKey(k);
    return join(this.resultsDir, `${k.networkName}-${k.containerId}-${k.ifName}`);
  }

  /** Writes (or replaces) an entry atomically. Code 5 on I/O failure. */
  async write(entry: CacheEntry): Promise<void> {
    const path = this.pathFor(entry);
    // Key order and omitted-when-empty fields follow libcni's encoder.
    const file: Record<string, unknown> = {
      kind: CACHE_KIND,
      containerId: entry.containerId,
      config: Buffer.from(entry.config.buffer, entry.config.byteOffset, entry.config.byteLength).toString(
        'base64',
      ),
      ifName: entry.ifName,
      networkName: entry.networkName,
    };
    if (entry.netns) file['netns'] = entry.netns;
    if (entry.cniArgs && entry.cniArgs.length > 0) file['cniArgs'] = entry.cniArgs;
    if (entry.capabilityArgs && Object.keys(entry.capabilityArgs).length > 0) {
      file['capabilityArgs'] = entry.capabilityArgs;
    }
    if (entry.result && Object.keys(entry.result).length > 0) file['result'] = entry.result;
    const data = JSON.stringify(file);

    try {
      writeFileAtomicSync(path, data, { mode: 0o600, durable: false, mkdirMode: 0o700 });
    } catch (err) {
      if (err instanceof CniError) throw err;
      throw CniError.of(CNI_ERRORS, 'ERR_CACHE_IO', { op: 'write', path }, (err as Error).message, err);
    }
  }

  /**
   * Reads an entry. Throws only for an invalid key (a caller bug or hostile input); every problem with the file
   * itself is returned as a failure. Symlinks are not followed.
   */
  async read(networkName: string, containerId: string, ifName: string): Promise<CacheReadOutcome> {
    const key = { networkName, containerId, ifName };
    const path = this.pathFor(key);
    const fail = (reason: CacheReadFailure['reason'], detail: string, cause?: unknown): CacheReadFailure => ({
      ok: false,
      reason,
      path,
      error:
        reason === 'missing'
          ? CniError.of(CNI_ERRORS, 'ERR_CACHE_IO', { op: 'read', path }, detail, cause)
          : CniError.of(CNI_ERRORS, 'ERR_CACHE_CORRUPT', { path }, detail, cause),
    });

    let bytes: Buffer;
    try {
      const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      try {
        const st = await fh.stat();
        if (!st.isFile()) return fail('foreign', 'not a regular file');
        if (st.size > MAX_CACHE_FILE_BYTES) return fail('corrupt', `file is ${st.size} bytes`);
        bytes = await fh.readFile();
      } finally {
        await fh.close();
      }
    } catch (err) {
      if (isNodeError(err, 'ENOENT', 'ENOTDIR')) return fail('missing', 'no cache entry', err);
      if (isNodeError(err, 'ELOOP')) return fail('foreign', 'is a symbolic link', err);
      return fail('corrupt', (err as Error).message, err);
    }
    return this.decode(bytes, key, path, fail);
  }

  private decode(
    bytes: Buffer,
    key: CacheKey,
    path: string,
    fail: (reason: CacheReadFailure['reason'], detail: string, cause?: unknown) => CacheReadFailure,
  ): CacheReadOutcome {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (err) {
      return fail('corrupt', (err as Error).message, err);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      return fail('foreign', 'not a JSON object');
    }
    const kind = (json as Record<string, unknown>)['kind'];
    if (kind === undefined) {
      // Before cniCacheV1, libcni cached the bare result; it still reads those, and so do we.
      try {
        const result = parseResult(json);
        return { ok: true, path, legacy: true, entry: { ...key, config: new Uint8Array(0), result } };
      } catch (err) {
        return fail('foreign', 'neither a cniCacheV1 entry nor a result', err);
      }
    }
    const r = CacheFileSchema.safeParse(json);
    if (!r.success) return fail('foreign', z.prettifyError(r.error));
    const f = r.data;
    if (f.containerId !== key.containerId || f.ifName !== key.ifName || f.networkName !== key.networkName) {
      return fail('foreign', `entry is for ${f.networkName}/${f.containerId}/${f.ifName}`);
    }
    const entry: CacheEntry = {
      ...key,
      config: new Uint8Array(Buffer.from(f.config ?? '', 'base64')),
      ...(f.netns ? { netns: f.netns } : {}),
      ...(f.cniArgs ? { cniArgs: f.cniArgs } : {}),
      ...(f.capabilityArgs ? { capabilityArgs: f.capabilityArgs } : {}),
      ...(f.result ? { result: f.result } : {}),
    };
    return { ok: true, path, legacy: false, entry };
  }

  /** Deletes an entry; true when there was one. A missing entry is not an error (DEL is idempotent). */
  async remove(networkName: string, containerId: string, ifName: string): Promise<boolean> {
    const path = this.pathFor({ networkName, containerId, ifName });
    try {
      await unlink(path);
      return true;
    } catch (err) {
      if (isNodeError(err, 'ENOENT', 'ENOTDIR')) return false;
      throw CniError.of(CNI_ERRORS, 'ERR_CACHE_IO', { op: 'remove', path }, (err as Error).message, err);
    }
  }

  /**
   * The attachments with a valid cniCacheV1 entry (what GC treats as still wanted), sorted by file name; files
   * that are not valid entries are skipped. An absent results directory is an empty cache.
   */
  async list(containerId?: string): Promise<CacheKey[]> {
    let names: string[];
    try {
      names = (await readdir(this.resultsDir)).sort();
    } catch (err) {
      if (isNodeError(err, 'ENOENT', 'ENOTDIR')) return [];
      throw CniError.of(CNI_ERRORS, 'ERR_CACHE_IO', { op: 'list', path: this.resultsDir }, String(err), err);
    }
    const out: CacheKey[] = [];
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const key = await this.keyOfFile(name);
      if (key && (containerId === undefined || key.containerId === containerId)) out.push(key);
    }
    return out;
  }

  private async keyOfFile(name: string): Promise<CacheKey | undefined> {
    let bytes: Buffer;
    try {
      const fh = await open(
        join(this.resultsDir, name),
        constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      );
      try {
        const st = await fh.stat();
        if (!st.isFile() || st.size > MAX_CACHE_FILE_BYTES) return undefined;
        bytes = await fh.readFile();
      } finally {
        await fh.close();
      }
    } catch {
      return undefined;
    }
    try {
      const r = CacheFileSchema.safeParse(
        JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)),
      );
      if (!r.success) return undefined;
      const key = { networkName: r.data.networkName, containerId: r.data.containerId, ifName: r.data.ifName };
      // The name must be the one the entry would be written under, or the entry cannot be read or removed.
      if (name !== `${key.networkName}-${key.containerId}-${key.ifName}`) return undefined;
      validateCacheKey(key);
      return key;
    } catch {
      return undefined;
    }
  }
}

/**
 * The typed result of a cache entry, converted to `cniVersion` when given (libcni hands the cached result to
 * plugins in the config's version). Undefined when the entry holds no result; CniError 6/1 when it is not a valid
 * result.
 */
export function resultFromEntry(entry: CacheEntry, cniVersion?: CniVersion): CniResult | undefined {
  if (entry.result === undefined) return undefined;
  const result = parseResult(entry.result);
  return cniVersion === undefined ? result : convertResult(result, cniVersion);
}
