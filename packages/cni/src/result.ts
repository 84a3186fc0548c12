// Typed CNI results: decoding a plugin's (untrusted) success output for any supported version, and building
// the "empty" result multus returns when there is nothing to attach.
import type { z } from 'zod';
import { CNI_ERRORS } from './catalogue.ts';
import { CniError } from './errors.ts';
import {
  type ErrorResult,
  ErrorResultSchema,
  type Result020,
  Result020Schema,
  type Result040,
  Result040Schema,
  type Result100,
  Result100Schema,
} from './result-schemas.ts';
import { type CniVersion, isSupportedVersion, SUPPORTED_VERSIONS } from './version.ts';

export * from './result-schemas.ts';

export type LegacyVersion = '0.1.0' | '0.2.0';
export type Version04x = '0.3.0' | '0.3.1' | '0.4.0';
export type Version1x = '1.0.0' | '1.1.0';

/** A success result of any supported version; discriminate on `cniVersion`. */
export type CniResult = Result020 | Result040 | Result100;

/** The result type a given version uses. */
export type ResultFor<V extends CniVersion> = V extends LegacyVersion
  ? Result020
  : V extends Version04x
    ? Result040
    : Result100;

export function isLegacyVersion(v: string): v is LegacyVersion {
  return v === '0.1.0' || v === '0.2.0';
}
export function is04xVersion(v: string): v is Version04x {
  return v === '0.3.0' || v === '0.3.1' || v === '0.4.0';
}
export function is1xVersion(v: string): v is Version1x {
  return v === '1.0.0' || v === '1.1.0';
}

function schemaFor(v: CniVersion) {
  if (isLegacyVersion(v)) return Result020Schema;
  if (is04xVersion(v)) return Result040Schema;
  return Result100Schema;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function decodeText(input: string | Uint8Array, version: string): unknown {
  try {
    const text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input);
    return JSON.parse(text);
  } catch (err) {
    throw CniError.of(CNI_ERRORS, 'ERR_RESULT_UNDECODABLE', { version }, (err as Error).message, err);
  }
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  return `${path.replace(/^\./, '') || '(root)'}: ${issue.message}`;
}

/**
 * Decodes a success result. `input` may be the decoded JSON value or its text/bytes. The result's own
 * `cniVersion` decides its shape; `expectedVersion` (the config's version) stands in when the plugin left the
 * field out. A result in another supported version than expected is returned as is: convert it with
 * convertResult. Code 6 when it cannot be decoded, code 1 when its version is unknown.
 */
export function parseResult(input: unknown, expectedVersion?: string): CniResult {
  const label = expectedVersion ?? 'CNI';
  const value = typeof input === 'string' || input instanceof Uint8Array ? decodeText(input, label) : input;
  if (!isPlainObject(value)) {
    throw CniError.of(
      CNI_ERRORS,
      'ERR_RESULT_UNDECODABLE',
      { version: label },
      'result is not a JSON object',
    );
  }
  const declared = value['cniVersion'] ?? expectedVersion;
  if (declared === undefined) {
    throw CniError.of(CNI_ERRORS, 'ERR_RESULT_UNDECODABLE', { version: label }, 'missing cniVersion');
  }
  if (typeof declared !== 'string') {
    throw CniError.of(
      CNI_ERRORS,
      'ERR_RESULT_UNDECODABLE',
      { version: label },
      'cniVersion: expected string',
    );
  }
  if (!isSupportedVersion(declared)) {
    throw CniError.of(CNI_ERRORS, 'ERR_RESULT_VERSION_UNKNOWN', { version: declared });
  }
  const r = schemaFor(declared).safeParse({ ...value, cniVersion: declared });
  if (!r.success) {
    throw CniError.of(CNI_ERRORS, 'ERR_RESULT_UNDECODABLE', { version: declared }, firstIssue(r.error));
  }
  return r.data;
}

/** Whether a decoded plugin output is an error object (`code` + `msg`) rather than a result. */
export function isErrorResult(value: unknown): value is ErrorResult {
  return ErrorResultSchema.safeParse(value).success;
}

/** Decodes a plugin's error output; code 6 when it is not one. */
export function parseErrorResult(value: unknown): ErrorResult {
  const r = ErrorResultSchema.safeParse(value);
  if (!r.success) {
    throw CniError.of(CNI_ERRORS, 'ERR_RESULT_UNDECODABLE', { version: 'error' }, firstIssue(r.error));
  }
  return r.data;
}

/**
 * A result that attaches nothing. Without `ifName` it is just `{cniVersion}`. With one, it is the placeholder
 * multus returns for a pod that no longer exists: the interface (in `netns`, when given) and the unspecified IPv4
 * address `0.0.0.0/0` with gateway `0.0.0.0`, in the shape of `version`.
 */
export function emptyResult<V extends CniVersion>(version: V, ifName?: string, netns?: string): ResultFor<V> {
  if (!isSupportedVersion(version)) {
    throw CniError.of(CNI_ERRORS, 'ERR_VERSION_UNSUPPORTED', {
      version: String(version),
      supported: SUPPORTED_VERSIONS.join(', '),
    });
  }
  const v: CniVersion = version;
  let out: CniResult;
  if (ifName === undefined) {
    out = { cniVersion: v } as CniResult;
  } else if (isLegacyVersion(v)) {
    out = { cniVersion: v, ip4: { ip: '0.0.0.0/0', gateway: '0.0.0.0' } };
  } else {
    const iface = { name: ifName, ...(netns === undefined ? {} : { sandbox: netns }) };
    out = is04xVersion(v)
      ? {
          cniVersion: v,
          interfaces: [iface],
          ips: [{ version: '4', address: '0.0.0.0/0', gateway: '0.0.0.0' }],
        }
      : {
          cniVersion: v as Version1x,
          interfaces: [iface],
          ips: [{ address: '0.0.0.0/0', gateway: '0.0.0.0' }],
        };
  }
  return out as ResultFor<V>;
}
