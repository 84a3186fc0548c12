// One network selection element (multi-net-spec 4.1.2): validation of a JSON map into a typed value. Each check
// returns a precise reason; the caller turns the first one into the error for the whole annotation.
import { isIpOrCidr, parseHardwareAddr, parseIp } from './ip.ts';
import { dns1123LabelProblem, dns1123SubdomainProblem, ifNameProblem } from './names.ts';

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  /** Lower case, as Kubernetes runtimes send it to portmap. */
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIP?: string;
}

export interface Bandwidth {
  ingressRate?: number;
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
}

/** A validated selection element, namespace defaulted. Absent keys are left out. */
export interface NetworkSelection {
  name: string;
  namespace: string;
  /** `interface` (or the deprecated `interfaceRequest`, or `@ifname` in the comma form). */
  interface?: string;
  ips?: string[];
  mac?: string;
  infinibandGuid?: string;
  cniArgs?: Record<string, unknown>;
  portMappings?: PortMapping[];
  bandwidth?: Bandwidth;
  /** Gateways for the pod's default route; present (possibly empty) only when the element asked for it. */
  defaultRoute?: string[];
  ipamClaimReference?: string;
  /** Upstream Multus extension: a device ID handed to the delegate as runtimeConfig.deviceID. */
  deviceID?: string;
  /** Non-standard keys in reverse-DNS form (4.1.2), kept verbatim for consumers that understand them. */
  extensions?: Record<string, unknown>;
}

/** The reserved keys this implementation understands (upstream's `deviceID` and `interfaceRequest` included). */
const KNOWN_KEYS = [
  'name',
  'namespace',
  'ips',
  'mac',
  'interface',
  'interfaceRequest',
  'cni-args',
  'portMappings',
  'bandwidth',
  'default-route',
  'infiniband-guid',
  'ipam-claim-reference',
  'deviceID',
] as const;
type KnownKey = (typeof KNOWN_KEYS)[number];

const MAX_DEVICE_ID = 256;

class Invalid extends Error {}

function fail(reason: string): never {
  throw new Invalid(reason);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Matches keys the way Go's encoding/json does (exact first, else case-insensitively), since upstream Multus and
 * every Go consumer read annotations that way. Two different spellings of one key are refused as ambiguous.
 */
export function foldKeys<K extends string>(
  obj: Record<string, unknown>,
  known: readonly K[],
): { values: Partial<Record<K, unknown>>; extensions: Record<string, unknown> } {
  const values: Partial<Record<K, unknown>> = {};
  const seen = new Map<K, string>();
  const extensions: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    const canonical =
      known.find((k) => k === key) ?? known.find((k) => k.toLowerCase() === key.toLowerCase());
    if (canonical === undefined) {
      if (key.includes('.')) extensions[key] = value;
      continue;
    }
    const earlier = seen.get(canonical);
    if (earlier !== undefined) fail(`keys "${earlier}" and "${key}" both set "${canonical}"`);
    seen.set(canonical, key);
    values[canonical] = value;
  }
  return { values, extensions };
}

function optString(v: unknown, key: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail(`"${key}" must be a string`);
  return v === '' ? undefined : v;
}

function optStringList(v: unknown, key: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) fail(`"${key}" must be a list of strings`);
  return v as string[];
}

function port(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
    fail(`${what} must be an integer from 1 to 65535`);
  }
  return v;
}

function portMappings(v: unknown): PortMapping[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) fail('"portMappings" must be a list');
  if (v.length === 0) fail('"portMappings" must have at least one element');
  return v.map((raw, i) => {
    const where = `portMappings[${i}]`;
    if (!isObject(raw)) fail(`${where} must be an object`);
    const { values } = foldKeys(raw, ['hostPort', 'containerPort', 'protocol', 'hostIP'] as const);
    if (values.hostPort === undefined) fail(`${where}.hostPort is required`);
    if (values.containerPort === undefined) fail(`${where}.containerPort is required`);
    const pm: PortMapping = {
      hostPort: port(values.hostPort, `${where}.hostPort`),
      containerPort: port(values.containerPort, `${where}.containerPort`),
      protocol: 'tcp',
    };
    const proto = optString(values.protocol, `${where}.protocol`);
    if (proto !== undefined) {
      const p = proto.toLowerCase();
      if (p !== 'tcp' && p !== 'udp' && p !== 'sctp')
        fail(`${where}.protocol "${proto}" is not TCP, UDP or SCTP`);
      pm.protocol = p;
    }
    const hostIP = optString(values.hostIP, `${where}.hostIP`);
    if (hostIP !== undefined) {
      if (!parseIp(hostIP)) fail(`${where}.hostIP "${hostIP}" is not an IP address`);
      pm.hostIP = hostIP;
    }
    return pm;
  });
}

const BANDWIDTH_KEYS = ['ingressRate', 'ingressBurst', 'egressRate', 'egressBurst'] as const;

