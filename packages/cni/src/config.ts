// Network configuration (.conf and .conflist) as the runtime receives it: parsed defensively from untrusted bytes,
// validated with zod, and handed on as the ORIGINAL objects so no plugin key is ever lost or reordered.
//
// Decisions (see config.test.ts for each):
// - More than `maxBytes` (default 1 MiB) is code 7 (invalid network config): the bytes were read fine, the
//   configuration itself is unacceptable. The size is checked before any decoding work.
// - Invalid UTF-8, a lone surrogate in string input, or text that is not JSON is code 6 (decode failure).
// - Duplicate keys: the last occurrence wins, as with Go's encoding/json, so we read what libcni would read.
// - An absent `cniVersion` means 0.1.0, the spec's meaning for an undeclared version (libcni's decoder agrees).
// - `disableCheck`, `disableGC` and `loadOnlyInlinedPlugins` accept booleans and the strings "true"/"false"
//   (any case), as libcni does.
import { z } from 'zod';
import { CNI_ERRORS } from './catalogue.ts';
import { CniError } from './errors.ts';
import { assertSupportedVersion, type CniVersion, negotiateVersion } from './version.ts';

/** Network names and container IDs: what libcni accepts. */
export const NETWORK_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
export const DEFAULT_MAX_CONFIG_BYTES = 1024 * 1024;
/** Real chains have a handful of plugins; thousands would keep a node busy for minutes on one ADD. */
export const MAX_PLUGINS_PER_LIST = 64;
/** Linux IFNAMSIZ - 1. */
export const MAX_IFNAME_BYTES = 15;

const DnsConfSchema = z.looseObject({
  nameservers: z.array(z.string()).optional(),
  domain: z.string().optional(),
  search: z.array(z.string()).optional(),
  options: z.array(z.string()).optional(),
});

/** One plugin's configuration. Only the keys the runtime interprets are checked; every other key is kept. */
export const PluginConfSchema = z.looseObject({
  type: z.string(),
  cniVersion: z.string().optional(),
  name: z.string().optional(),
  capabilities: z.record(z.string(), z.boolean()).optional(),
  runtimeConfig: z.record(z.string(), z.unknown()).optional(),
  args: z.record(z.string(), z.unknown()).optional(),
  ipam: z.looseObject({ type: z.string().optional() }).optional(),
  dns: DnsConfSchema.optional(),
  prevResult: z.record(z.string(), z.unknown()).optional(),
});
export type PluginConf = z.infer<typeof PluginConfSchema>;

/** A bool libcni-style: true/false, or the strings "true"/"false" in any case. */
const LenientBool = z.union([
  z.boolean(),
  z.string().refine((s) => /^(true|false)$/i.test(s), { message: 'expected true or false' }),
]);

export const ConfListSchema = z.looseObject({
  cniVersion: z.string().optional(),
  cniVersions: z.array(z.string()).optional(),
  name: z.string().optional(),
  disableCheck: LenientBool.optional(),
  disableGC: LenientBool.optional(),
  loadOnlyInlinedPlugins: LenientBool.optional(),
  plugins: z.array(z.unknown()),
});

export interface NetworkConfigList {
  kind: 'conf' | 'conflist';
  /** The effective network name (the config's own, or `defaultName` when the config has none). */
  name: string;
  /** The version the list runs at, after `cniVersions` negotiation. */
  cniVersion: CniVersion;
  cniVersions?: string[];
  disableCheck: boolean;
  disableGC: boolean;
  loadOnlyInlinedPlugins: boolean;
  /** The plugin objects exactly as they appeared in the input (never re-built from a schema). */
  plugins: PluginConf[];
  /** The original top-level object. */
  raw: Record<string, unknown>;
  /** The original bytes (for a string input: its UTF-8 encoding). */
  bytes: Uint8Array;
}

export interface ParseConfigOptions {
  maxBytes?: number;
  /** Name used when the config has no `name` (multi-net-spec 3.4.2: the NAD's name). */
  defaultName?: string;
}

function keyOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out || '(root)';
}

