// The delegate plan: which networks a pod gets, in which order, with which interface names, configs, capability
// args and CNI_ARGS. Order (multi-net-spec 6.2, upstream 5.9): the cluster network (or the pod's
// v1.multus-cni.io/default-network override) first, then defaultNetworks (not for system namespaces), then the
// networks the pod selects. Pure: NADs come from a lookup function, files from an injected reader.
import { CniError, type NetworkConfigList, parseNetworkConfig } from '@multus-ts/cni';
import { capabilityArgsFor, injectDeviceId, mergeCniArgs } from './capabilities.ts';
import { NETSPEC_ERRORS } from './catalogue.ts';
import { cniDeviceInfoPath, DEVINFO_CAPABILITY, dpDeviceInfoPath } from './devinfo.ts';
import { normalizeRuntimeConfig } from './k8s-args.ts';
import type { ConfDirReader } from './nad.ts';
import { ifNameProblem } from './names.ts';
import {
  type NadLookup,
  type ResolvedNetwork,
  resolveNadRef,
  resolveNetworkRef,
  resolveStaticDelegate,
} from './resolve.ts';
import {
  DEFAULT_NETWORK_ANNOTATION,
  NETWORKS_ANNOTATION,
  type NetworkSelection,
  parseDefaultNetworkSelection,
  parseNetworkSelection,
} from './selection.ts';

export interface PlanPod {
  namespace: string;
  name: string;
  uid?: string | undefined;
  annotations?: Readonly<Record<string, string>> | undefined;
}

/** The multus config keys the plan depends on (upstream NetConf names and defaults). */
export interface PlanMultusConfig {
  clusterNetwork?: string | undefined;
  /** Static delegates (used when clusterNetwork is empty); raw JSON text keeps them lossless. */
  delegates?: ReadonlyArray<string | Readonly<Record<string, unknown>>> | undefined;
  defaultNetworks?: readonly string[] | undefined;
  /** Default `kube-system`. */
  multusNamespace?: string | undefined;
  /** Default `["kube-system"]`. */
  systemNamespaces?: readonly string[] | undefined;
  namespaceIsolation?: boolean | undefined;
  /** Namespaces any pod may select NADs from under isolation. Default `["default"]`. */
  globalNamespaces?: readonly string[] | undefined;
  /** Directory for NADs without spec.config and for file-based network names. Default `/etc/cni/multus/net.d`. */
  confDir?: string | undefined;
}

export interface PlanRuntime {
  containerId: string;
  /** CNI_IFNAME. */
  ifName: string;
  /** The runtime's top-level runtimeConfig (portMappings, bandwidth, ...): for the cluster network only. */
  runtimeConfig?: unknown;
}

export interface PlanRequest {
  pod: PlanPod;
  multus: PlanMultusConfig;
  runtime: PlanRuntime;
  lookupNad: NadLookup;
  reader: ConfDirReader;
  /** Device IDs per device-plugin resource name, as the kubelet reports them for this pod. */
  resourceDevices?: Readonly<Record<string, readonly string[]>> | undefined;
  /** See CapabilityInput.cniArgsFallback. Default false: the spec's failure. */
  cniArgsFallback?: boolean | undefined;
  /** Base of the device-info files (`dp/` and `cni/` below it). Default DEVINFO_BASE_DIR. */
  deviceInfoDir?: string | undefined;
  /**
   * Interface names for the selected networks that name none, by position in the networks annotation (an
   * undefined entry keeps the default, net<position in the whole list>). Hot-plug uses it to keep a running
   * pod's names stable; an element's own `interface` always wins.
   */
  selectionIfNames?: readonly (string | undefined)[] | undefined;
}

export type AttachmentSource =
  | 'clusterNetwork'
  | 'defaultNetworkAnnotation'
  | 'delegates'
  | 'defaultNetworks'
  | 'selection';

export interface Attachment {
  /** Position in the plan (0 is the cluster network). */
  index: number;
  /** `ns/name` for a NAD, the config's name for a file-based network: the network-status name. */
  network: string;
  nad?: { namespace: string; name: string };
  source: AttachmentSource;
  ifName: string;
  /** The cluster default network (exactly one per plan). */
  master: boolean;
  config: NetworkConfigList;
  /** The delegate config as JSON text: the original bytes plus only the edits the spec requires. */
  text: string;
  capabilityArgs: Record<string, unknown>;
  cniArgs: [string, string][];
  selection?: NetworkSelection;
  /** Requested default-route gateways (present, maybe empty, only when the element asked). */
  defaultRoute?: string[];
  deviceID?: string;
  resourceName?: string;
  /** Device-info files: read `cniFile` into network-status after ADD, delete it on DEL; seed it from `dpFile`. */
  deviceInfo?: { cniFile: string; dpFile?: string };
}

