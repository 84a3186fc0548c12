// The config one plugin of a list receives on stdin, derived the way libcni derives it: the plugin's own object
// with `cniVersion` and `name` set to the list's, `runtimeConfig` holding the capability args the plugin declares,
// and `prevResult`. Every other key, known or not, nested or not, passes through untouched: we never rebuild a
// plugin config from a schema (upstream Multus leaked IPs when a re-marshal dropped a delegate's keys).
//
// Decisions (libcni's behaviour, kept for compatibility):
// - runtimeConfig = { cap: capabilityArgs[cap] } for every cap with `capabilities[cap] === true` that the caller
//   has an arg for; keys match exactly (case-sensitive, as CONVENTIONS.md spells them). Undeclared capabilities
//   are silently dropped. When nothing matches, the plugin's own `runtimeConfig` (if any) is left as it is;
//   when something matches, the injected object replaces it.
// - `capabilities` stays in the config (libcni keeps it; plugins ignore it).
// - A `prevResult` already in the stored config is replaced when the caller passes one, and kept otherwise.
// - Key order: cniVersion and name first (as in the spec's examples), then the plugin's keys in their order,
//   then runtimeConfig and prevResult. JSON readers do not care; humans reading logs do.
import { CNI_ERRORS } from './catalogue.ts';
import { CniError } from './errors.ts';

/** Capability args the runtime has for this attachment (CONVENTIONS.md names: portMappings, ips, mac, ...). */
export type CapabilityArgs = Readonly<Record<string, unknown>>;

export interface InjectOptions {
  name: string;
  cniVersion: string;
  /** The previous plugin's result (ADD) or the cached result (CHECK, DEL), already a JSON object. */
  prevResult?: Readonly<Record<string, unknown>> | undefined;
  capabilityArgs?: CapabilityArgs | undefined;
  /** Extra keys set by the caller, e.g. GC's valid-attachments (set after everything else). */
  extra?: Readonly<Record<string, unknown>> | undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The runtimeConfig the plugin gets: declared capabilities intersected with the args given. */
export function capabilityRuntimeConfig(
  plugin: Readonly<Record<string, unknown>>,
  capabilityArgs: CapabilityArgs | undefined,
): Record<string, unknown> {
  const rc: Record<string, unknown> = {};
  if (capabilityArgs === undefined) return rc;
  if (!isPlainObject(capabilityArgs)) throw CniError.of(CNI_ERRORS, 'ERR_CAPABILITY_ARGS_INVALID');
  const declared = plugin['capabilities'];
  if (!isPlainObject(declared)) return rc;
  for (const [cap, supported] of Object.entries(declared)) {
    if (supported !== true || !Object.hasOwn(capabilityArgs, cap)) continue;
    const value = capabilityArgs[cap];
    if (value === undefined) continue;
    // defineProperty, not assignment: a capability literally named "__proto__" must stay a plain key.
    Object.defineProperty(rc, cap, { value, enumerable: true, writable: true, configurable: true });
  }
  return rc;
}

function put(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The object a plugin receives on stdin. `plugin` itself is never modified. */
export function buildPluginConfig(
  plugin: Readonly<Record<string, unknown>>,
  opts: InjectOptions,
): Record<string, unknown> {
  const runtimeConfig = capabilityRuntimeConfig(plugin, opts.capabilityArgs);
  const injectRc = Object.keys(runtimeConfig).length > 0;
  const out: Record<string, unknown> = {};
  put(out, 'cniVersion', opts.cniVersion);
  put(out, 'name', opts.name);
  for (const [key, value] of Object.entries(plugin)) {
    if (key === 'cniVersion' || key === 'name') continue;
    if (key === 'runtimeConfig' && injectRc) continue;
    if (key === 'prevResult' && opts.prevResult !== undefined) continue;
    put(out, key, value);
  }
  if (injectRc) put(out, 'runtimeConfig', runtimeConfig);
  if (opts.prevResult !== undefined) put(out, 'prevResult', opts.prevResult);
  for (const [key, value] of Object.entries(opts.extra ?? {})) put(out, key, value);
  return out;
}

/** buildPluginConfig, serialised for stdin. */
export function pluginConfigBytes(
  plugin: Readonly<Record<string, unknown>>,
  opts: InjectOptions,
): Uint8Array {
  return Buffer.from(JSON.stringify(buildPluginConfig(plugin, opts)), 'utf8');
}