function invalid(prefix: readonly PropertyKey[], error: z.ZodError): CniError {
  const issue = error.issues[0];
  const key = keyOf([...prefix, ...(issue?.path ?? [])]);
  return CniError.of(CNI_ERRORS, 'ERR_CONFIG_INVALID', { key }, issue?.message);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function toBool(v: boolean | string | undefined): boolean {
  return typeof v === 'string' ? v.toLowerCase() === 'true' : v === true;
}

/** Throws code 7 unless `name` is a valid CNI network name. */
export function validateNetworkName(name: string): void {
  if (name === '') throw CniError.of(CNI_ERRORS, 'ERR_NETWORK_NAME_MISSING');
  if (!NETWORK_NAME_RE.test(name)) throw CniError.of(CNI_ERRORS, 'ERR_NETWORK_NAME_INVALID', {}, name);
}

/** CNI_CONTAINERID: empty is code 3, bad characters code 4 (libcni's codes). */
export function validateContainerId(id: string): void {
  if (id === '') throw CniError.of(CNI_ERRORS, 'ERR_CONTAINER_ID_MISSING');
  if (!NETWORK_NAME_RE.test(id)) throw CniError.of(CNI_ERRORS, 'ERR_CONTAINER_ID_INVALID', {}, id);
}

/** CNI_IFNAME: the kernel's rules for a device name, all code 4. NUL is refused with the other bad characters. */
export function validateIfName(name: string): void {
  if (name === '') throw CniError.of(CNI_ERRORS, 'ERR_IFNAME_EMPTY');
  if (Buffer.byteLength(name, 'utf8') > MAX_IFNAME_BYTES) {
    throw CniError.of(
      CNI_ERRORS,
      'ERR_IFNAME_TOO_LONG',
      {},
      `interface name should be less than ${MAX_IFNAME_BYTES + 1} characters`,
    );
  }
  if (name === '.' || name === '..') throw CniError.of(CNI_ERRORS, 'ERR_IFNAME_DOTS');
  if (/[/:\s\0]/u.test(name)) throw CniError.of(CNI_ERRORS, 'ERR_IFNAME_CHARS');
}

function toBytes(input: string | Uint8Array, maxBytes: number): Uint8Array {
  if (typeof input === 'string') {
    // UTF-8 never takes fewer bytes than UTF-16 code units, so an over-long string is refused before encoding.
    if (input.length > maxBytes) {
      throw CniError.of(CNI_ERRORS, 'ERR_CONFIG_TOO_LARGE', {
        size: `at least ${input.length}`,
        max: maxBytes,
      });
    }
    if (!input.isWellFormed()) throw CniError.of(CNI_ERRORS, 'ERR_CONFIG_NOT_UTF8');
    const bytes = new TextEncoder().encode(input);
    if (bytes.length > maxBytes) {
      throw CniError.of(CNI_ERRORS, 'ERR_CONFIG_TOO_LARGE', { size: bytes.length, max: maxBytes });
    }
    return bytes;
  }
  if (input.length > maxBytes) {
    throw CniError.of(CNI_ERRORS, 'ERR_CONFIG_TOO_LARGE', { size: input.length, max: maxBytes });
  }
  return input;
}

/** Decodes and JSON-parses untrusted config bytes into a top-level object. Codes 6 and 7 only. */
export function decodeConfigObject(bytes: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (err) {
    throw CniError.of(CNI_ERRORS, 'ERR_CONFIG_NOT_UTF8', {}, undefined, err);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw CniError.of(CNI_ERRORS, 'ERR_CONFIG_NOT_JSON', {}, (err as Error).message, err);
  }
  if (!isPlainObject(value)) throw CniError.of(CNI_ERRORS, 'ERR_CONFIG_NOT_OBJECT');
  return value;
}

/** Checks one plugin object (index `index` in the list) and returns it unchanged. */
export function checkPluginConf(value: unknown, index: number, prefix: readonly PropertyKey[]): PluginConf {
  if (!isPlainObject(value)) {
    throw CniError.of(CNI_ERRORS, 'ERR_CONFIG_INVALID', { key: keyOf(prefix) }, 'expected an object');
  }
  if (value['type'] === undefined || value['type'] === '') {
    throw CniError.of(CNI_ERRORS, 'ERR_CONFIG_NO_TYPE', { index });
  }
  const r = PluginConfSchema.safeParse(value);
  if (!r.success) throw invalid(prefix, r.error);
  // The schema only validated: hand back the caller's object so unknown keys keep their place and value.
  return value as PluginConf;
}

function resolveName(raw: Record<string, unknown>, defaultName: string | undefined): string {
  const name = raw['name'] === undefined || raw['name'] === '' ? defaultName : raw['name'];
  if (name === undefined) throw CniError.of(CNI_ERRORS, 'ERR_NETWORK_NAME_MISSING');
  if (typeof name !== 'string') {
    throw CniError.of(CNI_ERRORS, 'ERR_CONFIG_INVALID', { key: 'name' }, 'expected string');
  }
  validateNetworkName(name);
  return name;
}

/**
 * Parses a network configuration from untrusted input. A single plugin config (.conf) becomes a one-plugin list
 * (kind 'conf'); a document with a top-level `plugins` key is a conflist. Throws only CniError.
 */
export function parseNetworkConfig(
  input: string | Uint8Array,
  opts: ParseConfigOptions = {},
): NetworkConfigList {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_CONFIG_BYTES;
  const bytes = toBytes(input, maxBytes);
  const raw = decodeConfigObject(bytes);

  if (!Object.hasOwn(raw, 'plugins')) {
    const plugin = checkPluginConf(raw, 0, []);
    const name = resolveName(raw, opts.defaultName);
    const cniVersion = assertSupportedVersion(plugin.cniVersion ?? '0.1.0');
    return {
      kind: 'conf',
      name,
      cniVersion,
      disableCheck: false,
      disableGC: false,
      loadOnlyInlinedPlugins: false,
      plugins: [plugin],
      raw,
      bytes,
    };
  }

  const r = ConfListSchema.safeParse(raw);
  if (!r.success) throw invalid([], r.error);
  const list = r.data;
  const name = resolveName(raw, opts.defaultName);
  const negotiated = negotiateVersion(list.cniVersion ?? '', list.cniVersions);
  const cniVersion = assertSupportedVersion(negotiated === '' ? '0.1.0' : negotiated);
  if (list.plugins.length === 0) throw CniError.of(CNI_ERRORS, 'ERR_CONFIG_NO_PLUGINS');
  if (list.plugins.length > MAX_PLUGINS_PER_LIST) {
    throw CniError.of(CNI_ERRORS, 'ERR_CONFIG_TOO_MANY_PLUGINS', {
      count: list.plugins.length,
      max: MAX_PLUGINS_PER_LIST,
    });
  }
  const plugins = (raw['plugins'] as unknown[]).map((p, i) => checkPluginConf(p, i, ['plugins', i]));
  return {
    kind: 'conflist',
    name,
    cniVersion,
    ...(list.cniVersions ? { cniVersions: list.cniVersions } : {}),
    disableCheck: toBool(list.disableCheck),
    disableGC: toBool(list.disableGC),
    loadOnlyInlinedPlugins: toBool(list.loadOnlyInlinedPlugins),
    plugins,
    raw,
    bytes,
  };
}
