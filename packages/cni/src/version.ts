// CNI spec versions: the set this library speaks, strict X.Y.Z comparison, conflist `cniVersions` negotiation
// and the VERSION verb's reply.
import { z } from 'zod';
import { CNI_ERRORS } from './catalogue.ts';
import { CniError } from './errors.ts';

/** Every spec version this library can parse, emit and convert results between, oldest first. */
export const SUPPORTED_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];

/** The newest version we speak; what a runtime announces and what the daemon puts on the wire. */
export const CURRENT_VERSION: CniVersion = '1.1.0';

const SEMVER_RE = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/;

export function isSupportedVersion(v: unknown): v is CniVersion {
  return typeof v === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** Throws code 1 (ERR_VERSION_UNSUPPORTED) unless `v` is one of SUPPORTED_VERSIONS. */
export function assertSupportedVersion(v: unknown): CniVersion {
  if (isSupportedVersion(v)) return v;
  throw CniError.of(CNI_ERRORS, 'ERR_VERSION_UNSUPPORTED', {
    version: String(v),
    supported: SUPPORTED_VERSIONS.join(', '),
  });
}

function parse(v: string): [number, number, number] {
  const m = SEMVER_RE.exec(v);
  if (!m) throw CniError.of(CNI_ERRORS, 'ERR_VERSION_MALFORMED', { version: v });
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Whether `v` is a well-formed X.Y.Z version (no prefix, no pre-release, no leading zeros). */
export function isWellFormedVersion(v: unknown): v is string {
  return typeof v === 'string' && SEMVER_RE.test(v);
}

/** -1, 0 or 1. Both sides must be strict X.Y.Z; anything else throws code 1. */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  const pa = parse(a);
  const pb = parse(b);
  for (let i = 0; i < 3; i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export function versionAtLeast(v: string, min: string): boolean {
  return compareVersions(v, min) >= 0;
}

/**
 * The version a conflist runs at. With `cniVersions`, the highest entry (or `cniVersion`) that `supported` holds
 * wins; versions newer than we know are ignored so that a config written for a future spec still loads. Without a
 * usable entry the list's own `cniVersion` stands (and is checked by the caller). Malformed entries throw code 1,
 * as libcni refuses them too.
 */
export function negotiateVersion(
  cniVersion: string,
  cniVersions: readonly string[] | undefined,
  supported: readonly string[] = SUPPORTED_VERSIONS,
): string {
  if (!cniVersions || cniVersions.length === 0) return cniVersion;
  let best: string | undefined;
  const candidates = cniVersion === '' ? cniVersions : [...cniVersions, cniVersion];
  for (const v of candidates) {
    parse(v);
    if (!supported.includes(v)) continue;
    if (best === undefined || compareVersions(v, best) > 0) best = v;
  }
  return best ?? cniVersion;
}

/**
 * A plugin's reply to VERSION. Unknown keys are tolerated; `supportedVersions` may be missing only for a 0.2.0
 * plugin (which by definition speaks 0.1.0 and 0.2.0), mirroring what runtimes accept from old plugins.
 */
export const VersionReplySchema = z.looseObject({
  cniVersion: z.string().min(1),
  supportedVersions: z.array(z.string()).optional(),
});

export interface VersionReply {
  cniVersion: string;
  supportedVersions: string[];
}

/** The object a plugin (or our daemon) prints for VERSION. */
export function versionReply(
  cniVersion: string,
  supported: readonly string[] = SUPPORTED_VERSIONS,
): VersionReply {
  return { cniVersion, supportedVersions: [...supported] };
}

/** Validates a plugin's VERSION reply (already JSON-decoded); code 6 when it is not one. */
export function parseVersionReply(json: unknown): VersionReply {
  const r = VersionReplySchema.safeParse(json);
  if (!r.success) {
    throw CniError.of(CNI_ERRORS, 'ERR_VERSION_REPLY_INVALID', {}, z.prettifyError(r.error));
  }
  const { cniVersion, supportedVersions } = r.data;
  if (supportedVersions && supportedVersions.length > 0) return { cniVersion, supportedVersions };
  if (cniVersion === '0.2.0') return { cniVersion, supportedVersions: ['0.1.0', '0.2.0'] };
  throw CniError.of(CNI_ERRORS, 'ERR_VERSION_REPLY_INVALID', {}, 'missing field supportedVersions');
}
