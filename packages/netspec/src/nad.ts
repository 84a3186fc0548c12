// NetworkAttachmentDefinition (multi-net-spec 3) and how a delegating plugin turns one into a CNI config
// (3.4.1, in the spec's order) with the NAD name injected when the config has none (3.4.2). File access goes
// through an injected reader; the config text is kept byte for byte apart from the injected name.
import { CniCode, CniError, type NetworkConfigList, parseNetworkConfig } from '@multus-ts/cni';
import { z } from 'zod';
import { NETSPEC_ERRORS } from './catalogue.ts';
import { memberValue, setMember } from './json-edit.ts';

export const NAD_API_VERSION = 'k8s.cni.cncf.io/v1';
export const NAD_KIND = 'NetworkAttachmentDefinition';
export const RESOURCE_NAME_ANNOTATION = 'k8s.v1.cni.cncf.io/resourceName';
/** Upstream's `confDir` default: where NADs without spec.config find their file. */
export const DEFAULT_CONF_DIR = '/etc/cni/multus/net.d';

export const NadSchema = z.looseObject({
  apiVersion: z.literal(NAD_API_VERSION).optional(),
  kind: z.literal(NAD_KIND).optional(),
  metadata: z.looseObject({
    name: z.string().min(1),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
  spec: z.looseObject({ config: z.string().optional() }).optional(),
});
export type Nad = z.infer<typeof NadSchema>;

/** Read-only view of a config directory; the daemon backs it with the file system, tests with a map. */
export interface ConfDirReader {
  /** Entry names (not paths) in `dir`; throws when the directory cannot be read. */
  list(dir: string): string[];
  /** The file's text; throws when it cannot be read. */
  read(path: string): string;
}

export interface ResolvedConfig {
  config: NetworkConfigList;
  /** The raw JSON text handed to the delegate (lossless apart from an injected name). */
  text: string;
  /** Where it came from: a NAD's spec.config, a file, or inline in the multus config (static delegates). */
  source: { kind: 'spec' } | { kind: 'file'; path: string } | { kind: 'inline' };
}

/** Validates an object from the API (informer cache) as a NAD. Throws code 7. */
export function parseNad(obj: unknown, ref = '(unnamed)'): Nad {
  const r = NadSchema.safeParse(obj);
  if (!r.success) throw CniError.of(NETSPEC_ERRORS, 'ERR_NAD_INVALID', { ref }, z.prettifyError(r.error));
  return r.data;
}

/** The NAD's `k8s.v1.cni.cncf.io/resourceName` annotation (device-plugin resource), if any. */
export function nadResourceName(nad: Nad): string | undefined {
  const v = nad.metadata.annotations?.[RESOURCE_NAME_ANNOTATION];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/**
 * 3.4.2: when the config's top-level `name` is missing or empty, set it to `name`, editing the text in place so
 * nothing else changes. A present non-empty name is left as it is (3.4.3 only recommends that they match).
 */
export function injectName(text: string, name: string): string {
  const start = text.search(/\S/);
  if (start === -1 || text[start] !== '{') return text;
  const existing = memberValue(text, start, 'name');
  if (existing && text.slice(existing.valueStart, existing.valueEnd) !== '""') {
    const value: unknown = JSON.parse(text.slice(existing.valueStart, existing.valueEnd));
    if (value !== null && value !== '') return text;
  }
  return setMember(text, start, 'name', JSON.stringify(name));
}

const CONFLIST_EXT = ['.conflist'];
/** `.json` is accepted beside `.conf`, as libcni and upstream do. */
const CONF_EXT = ['.conf', '.json'];

/**
 * Finds a config named `name` in `dir`: .conflist files first, then .conf/.json (3.4.1 steps 2 and 3), each in
 * name order. Unreadable or invalid files are skipped (one broken file must not hide the others); their reasons
 * are returned for the error message when nothing matches.
 */
export function findConfigByName(
  dir: string,
  name: string,
  reader: ConfDirReader,
): { found: ResolvedConfig } | { found: undefined; skipped: string[] } {
  let entries: string[];
  try {
    entries = [...reader.list(dir)].sort();
  } catch (e) {
    return { found: undefined, skipped: [`cannot list ${dir}: ${(e as Error).message}`] };
  }
  const skipped: string[] = [];
  for (const exts of [CONFLIST_EXT, CONF_EXT]) {
    for (const entry of entries) {
      if (!exts.some((x) => entry.endsWith(x))) continue;
      const path = joinPath(dir, entry);
      try {
        const text = reader.read(path);
        const config = parseNetworkConfig(text);
        if (config.name === name) return { found: { config, text, source: { kind: 'file', path } } };
      } catch (e) {
        skipped.push(`${entry}: ${e instanceof CniError ? e.message : (e as Error).message}`);
      }
    }
  }
  return { found: undefined, skipped };
}

/**
 * 3.4.1: the NAD's config: spec.config when present (name injected per 3.4.2), else an on-disk .conflist, then
 * .conf, whose `name` equals the NAD name, else a failure that names the network.
 */
export function resolveNadConfig(
  nad: Nad,
  opts: { confDir?: string; reader: ConfDirReader },
): ResolvedConfig {
  const name = nad.metadata.name;
  const network = `${nad.metadata.namespace ?? ''}/${name}`;
  const spec = nad.spec?.config;
  if (spec !== undefined && spec.trim() !== '') {
    try {
      // Validate first (the scanner in injectName needs well-formed JSON), then edit the text only if needed.
      const checked = parseNetworkConfig(spec, { defaultName: name });
      const text = injectName(spec, name);
      const config = text === spec ? checked : parseNetworkConfig(text);
      return { config, text, source: { kind: 'spec' } };
    } catch (e) {
      const inner = CniError.wrap(e);
      const id =
        inner.code === CniCode.DecodeFailure ? 'ERR_NAD_CONFIG_UNDECODABLE' : 'ERR_NAD_CONFIG_INVALID';
      throw CniError.of(NETSPEC_ERRORS, id, { network }, inner.message, e);
    }
  }
  const dir = opts.confDir ?? DEFAULT_CONF_DIR;
  const r = findConfigByName(dir, name, opts.reader);
  if (r.found) return r.found;
  const details = r.skipped.length > 0 ? `skipped: ${r.skipped.join('; ')}` : undefined;
  throw CniError.of(NETSPEC_ERRORS, 'ERR_NAD_CONFIG_NOT_FOUND', { network, name, dir }, details);
}
