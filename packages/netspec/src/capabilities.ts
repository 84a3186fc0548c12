// Per-attachment runtime inputs: the capability args (CONVENTIONS.md runtimeConfig) an attachment's chain gets,
// the spec's failure when a requested capability is declared by no plugin (multi-net-spec 4.1.2.1.3-10), and the
// lossless config edits a selection causes (cni-args into args.cni, 4.1.2.1.6; a device-plugin deviceID).
import { CniError, type NetworkConfigList } from '@multus-ts/cni';
import { NETSPEC_ERRORS } from './catalogue.ts';
import { editPlugins, memberValue, setMember } from './json-edit.ts';
import type { NetworkSelection } from './selection-element.ts';

/** Selection keys that become runtimeConfig capabilities, and must be declared somewhere in the chain. */
export const SELECTION_CAPABILITIES = [
  { field: 'mac', capability: 'mac', annotationKey: 'mac' },
  { field: 'ips', capability: 'ips', annotationKey: 'ips' },
  { field: 'infinibandGuid', capability: 'infinibandGUID', annotationKey: 'infiniband-guid' },
  { field: 'portMappings', capability: 'portMappings', annotationKey: 'portMappings' },
  { field: 'bandwidth', capability: 'bandwidth', annotationKey: 'bandwidth' },
] as const satisfies readonly { field: keyof NetworkSelection; capability: string; annotationKey: string }[];

/** Capabilities declared (`true`) by at least one plugin of the chain. */
export function declaredCapabilities(config: NetworkConfigList): Set<string> {
  const out = new Set<string>();
  for (const plugin of config.plugins) {
    for (const [cap, on] of Object.entries(plugin.capabilities ?? {})) if (on === true) out.add(cap);
  }
  return out;
}

export interface CapabilityInput {
  network: string;
  config: NetworkConfigList;
  master: boolean;
  selection?: NetworkSelection | undefined;
  /** The runtime's own runtimeConfig (normalised); only the cluster network gets it (7.5). */
  runtimeConfig: Readonly<Record<string, unknown>>;
  deviceID?: string | undefined;
  deviceInfoFile?: string | undefined;
  /**
   * Upstream compatibility: instead of failing when `ips`/`mac` are not declared, pass them as the deprecated
   * CNI_ARGS `IP=`/`MAC=` (always, as upstream does) and silently drop other undeclared requests.
   */
  cniArgsFallback?: boolean;
}

export interface CapabilityOutput {
  /** runtimeConfig values keyed by capability, restricted to the capabilities the chain declares. */
  capabilityArgs: Record<string, unknown>;
  /** CNI_ARGS pairs the fallback adds (`MAC`, `IP`). */
  extraCniArgs: [string, string][];
}

export function capabilityArgsFor(input: CapabilityInput): CapabilityOutput {
  const declared = declaredCapabilities(input.config);
  const requested: Record<string, unknown> = input.master ? { ...input.runtimeConfig } : {};
  const extraCniArgs: [string, string][] = [];
  const sel = input.selection;
  for (const { field, capability, annotationKey } of SELECTION_CAPABILITIES) {
    const value = sel?.[field];
    if (value === undefined) continue;
    if (input.cniArgsFallback) {
      if (field === 'mac') extraCniArgs.push(['MAC', sel?.mac ?? '']);
      if (field === 'ips') extraCniArgs.push(['IP', (sel?.ips ?? []).join(',')]);
    } else if (!declared.has(capability)) {
      throw CniError.of(NETSPEC_ERRORS, 'ERR_CAPABILITY_MISSING', {
        network: input.network,
        key: annotationKey,
        capability,
      });
    }
    requested[capability] = value;
  }
  if (input.deviceID !== undefined) requested['deviceID'] = input.deviceID;
  if (input.deviceInfoFile !== undefined) requested['CNIDeviceInfoFile'] = input.deviceInfoFile;
  const capabilityArgs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(requested)) {
    if (declared.has(key) && value !== undefined) capabilityArgs[key] = value;
  }
  return { capabilityArgs, extraCniArgs };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * 4.1.2.1.6: merges `cniArgs` into `args.cni` of every plugin (the annotation wins over the config). Only the
 * `args` member (or `args.cni` inside it) is rewritten; the rest of the text is untouched.
 */
export function mergeCniArgs(
  text: string,
  cniArgs: Readonly<Record<string, unknown>>,
  network: string,
): string {
  return editPlugins(text, (t, start, index) => {
    const args = memberValue(t, start, 'args');
    if (!args) return setMember(t, start, 'args', JSON.stringify({ cni: cniArgs }));
    const cni = memberValue(t, args.valueStart, 'cni');
    if (!cni) return setMember(t, args.valueStart, 'cni', JSON.stringify(cniArgs));
    const existing: unknown = JSON.parse(t.slice(cni.valueStart, cni.valueEnd));
    if (!isObject(existing)) throw CniError.of(NETSPEC_ERRORS, 'ERR_ARGS_CNI_INVALID', { network, index });
    return setMember(t, args.valueStart, 'cni', JSON.stringify({ ...existing, ...cniArgs }));
  });
}

/** A device-plugin deviceID goes into every plugin as `deviceID` and `pciBusID` (SR-IOV and host-device read them). */
export function injectDeviceId(text: string, deviceID: string): string {
  return editPlugins(text, (t, start) =>
    setMember(
      setMember(t, start, 'deviceID', JSON.stringify(deviceID)),
      start,
      'pciBusID',
      JSON.stringify(deviceID),
    ),
  );
}
