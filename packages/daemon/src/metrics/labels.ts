// Label values that come from outside the daemon (plugin types from NADs, error codes from plugins, HTTP methods
// from clients, status codes from the API server) are folded into small fixed sets here. Every distinct label
// value is a time series kept forever, so a hostile or buggy input must never be able to grow the exposition.
import { CniCode } from '@multus-ts/cni';

/** The catch-all value a bounded label takes for anything it will not keep. */
export const OTHER = 'other';

/** A plugin type is a bare executable name; anything else is not worth a series of its own. */
const SAFE_VALUE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Delegate types common enough in real clusters that they never count against the cap. */
export const WELL_KNOWN_PLUGINS: readonly string[] = [
  'bandwidth',
  'bridge',
  'calico',
  'cilium-cni',
  'dhcp',
  'firewall',
  'flannel',
  'host-device',
  'host-local',
  'ib-sriov',
  'ipvlan',
  'kube-ovn',
  'loopback',
  'macvlan',
  'multus',
  'multus-shim',
  'ovn-k8s-cni-overlay',
  'portmap',
  'ptp',
  'sbr',
  'sriov',
  'static',
  'tap',
  'tuning',
  'vlan',
  'vrf',
  'whereabouts',
];

/**
 * A label whose values are accepted up to a cap of distinct values (plus an optional always-accepted set); any
 * further value, and any value that is not a plain short name, becomes "other". The first values seen win, so a
 * flood of made-up names after start-up cannot push out the real ones already counted.
 */
export class BoundedLabel {
  readonly cap: number;
  readonly #always: ReadonlySet<string>;
  readonly #seen = new Set<string>();

  constructor(cap: number, always: Iterable<string> = []) {
    if (!Number.isInteger(cap) || cap < 0)
      throw new RangeError(`cap must be a non-negative integer, got ${cap}`);
    this.cap = cap;
    this.#always = new Set(always);
  }

  /** Distinct values admitted so far (the always-accepted set not included). */
  get size(): number {
    return this.#seen.size;
  }

  value(raw: unknown): string {
    if (typeof raw !== 'string' || !SAFE_VALUE_RE.test(raw) || raw === OTHER) return OTHER;
    if (this.#always.has(raw) || this.#seen.has(raw)) return raw;
    if (this.#seen.size >= this.cap) return OTHER;
    this.#seen.add(raw);
    return raw;
  }
}

const SPEC_CODES: ReadonlySet<number> = new Set(Object.values(CniCode));

/**
 * A CNI error code as a label: the codes the spec reserves (and libcni's 999) are kept; codes 100-998 are
 * plugin-specific and folded into "plugin"; anything else (0, undefined codes below 100, garbage) is "other".
 */
export function cniCodeLabel(code: unknown): string {
  if (typeof code !== 'number' || !Number.isInteger(code)) return OTHER;
  if (SPEC_CODES.has(code)) return String(code);
  if (code >= 100 && code <= 998) return 'plugin';
  return OTHER;
}

/** The methods promhttp names; it reports any other method as "unknown". Exact upper or lower case only. */
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'get',
  'put',
  'head',
  'post',
  'delete',
  'connect',
  'options',
  'notify',
  'trace',
  'patch',
]);

/** An HTTP method as upstream's `multus_server_request_total` labels it: lower case, or "unknown". */
export function httpMethodLabel(method: unknown): string {
  if (typeof method !== 'string') return 'unknown';
  const lower = method.toLowerCase();
  if (!KNOWN_METHODS.has(lower)) return 'unknown';
  return method === lower || method === method.toUpperCase() ? lower : 'unknown';
}

/** An HTTP status as a label: the decimal code for 100-599, "other" for anything a server cannot send. */
export function httpCodeLabel(code: unknown): string {
  return typeof code === 'number' && Number.isInteger(code) && code >= 100 && code <= 599
    ? String(code)
    : OTHER;
}

/** A Kubernetes API outcome: the HTTP status, or "error" when no response arrived (transport failure, timeout). */
export function apiCodeLabel(code: number | 'error'): string {
  return code === 'error' ? 'error' : httpCodeLabel(code);
}

/** A label drawn from a fixed set of names: anything outside it is "other". */
export function oneOf(allowed: ReadonlySet<string>, raw: unknown): string {
  return typeof raw === 'string' && allowed.has(raw) ? raw : OTHER;
}