export const DEFAULT_MULTUS_NAMESPACE = 'kube-system';
export const DEFAULT_SYSTEM_NAMESPACES: readonly string[] = ['kube-system'];
export const DEFAULT_GLOBAL_NAMESPACES: readonly string[] = ['default'];

interface Pending {
  source: AttachmentSource;
  net: ResolvedNetwork;
  master: boolean;
  selection?: NetworkSelection;
}

function unwrap<T>(r: { ok: true; value: T } | { ok: false; error: CniError }): T {
  if (!r.ok) throw r.error;
  return r.value;
}

/** Prefixes an error from a network's resolution with the network it concerns (same code). */
function naming(network: string, fn: () => ResolvedNetwork): ResolvedNetwork {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CniError && !e.msg.includes(network)) {
      throw new CniError(e.code, `network ${network}: ${e.msg}`, e.details, {
        ...(e.id ? { id: e.id } : {}),
        cause: e,
      });
    }
    throw e;
  }
}

function collect(req: PlanRequest): Pending[] {
  const { pod, multus } = req;
  const ctx = { lookupNad: req.lookupNad, reader: req.reader, confDir: multus.confDir };
  const multusNs = multus.multusNamespace || DEFAULT_MULTUS_NAMESPACE;
  const annotations = pod.annotations ?? {};
  const out: Pending[] = [];

  const override = annotations[DEFAULT_NETWORK_ANNOTATION];
  const statics = multus.delegates ?? [];
  if (override !== undefined) {
    const sel = unwrap(parseDefaultNetworkSelection(override, { defaultNamespace: multusNs }));
    const net = naming(`${sel.namespace}/${sel.name}`, () => resolveNadRef(sel.namespace, sel.name, ctx));
    out.push({ source: 'defaultNetworkAnnotation', net, master: true, selection: sel });
  } else if (multus.clusterNetwork) {
    const ref = multus.clusterNetwork;
    out.push({
      source: 'clusterNetwork',
      net: naming(ref, () => resolveNetworkRef(ref, multusNs, ctx)),
      master: true,
    });
  } else if (statics[0] !== undefined) {
    out.push({ source: 'delegates', net: resolveStaticDelegate(statics[0], 0), master: true });
  } else {
    throw CniError.of(NETSPEC_ERRORS, 'ERR_NO_DELEGATES');
  }
  if (!multus.clusterNetwork) {
    statics.slice(1).forEach((d, i) => {
      out.push({ source: 'delegates', net: resolveStaticDelegate(d, i + 1), master: false });
    });
  }

  const systemNs = multus.systemNamespaces ?? DEFAULT_SYSTEM_NAMESPACES;
  if (!systemNs.includes(pod.namespace)) {
    for (const ref of multus.defaultNetworks ?? []) {
      out.push({
        source: 'defaultNetworks',
        net: naming(ref, () => resolveNetworkRef(ref, multusNs, ctx)),
        master: false,
      });
    }
  }

  const selected = unwrap(
    parseNetworkSelection(annotations[NETWORKS_ANNOTATION], { defaultNamespace: pod.namespace }),
  );
  const globalNs = multus.globalNamespaces ?? DEFAULT_GLOBAL_NAMESPACES;
  for (const sel of selected) {
    const network = `${sel.namespace}/${sel.name}`;
    if (multus.namespaceIsolation && sel.namespace !== pod.namespace && !globalNs.includes(sel.namespace)) {
      throw CniError.of(
        NETSPEC_ERRORS,
        'ERR_NAMESPACE_ISOLATION',
        { podNamespace: pod.namespace, namespace: sel.namespace },
        `network ${network}`,
      );
    }
    out.push({
      source: 'selection',
      net: naming(network, () => resolveNadRef(sel.namespace, sel.name, ctx)),
      master: false,
      selection: sel,
    });
  }
  return out;
}

/**
 * Builds the ordered attachments for a pod. Throws a CniError (code 7 for configuration problems, naming the
 * network) when any selected network cannot be planned: the spec fails the whole ADD (7.2).
 */
