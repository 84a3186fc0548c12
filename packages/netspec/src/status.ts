// The network-status annotation (multi-net-spec 5): one entry per attachment, built from the attachment's CNI
// result of any version (converted to 1.1.0 first), serialised exactly the way upstream Multus writes it, and a
// parser for reading it back.
import { CniError, type CniResult, convertResult, parseResult, type Result100 } from '@multus-ts/cni';
import { z } from 'zod';
import { NETSPEC_ERRORS } from './catalogue.ts';
import { type DeviceInfo, DeviceInfoSchema } from './devinfo.ts';
import { canonicalAddress, isDefaultDestination } from './ip.ts';

export const NETWORK_STATUS_ANNOTATION = 'k8s.v1.cni.cncf.io/network-status';
/** Deprecated name (5): neither written nor removed, as upstream v4 does. */
export const OLD_NETWORK_STATUS_ANNOTATION = 'k8s.v1.cni.cncf.io/networks-status';

export interface StatusDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** One entry. Key order is the serialisation order (upstream's, with `default-route` after `dns`). */
export interface NetworkStatus {
  name: string;
  interface?: string;
  ips?: string[];
  mac?: string;
  mtu?: number;
  default: boolean;
  dns: StatusDns;
  'default-route'?: string[];
  'device-info'?: DeviceInfo;
  gateway?: string[];
}

export interface StatusInput {
  /** `ns/name` (or the config name of a file-based network). */
  network: string;
  /** CNI_IFNAME the attachment was added with: the interface for results older than 0.3.0 (5.3.2). */
  ifName: string;
  /** The cluster default network (5.2). */
  isDefault: boolean;
  /** The ADD result, any version (typed or raw JSON). Undefined: a minimal entry (5.1). */
  result?: unknown;
  deviceInfo?: DeviceInfo | undefined;
  /** The selection element's default-route request (5.3.6.4). */
  defaultRoute?: readonly string[] | undefined;
}

function toResult11(input: StatusInput): Result100 | undefined {
  if (input.result === undefined || input.result === null) return undefined;
  let parsed: CniResult;
  try {
    parsed = parseResult(input.result);
  } catch (e) {
    throw CniError.of(
      NETSPEC_ERRORS,
      'ERR_RESULT_INVALID',
      { network: input.network },
      (e as Error).message,
      e,
    );
  }
  return convertResult(parsed, '1.1.0') as Result100;
}

function addresses(list: readonly string[]): string[] {
  return list.map((a) => canonicalAddress(a) ?? a);
}

/** 5.3.3: IPs of the first sandboxed interface (never host-side ones). */
function pickIps(r: Result100, sandboxIndex: number | undefined): string[] {
  const ips = r.ips ?? [];
  const interfaces = r.interfaces ?? [];
  if (sandboxIndex === undefined) {
    return addresses(
      ips.filter((ip) => ip.interface === undefined || ip.interface < 0).map((ip) => ip.address),
    );
  }
  // An unindexed IP can only be the sandbox's when that interface is the only one the result reports.
  const loneInterface = interfaces.length === 1;
  return addresses(
    ips
      .filter((ip) => ip.interface === sandboxIndex || (loneInterface && ip.interface === undefined))
      .map((ip) => ip.address),
  );
}

function pickDns(r: Result100 | undefined): StatusDns {
  const d = r?.dns;
  const out: StatusDns = {};
  if (!d) return out;
  if (d.nameservers?.length) out.nameservers = [...d.nameservers];
  if (d.domain) out.domain = d.domain;
  if (d.search?.length) out.search = [...d.search];
  if (d.options?.length) out.options = [...d.options];
  return out;
}

/** Gateways of the result's default routes; a default route without a gateway contributes nothing. */
function pickGateways(r: Result100): string[] {
  const out: string[] = [];
  for (const route of r.routes ?? []) {
    if (!isDefaultDestination(route.dst) || !route.gw) continue;
    out.push(canonicalAddress(route.gw) ?? route.gw);
  }
  return out;
}

/** One network-status entry for one attachment (5.1-5.3). Keys are set in serialisation order. */
export function buildNetworkStatus(input: StatusInput): NetworkStatus {
  const r = toResult11(input);
  const version = (input.result as { cniVersion?: unknown } | undefined)?.cniVersion;
  const legacy = version === '0.1.0' || version === '0.2.0';
  const out = { name: input.network } as NetworkStatus;
  let gateways: string[] = [];
  if (r) {
    const interfaces = r.interfaces ?? [];
    const idx = interfaces.findIndex((i) => typeof i.sandbox === 'string' && i.sandbox !== '');
    const sandboxIndex = idx === -1 ? undefined : idx;
    const iface = sandboxIndex === undefined ? undefined : interfaces[sandboxIndex];
    if (iface) out.interface = iface.name;
    else if (legacy) out.interface = input.ifName;
    const ips = pickIps(r, sandboxIndex);
    if (ips.length) out.ips = ips;
    if (iface?.mac) out.mac = iface.mac;
    if (iface?.mtu) out.mtu = iface.mtu;
    gateways = pickGateways(r);
  }
  out.default = input.isDefault;
  out.dns = pickDns(r);
  if (input.defaultRoute) out['default-route'] = addresses(input.defaultRoute);
  if (input.deviceInfo) out['device-info'] = input.deviceInfo;
  if (gateways.length) out.gateway = gateways;
  return out;
}

/**
 * Go's json.Marshal escapes <, >, & and U+2028/U+2029 inside strings; those characters cannot occur outside
 * strings in JSON, so escaping the whole serialised text is equivalent.
 */
function goEscape(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The annotation value: `[` + entries (Go MarshalIndent, 4-space indent) joined by `,` + `]`, as upstream. */
export function formatNetworkStatus(list: readonly NetworkStatus[]): string {
  return `[${list.map((s) => goEscape(JSON.stringify(s, null, 4))).join(',')}]`;
}

const StatusEntrySchema = z.looseObject({
  name: z.string(),
  interface: z.string().optional(),
  ips: z.array(z.string()).optional(),
  mac: z.string().optional(),
  mtu: z.number().int().optional(),
  default: z.boolean().optional(),
  dns: z
    .looseObject({
      nameservers: z.array(z.string()).optional(),
      domain: z.string().optional(),
      search: z.array(z.string()).optional(),
      options: z.array(z.string()).optional(),
    })
    .optional(),
  'default-route': z.array(z.string()).optional(),
  'device-info': z.unknown().optional(),
  gateway: z.array(z.string()).optional(),
});

const MAX_STATUS_BYTES = 256 * 1024;

/**
 * Parses a network-status annotation value (ours or upstream's; unknown keys are kept, an upstream `"<nil>"`
 * gateway is read as a plain string). `default` and `dns` are filled in when absent. Throws code 6.
 */
export function parseNetworkStatus(text: string): NetworkStatus[] {
  if (text.length > MAX_STATUS_BYTES) {
    throw CniError.of(NETSPEC_ERRORS, 'ERR_STATUS_INVALID', {}, `larger than ${MAX_STATUS_BYTES} bytes`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw CniError.of(NETSPEC_ERRORS, 'ERR_STATUS_INVALID', {}, (e as Error).message);
  }
  const r = z.array(StatusEntrySchema).safeParse(doc);
  if (!r.success) throw CniError.of(NETSPEC_ERRORS, 'ERR_STATUS_INVALID', {}, z.prettifyError(r.error));
  return r.data.map((e) => {
    const devinfo = e['device-info'] === undefined ? undefined : DeviceInfoSchema.safeParse(e['device-info']);
    if (devinfo && !devinfo.success) {
      throw CniError.of(
        NETSPEC_ERRORS,
        'ERR_STATUS_INVALID',
        {},
        `${e.name}: ${z.prettifyError(devinfo.error)}`,
      );
    }
    const { 'device-info': _d, ...rest } = e;
    return {
      ...rest,
      default: e.default ?? false,
      dns: e.dns ?? {},
      ...(devinfo?.success ? { 'device-info': devinfo.data } : {}),
    } as NetworkStatus;
  });
}
