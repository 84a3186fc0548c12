// Network references -> delegate configs. A reference is a NAD (selected by a pod, or named by clusterNetwork /
// defaultNetworks), a CNI config file found by its `name` in confDir, or a path (file or directory) for
// clusterNetwork / defaultNetworks, the way upstream Multus resolves them.
import { CniError, parseNetworkConfig } from '@multus-ts/cni';
import { NETSPEC_ERRORS } from './catalogue.ts';
import { memberValue } from './json-edit.ts';
import {
  type ConfDirReader,
  DEFAULT_CONF_DIR,
  findConfigByName,
  type Nad,
  nadResourceName,
  parseNad,
  type ResolvedConfig,
  resolveNadConfig,
} from './nad.ts';

export type NadLookup = (namespace: string, name: string) => unknown;

export interface ResolveContext {
  lookupNad: NadLookup;
  reader: ConfDirReader;
  confDir?: string;
}

export interface ResolvedNetwork {
  /** `ns/name` for a NAD, the config's own name for a file. */
  network: string;
  nad?: { namespace: string; name: string; resourceName?: string };
  resolved: ResolvedConfig;
}

/** Looks a NAD up and validates it; undefined when the lookup has none. */
function findNad(ctx: ResolveContext, namespace: string, name: string): Nad | undefined {
  const found = ctx.lookupNad(namespace, name);
  if (found === undefined || found === null) return undefined;
  return parseNad(found, `${namespace}/${name}`);
}

function fromNad(nad: Nad, namespace: string, ctx: ResolveContext): ResolvedNetwork {
  const withNs: Nad = { ...nad, metadata: { ...nad.metadata, namespace } };
  const resolved = resolveNadConfig(withNs, { confDir: ctx.confDir ?? DEFAULT_CONF_DIR, reader: ctx.reader });
  const resourceName = nadResourceName(nad);
  return {
    network: `${namespace}/${nad.metadata.name}`,
    nad: { namespace, name: nad.metadata.name, ...(resourceName ? { resourceName } : {}) },
    resolved,
  };
}

/** A NAD the pod selected (networks or default-network annotation). Throws code 7 naming it when missing. */
export function resolveNadRef(namespace: string, name: string, ctx: ResolveContext): ResolvedNetwork {
  const nad = findNad(ctx, namespace, name);
  if (!nad) throw CniError.of(NETSPEC_ERRORS, 'ERR_NAD_NOT_FOUND', { name, namespace });
  return fromNad(nad, namespace, ctx);
}

function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

const CONF_FILE_RE = /\.(conf|conflist|json)$/;

/**
 * libcni's chained-plugin directories: a .conflist file's list is extended with the single-plugin `.conf` files
 * in `<dir of the file>/<network name>/`, unless `loadOnlyInlinedPlugins`. The texts are appended to the list's
 * `plugins` array without touching the rest of the document.
 */
function appendChainedPlugins(path: string, r: ResolvedConfig, reader: ConfDirReader): ResolvedConfig {
  const { config } = r;
  if (config.kind !== 'conflist' || config.loadOnlyInlinedPlugins) return r;
  const dir = `${dirname(path)}/${config.name}`;
  let entries: string[];
  try {
    entries = reader
      .list(dir)
      .filter((e) => e.endsWith('.conf'))
      .sort();
  } catch {
    return r; // no chained-plugin directory: the common case
  }
  if (entries.length === 0) return r;
  const extra = entries.map((e) => {
    const file = `${dir}/${e}`;
    const text = reader.read(file);
    const one = parseNetworkConfig(text, { defaultName: config.name });
    if (one.kind !== 'conf') throw new Error(`${file} is not a single-plugin config`);
    return text.trim();
  });
  const top = r.text.search(/\S/);
  const plugins = memberValue(r.text, top, 'plugins');
  if (!plugins) return r;
  const close = plugins.valueEnd - 1;
  const text = `${r.text.slice(0, close)},${extra.join(',')}${r.text.slice(close)}`;
  return { ...r, text, config: parseNetworkConfig(text) };
}

function loadFile(ref: string, path: string, reader: ConfDirReader): ResolvedConfig {
  try {
    const text = reader.read(path);
    const base: ResolvedConfig = { config: parseNetworkConfig(text), text, source: { kind: 'file', path } };
    return path.endsWith('.conflist') ? appendChainedPlugins(path, base, reader) : base;
  } catch (e) {
    throw CniError.of(NETSPEC_ERRORS, 'ERR_NETWORK_FILE_INVALID', { ref, path }, (e as Error).message, e);
  }
}

/** A path: a directory (its first config file in name order) or a config file. */
function resolvePath(ref: string, reader: ConfDirReader): ResolvedNetwork {
  let entries: string[] | undefined;
  try {
    entries = reader.list(ref);
  } catch {
    entries = undefined; // not a directory: read it as a file below
  }
  let path = ref;
  if (entries !== undefined) {
    const first = entries.filter((e) => CONF_FILE_RE.test(e)).sort()[0];
    if (first === undefined) {
      throw CniError.of(
        NETSPEC_ERRORS,
        'ERR_NETWORK_FILE_INVALID',
        { ref, path: ref },
        'no CNI config files',
      );
    }
    path = `${ref.replace(/\/+$/, '')}/${first}`;
  }
  const resolved = loadFile(ref, path, reader);
  return { network: resolved.config.name, resolved };
}

/**
 * clusterNetwork / defaultNetworks entries: a value with `/` is a path; otherwise a NAD of that name in
 * `namespace` (multusNamespace), else a config file in confDir whose `name` is the value.
 */
export function resolveNetworkRef(ref: string, namespace: string, ctx: ResolveContext): ResolvedNetwork {
  if (ref.includes('/')) return resolvePath(ref, ctx.reader);
  const nad = findNad(ctx, namespace, ref);
  if (nad) return fromNad(nad, namespace, ctx);
  const dir = ctx.confDir ?? DEFAULT_CONF_DIR;
  const r = findConfigByName(dir, ref, ctx.reader);
  if (r.found) return { network: r.found.config.name, resolved: r.found };
  const details = r.skipped.length > 0 ? `skipped: ${r.skipped.join('; ')}` : undefined;
  throw CniError.of(NETSPEC_ERRORS, 'ERR_NETWORK_NOT_FOUND', { ref, namespace, dir }, details);
}

/** A static delegate from the multus config (raw JSON text keeps it lossless; an object is serialised). */
export function resolveStaticDelegate(delegate: string | Readonly<Record<string, unknown>>, index: number) {
  const text = typeof delegate === 'string' ? delegate : JSON.stringify(delegate);
  try {
    const config = parseNetworkConfig(text);
    const resolved: ResolvedConfig = { config, text, source: { kind: 'inline' } };
    return { network: config.name, resolved } satisfies ResolvedNetwork;
  } catch (e) {
    throw CniError.of(NETSPEC_ERRORS, 'ERR_DELEGATE_INVALID', { index }, (e as Error).message, e);
  }
}