export function planAttachments(req: PlanRequest): Attachment[] {
  const pending = collect(req);
  const runtimeConfig = normalizeRuntimeConfig(req.runtime.runtimeConfig);
  const usedIfNames = new Map<string, string>();
  const resourceCursor = new Map<string, number>();
  const baseArgs: [string, string][] = [
    ['IgnoreUnknown', 'true'],
    ['K8S_POD_NAMESPACE', req.pod.namespace],
    ['K8S_POD_NAME', req.pod.name],
    ['K8S_POD_INFRA_CONTAINER_ID', req.runtime.containerId],
    ['K8S_POD_UID', req.pod.uid ?? ''],
  ];

  let selectionPos = -1;
  return pending.map((p, index): Attachment => {
    const { net, selection: sel } = p;
    const network = net.network;
    if (p.source === 'selection') selectionPos++;
    const given = p.source === 'selection' ? req.selectionIfNames?.[selectionPos] : undefined;
    // 5.9: an explicit name wins; else CNI_IFNAME for the master; else net<position in the whole list>.
    const ifName = sel?.interface ?? (p.master ? req.runtime.ifName : (given ?? `net${index}`));
    const bad = ifNameProblem(ifName);
    if (bad) throw CniError.of(NETSPEC_ERRORS, 'ERR_IFNAME_INVALID', { network, ifname: ifName }, bad);
    const other = usedIfNames.get(ifName);
    if (other !== undefined)
      throw CniError.of(NETSPEC_ERRORS, 'ERR_IFNAME_TAKEN', { network, ifname: ifName, other });
    usedIfNames.set(ifName, network);

    // The i-th attachment using a device-plugin resource gets the i-th device ID the kubelet reported.
    const resourceName = net.nad?.resourceName;
    let resourceDeviceId: string | undefined;
    if (resourceName !== undefined) {
      const n = resourceCursor.get(resourceName) ?? 0;
      resourceCursor.set(resourceName, n + 1);
      resourceDeviceId = req.resourceDevices?.[resourceName]?.[n];
    }
    const rcDeviceId =
      p.master && typeof runtimeConfig['deviceID'] === 'string' ? runtimeConfig['deviceID'] : undefined;
    const deviceID = resourceDeviceId ?? sel?.deviceID ?? rcDeviceId;

    let text = net.resolved.text;
    if (sel?.cniArgs) text = mergeCniArgs(text, sel.cniArgs, network);
    if (resourceDeviceId !== undefined) text = injectDeviceId(text, resourceDeviceId);
    let config = text === net.resolved.text ? net.resolved.config : undefined;
    try {
      config ??= parseNetworkConfig(text);
    } catch (e) {
      throw CniError.of(NETSPEC_ERRORS, 'ERR_NAD_CONFIG_INVALID', { network }, (e as Error).message, e);
    }

    const declaresDevInfo = config.plugins.some((pl) => pl.capabilities?.[DEVINFO_CAPABILITY] === true);
    let deviceInfo: Attachment['deviceInfo'];
    if (declaresDevInfo || deviceID !== undefined) {
      const cniFile = cniDeviceInfoPath(network, req.runtime.containerId, ifName, req.deviceInfoDir);
      deviceInfo =
        resourceName !== undefined && resourceDeviceId !== undefined
          ? { cniFile, dpFile: dpDeviceInfoPath(resourceName, resourceDeviceId, req.deviceInfoDir) }
          : { cniFile };
    }

    const { capabilityArgs, extraCniArgs } = capabilityArgsFor({
      network,
      config,
      master: p.master,
      selection: sel,
      runtimeConfig,
      deviceID,
      deviceInfoFile: deviceInfo?.cniFile,
      cniArgsFallback: req.cniArgsFallback ?? false,
    });

    const a: Attachment = {
      index,
      network,
      source: p.source,
      ifName,
      master: p.master,
      config,
      text,
      capabilityArgs,
      cniArgs: [...baseArgs, ...extraCniArgs],
    };
    if (net.nad) a.nad = { namespace: net.nad.namespace, name: net.nad.name };
    if (sel) a.selection = sel;
    if (sel?.defaultRoute) a.defaultRoute = sel.defaultRoute;
    if (deviceID !== undefined) a.deviceID = deviceID;
    if (resourceName !== undefined) a.resourceName = resourceName;
    if (deviceInfo) a.deviceInfo = deviceInfo;
    return a;
  });
}
