// What Kubernetes runtimes send besides the config: CNI_ARGS (`IgnoreUnknown=1;K8S_POD_NAMESPACE=..;...`, see
// CNI CONVENTIONS.md) and the top-level `runtimeConfig`. Go runtimes build both from structs and Go's JSON
// decoder matches keys case-insensitively, so known runtimeConfig keys are matched the same loose way here.
import { CniError } from '@multus-ts/cni';
import { NETSPEC_ERRORS } from './catalogue.ts';
import { parseIp } from './ip.ts';
import { dns1123LabelProblem, dns1123SubdomainProblem } from './names.ts';

export interface K8sArgs {
  ignoreUnknown: boolean;
  podNamespace?: string;
  podName?: string;
  podInfraContainerId?: string;
  podUid?: string;
  ip?: string;
  /** Every pair as sent, in order (known keys included). */
  pairs: [string, string][];
}

/** Keys are identifiers; anything else (spaces, `=`, quotes) is refused as a likely injection. */
const KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_CNI_ARGS = 64 * 1024;

function invalid(reason: string): CniError {
  return CniError.of(NETSPEC_ERRORS, 'ERR_K8S_ARGS_INVALID', { reason });
}

/**
 * Splits CNI_ARGS into [key, value] pairs. Tolerant where runtimes differ (empty segments from a trailing `;`,
 * blanks around pairs, `=` inside a value), strict where it matters: a key must be an identifier and a value
 * holds no control characters. Throws code 4.
 */
export function parseCniArgs(raw: string | undefined): [string, string][] {
  if (raw === undefined || raw.trim() === '') return [];
  if (raw.length > MAX_CNI_ARGS) throw invalid(`longer than ${MAX_CNI_ARGS} characters`);
  const out: [string, string][] = [];
  for (const segment of raw.split(';')) {
    const pair = segment.trim();
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq === -1) throw invalid(`invalid pair "${pair}"`);
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (!KEY_RE.test(key)) throw invalid(`invalid key "${key}"`);
    if (/[\0-\x1f\x7f]/.test(value)) throw invalid(`control character in the value of ${key}`);
    out.push([key, value]);
  }
  return out;
}

function truthy(v: string): boolean {
  return v === '1' || v.toLowerCase() === 'true';
}

/** Parses CNI_ARGS into the Kubernetes keys, validating the pod identity so it is safe to use in names. */
export function parseK8sArgs(raw: string | undefined): K8sArgs {
  const pairs = parseCniArgs(raw);
  const args: K8sArgs = { ignoreUnknown: false, pairs };
  for (const [key, value] of pairs) {
    switch (key) {
      case 'IgnoreUnknown':
        args.ignoreUnknown = truthy(value);
        break;
      case 'K8S_POD_NAMESPACE': {
        const p = value === '' ? undefined : dns1123LabelProblem(value);
        if (p) throw invalid(`K8S_POD_NAMESPACE "${value}" ${p}`);
        if (value !== '') args.podNamespace = value;
        break;
      }
      case 'K8S_POD_NAME': {
        const p = value === '' ? undefined : dns1123SubdomainProblem(value);
        if (p) throw invalid(`K8S_POD_NAME "${value}" ${p}`);
        if (value !== '') args.podName = value;
        break;
      }
      case 'K8S_POD_INFRA_CONTAINER_ID':
        if (value !== '') args.podInfraContainerId = value;
        break;
      case 'K8S_POD_UID':
        if (value.length > 128) throw invalid('K8S_POD_UID is too long');
        if (value !== '') args.podUid = value;
        break;
      case 'IP':
        if (value !== '' && !parseIp(value)) throw invalid(`IP "${value}" is not an IP address`);
        if (value !== '') args.ip = value;
        break;
    }
  }
  return args;
}

/** The pod's namespace and name, or code 4 naming the missing key. */
export function requirePodIdentity(args: K8sArgs): { namespace: string; name: string } {
  if (args.podNamespace === undefined)
    throw CniError.of(NETSPEC_ERRORS, 'ERR_K8S_ARGS_MISSING', { key: 'K8S_POD_NAMESPACE' });
  if (args.podName === undefined)
    throw CniError.of(NETSPEC_ERRORS, 'ERR_K8S_ARGS_MISSING', { key: 'K8S_POD_NAME' });
  return { namespace: args.podNamespace, name: args.podName };
}

/** The runtimeConfig keys of CNI CONVENTIONS.md plus the NPWG device-info one, in their canonical spelling. */
export const KNOWN_RUNTIME_CONFIG_KEYS = [
  'portMappings',
  'ipRanges',
  'bandwidth',
  'dns',
  'ips',
  'mac',
  'infinibandGUID',
  'deviceID',
  'aliases',
  'cgroupPath',
  'CNIDeviceInfoFile',
] as const;

const PORT_MAPPING_KEYS = ['hostPort', 'containerPort', 'protocol', 'hostIP'] as const;
const BANDWIDTH_KEYS = ['ingressRate', 'ingressBurst', 'egressRate', 'egressBurst'] as const;
const DNS_KEYS = ['servers', 'searches', 'options', 'domain'] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Renames keys matching `known` case-insensitively to their canonical spelling; the last spelling wins. */
function canonicalise(obj: Record<string, unknown>, known: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    const canonical =
      known.find((k) => k === key) ?? known.find((k) => k.toLowerCase() === key.toLowerCase());
    out[canonical ?? key] = value;
  }
  return out;
}

/**
 * A runtime's `runtimeConfig` with known keys (and the keys inside portMappings, bandwidth and dns) spelled
 * canonically. Unknown keys are kept as they came; a non-object yields {}.
 */
export function normalizeRuntimeConfig(value: unknown): Record<string, unknown> {
  if (!isObject(value)) return {};
  const out = canonicalise(value, KNOWN_RUNTIME_CONFIG_KEYS);
  const pms = out['portMappings'];
  if (Array.isArray(pms)) {
    out['portMappings'] = pms.map((pm) => (isObject(pm) ? canonicalise(pm, PORT_MAPPING_KEYS) : pm));
  }
  if (isObject(out['bandwidth'])) out['bandwidth'] = canonicalise(out['bandwidth'], BANDWIDTH_KEYS);
  if (isObject(out['dns'])) out['dns'] = canonicalise(out['dns'], DNS_KEYS);
  return out;
}
