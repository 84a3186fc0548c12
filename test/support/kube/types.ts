// Shapes shared by the emulator's modules. Objects are plain JSON: the emulator never needs typed Kubernetes
// models, only the few metadata fields every object has.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  [key: string]: unknown;
}

/** Any Kubernetes object as it travels over the wire. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** Authorization verbs, the same words RBAC rules use. */
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** Selects requests for a fault or a statistic: every given field must match. */
export interface RequestMatch {
  verb?: string | string[];
  /** Resource as counted in stats: `pods`, `pods/status`, `network-attachment-definitions.k8s.cni.cncf.io`. */
  resource?: string | string[];
}

/** What the router knows about a request once its path is parsed. */
export interface RequestInfo {
  verb: string;
  /** `pods`, `pods/status`, `events.events.k8s.io`, or `nonresource` for discovery/health paths. */
  resource: string;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function matchesRequest(match: RequestMatch | undefined, info: RequestInfo): boolean {
  if (!match) return true;
  const has = (want: string | string[] | undefined, got: string) =>
    want === undefined || (Array.isArray(want) ? want.includes(got) : want === got);
  return has(match.verb, info.verb) && has(match.resource, info.resource);
}

/** RFC 3339 with second precision, as metav1.Time serialises. */
export function kubeTime(d: Date = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** RFC 3339 with microseconds, as metav1.MicroTime (events.k8s.io eventTime) serialises. */
export function kubeMicroTime(d: Date = new Date()): string {
  return d.toISOString().replace(/Z$/, '000Z');
}

/** JSON with object keys sorted at every level, for comparing objects regardless of key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isObject(v)) {
    const keys = Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