function bandwidth(v: unknown): Bandwidth | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) fail('"bandwidth" must be an object');
  const { values } = foldKeys(v, BANDWIDTH_KEYS);
  const bw: Bandwidth = {};
  for (const key of BANDWIDTH_KEYS) {
    const n = values[key];
    if (n === undefined || n === null) continue;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) {
      fail(`bandwidth.${key} must be a positive integer`);
    }
    bw[key] = n;
  }
  if (bw.ingressBurst !== undefined && bw.ingressRate === undefined) {
    fail('bandwidth.ingressBurst requires bandwidth.ingressRate');
  }
  if (bw.egressBurst !== undefined && bw.egressRate === undefined) {
    fail('bandwidth.egressBurst requires bandwidth.egressRate');
  }
  return bw;
}

/** Name, namespace and interface checks shared with the comma form. */
export function checkIdentity(name: string, namespace: string, ifname: string | undefined): void {
  const nameProblem = dns1123LabelProblem(name);
  if (nameProblem) fail(`network name "${name}" ${nameProblem}`);
  const nsProblem = dns1123LabelProblem(namespace);
  if (nsProblem) fail(`namespace "${namespace}" ${nsProblem}`);
  if (ifname !== undefined) {
    const p = ifNameProblem(ifname);
    if (p) fail(`interface "${ifname}": ${p}`);
  }
}

/** Validates one JSON element. Throws `Invalid` (see `elementProblem`) with the first reason found. */
function toSelection(raw: unknown, defaultNamespace: string): NetworkSelection {
  if (!isObject(raw)) fail('must be a JSON object');
  const { values: v, extensions } = foldKeys<KnownKey>(raw, KNOWN_KEYS);
  if (v.name === undefined || v.name === null || v.name === '') fail('"name" is required');
  if (typeof v.name !== 'string') fail('"name" must be a string');
  const name = v.name;
  const namespace = optString(v.namespace, 'namespace') ?? defaultNamespace;
  const ifname = optString(v.interface, 'interface') ?? optString(v.interfaceRequest, 'interfaceRequest');
  checkIdentity(name, namespace, ifname);
  const sel: NetworkSelection = { name, namespace };
  if (ifname !== undefined) sel.interface = ifname;

  const ips = optStringList(v.ips, 'ips');
  if (ips !== undefined) {
    if (ips.length === 0) fail('"ips" must have at least one element');
    for (const ip of ips) if (!isIpOrCidr(ip)) fail(`ips: "${ip}" is not an IP address or CIDR`);
    sel.ips = ips;
  }
  const mac = optString(v.mac, 'mac');
  if (mac !== undefined) {
    if (!parseHardwareAddr(mac, 6)) fail(`mac "${mac}" is not a 6-byte MAC address`);
    sel.mac = mac;
  }
  const guid = optString(v['infiniband-guid'], 'infiniband-guid');
  if (guid !== undefined) {
    if (!parseHardwareAddr(guid, 8)) fail(`infiniband-guid "${guid}" is not an 8-byte GUID`);
    sel.infinibandGuid = guid;
  }
  const cniArgs = v['cni-args'];
  if (cniArgs !== undefined && cniArgs !== null) {
    if (!isObject(cniArgs)) fail('"cni-args" must be an object');
    sel.cniArgs = cniArgs;
  }
  const pms = portMappings(v.portMappings);
  if (pms) sel.portMappings = pms;
  const bw = bandwidth(v.bandwidth);
  if (bw) sel.bandwidth = bw;
  const gws = optStringList(v['default-route'], 'default-route');
  if (gws !== undefined) {
    for (const gw of gws) if (!parseIp(gw)) fail(`default-route: "${gw}" is not an IP address`);
    sel.defaultRoute = gws;
  }
  const claim = optString(v['ipam-claim-reference'], 'ipam-claim-reference');
  if (claim !== undefined) {
    const p = dns1123SubdomainProblem(claim);
    if (p) fail(`ipam-claim-reference "${claim}" ${p}`);
    if (sel.ips) fail('"ips" and "ipam-claim-reference" must not be set together');
    sel.ipamClaimReference = claim;
  }
  const deviceID = optString(v.deviceID, 'deviceID');
  if (deviceID !== undefined) {
    if (deviceID.length > MAX_DEVICE_ID || /[\0-\x1f]/.test(deviceID)) fail('"deviceID" is not a device ID');
    sel.deviceID = deviceID;
  }
  if (Object.keys(extensions).length > 0) sel.extensions = extensions;
  return sel;
}

/** The validated element, or the reason it is invalid. Never throws. */
export function checkElement(
  raw: unknown,
  defaultNamespace: string,
): { ok: true; value: NetworkSelection } | { ok: false; reason: string } {
  try {
    return { ok: true, value: toSelection(raw, defaultNamespace) };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, reason: err.message };
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

/** Validates a comma-form item's parts; returns the reason on failure. */
export function checkCommaIdentity(
  name: string,
  namespace: string,
  ifname: string | undefined,
): string | undefined {
  try {
    checkIdentity(name, namespace, ifname);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
