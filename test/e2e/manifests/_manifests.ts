// Shared by the manifest tests: loading the YAML files, rendering kustomizations with the real `kubectl
// kustomize`, schema validation (kubernetes-models) plus a check for unknown fields, and structural diffs.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../support/daemon-harness.ts';

export { REPO_ROOT };
export const PLAIN_MANIFEST = join(REPO_ROOT, 'deployments/multus-daemonset-thick.yml');
export const KUSTOMIZE_BASE = join(REPO_ROOT, 'deployments/kustomize/base');
export const OVERLAYS_DIR = join(REPO_ROOT, 'deployments/kustomize/overlays');
export const EXAMPLES_DIR = join(REPO_ROOT, 'deployments/examples');
export const DAEMON_CONFIG_KEY = 'daemon-config.json';

export type KubeObj = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string } & Record<string, unknown>;
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Every document of a YAML stream, strictly: a syntax error, a duplicate key or a document that is not a
 * Kubernetes object fails. Documents holding only comments are skipped, as kubectl does.
 */
export function parseYamlObjects(text: string, source: string): KubeObj[] {
  const out: KubeObj[] = [];
  for (const [i, doc] of parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true }).entries()) {
    if (doc.errors.length > 0) throw new Error(`${source}: document ${i}: ${doc.errors[0]?.message}`);
    const value: unknown = doc.toJS({ maxAliasCount: 0 });
    if (value === null || value === undefined) continue;
    if (
      !isRecord(value) ||
      typeof value['apiVersion'] !== 'string' ||
      typeof value['kind'] !== 'string' ||
      !isRecord(value['metadata']) ||
      typeof value['metadata']['name'] !== 'string'
    ) {
      throw new Error(
        `${source}: document ${i} is not a Kubernetes object (apiVersion, kind, metadata.name)`,
      );
    }
    out.push(value as KubeObj);
  }
  return out;
}

export function loadYamlObjects(path: string): KubeObj[] {
  return parseYamlObjects(readFileSync(path, 'utf8'), path);
}

export function objectKey(o: KubeObj): string {
  return `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

export function byKey(objs: readonly KubeObj[]): Map<string, KubeObj> {
  const m = new Map<string, KubeObj>();
  for (const o of objs) {
    const k = objectKey(o);
    if (m.has(k)) throw new Error(`duplicate object ${k}`);
    m.set(k, o);
  }
  return m;
}

export function findObject(objs: readonly KubeObj[], kind: string, name: string): KubeObj {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} among ${objs.map(objectKey).join(', ')}`);
  return o;
}

/** The kubectl the tests use; fails loudly when there is none (make deps installs kubernetes-client). */
export function requireKubectl(): string {
  const r = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(
      `kubectl is required for the kustomize tests (apt-get install kubernetes-client, or run make deps): ${
        r.error?.message ?? r.stderr
      }`,
    );
  }
  return r.stdout.trim();
}

/** `kubectl kustomize <dir>`: the rendered objects, or an Error with kubectl's stderr. */
export function kustomize(dir: string): KubeObj[] {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed (${r.status}):\n${r.stderr}`);
  return parseYamlObjects(r.stdout, `kubectl kustomize ${dir}`);
}

// ---------------------------------------------------------------------------------------------------------
// Validation

type Validatable = { validate(): void };
type ModelCtor = new (data: Record<string, unknown>) => Validatable;

/** kubernetes-models module path of a built-in kind (`v1/Pod`, `apps/v1/DaemonSet`, ...). */
function modelModule(apiVersion: string, kind: string): string {
  return `kubernetes-models/${apiVersion.includes('/') ? apiVersion : `v1`}/${kind}`;
}

/**
 * Validates a built-in object against the Kubernetes OpenAPI schema (kubernetes-models' generated validator) and,
 * as `kubectl apply --validate=strict` does, refuses fields the schema does not know. Throws with every problem.
 */
export async function validateBuiltin(obj: KubeObj): Promise<void> {
  const mod = (await import(modelModule(obj.apiVersion, obj.kind))) as Record<string, unknown>;
  const Ctor = mod[obj.kind] as ModelCtor | undefined;
  if (typeof Ctor !== 'function')
    throw new Error(`kubernetes-models has no model for ${obj.apiVersion} ${obj.kind}`);
  new Ctor(structuredClone(obj)).validate();
  const version = obj.apiVersion.split('/').pop() ?? '';
  const rootType = `${version.charAt(0).toUpperCase()}${version.slice(1)}${obj.kind}`;
  const unknown = unknownFields(obj, rootType);
  if (unknown.length > 0) throw new Error(`${objectKey(obj)}: unknown fields: ${unknown.join(', ')}`);
}

interface Attr {
  baseName: string;
  type: string;
}
type ModelClass = { getAttributeTypeMap(): Attr[] };

function modelClass(typeName: string): ModelClass | undefined {
  const c = (k8s as unknown as Record<string, unknown>)[typeName] as Partial<ModelClass> | undefined;
  return typeof c?.getAttributeTypeMap === 'function' ? (c as ModelClass) : undefined;
}

/**
 * Field paths of `value` that the model `typeName` (a @kubernetes/client-node class name such as `V1DaemonSet`)
 * does not declare. client-node's classes are generated from the same OpenAPI spec; kubernetes-models checks
 * types and required fields but, like the OpenAPI schema, lets unknown fields through.
 */
export function unknownFields(value: unknown, typeName: string, path = ''): string[] {
  const list = /^Array<(.+)>$/.exec(typeName);
  if (list) {
    if (!Array.isArray(value)) return [];
    return value.flatMap((v, i) => unknownFields(v, list[1] as string, `${path}[${i}]`));
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(typeName);
  if (map) {
    if (!isRecord(value)) return [];
    return Object.entries(value).flatMap(([k, v]) => unknownFields(v, map[1] as string, `${path}.${k}`));
  }
  const cls = modelClass(typeName);
  if (!cls || !isRecord(value)) return [];
  const attrs = new Map(cls.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const t = attrs.get(k);
    const at = path === '' ? k : `${path}.${k}`;
    if (t === undefined) out.push(at);
    else out.push(...unknownFields(v, t, at));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Diffs

/**
 * Makes lists of uniquely named items (containers, volumes, env, ports) order-independent by turning them into
 * maps keyed `name=<name>`: kustomize versions order strategic-merge results differently.
 */
export function normalizeNamedLists(v: unknown): unknown {
  if (Array.isArray(v)) {
    const items = v.map(normalizeNamedLists);
    const names = items.map((x) => (isRecord(x) && typeof x['name'] === 'string' ? x['name'] : undefined));
    if (items.length > 0 && names.every((n) => n !== undefined) && new Set(names).size === names.length) {
      return Object.fromEntries(items.map((x, i) => [`name=${names[i]}`, x]));
    }
    return items;
  }
  if (isRecord(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalizeNamedLists(x)]));
  return v;
}

/** Paths (dot-separated, `[i]` for list items) where `a` and `b` differ; a missing side counts as a change. */
export function diffPaths(a: unknown, b: unknown, path = ''): string[] {
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: string[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++)
      out.push(...diffPaths(a[i], b[i], `${path}[${i}]`));
    return out;
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => diffPaths(a[k], b[k], path === '' ? k : `${path}.${k}`));
  }
  return Object.is(a, b) ? [] : [path];
}

export function daemonConfigOf(objs: readonly KubeObj[]): { text: string; json: Record<string, unknown> } {
  const cm = findObject(objs, 'ConfigMap', 'multus-daemon-config');
  const data = cm['data'];
  const text = isRecord(data) ? data[DAEMON_CONFIG_KEY] : undefined;
  if (typeof text !== 'string') throw new Error(`ConfigMap multus-daemon-config has no ${DAEMON_CONFIG_KEY}`);
  return { text, json: JSON.parse(text) as Record<string, unknown> };
}

// ---------------------------------------------------------------------------------------------------------
// The DaemonSet's pod template, typed enough for the tests.

export interface Mount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  mountPropagation?: string;
}
export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { privileged?: boolean };
  volumeMounts?: Mount[];
}
export interface Probe {
  httpGet?: { path: string; port: number | string };
  exec?: { command: string[] };
}
export interface Volume {
  name: string;
  hostPath?: { path: string; type?: string };
  configMap?: { name: string; items?: { key: string; path: string }[] };
}
export interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  priorityClassName?: string;
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
  tolerations?: { operator?: string; effect?: string; key?: string }[];
  initContainers?: Container[];
  containers: Container[];
  volumes?: Volume[];
}

export function podSpecOf(objs: readonly KubeObj[]): PodSpec {
  const ds = findObject(objs, 'DaemonSet', 'kube-multus-ds') as unknown as {
    spec: { template: { spec: PodSpec } };
  };
  return ds.spec.template.spec;
}

export function daemonContainer(spec: PodSpec): Container {
  const c = spec.containers.find((x) => x.name === 'kube-multus');
  if (!c) throw new Error('no container kube-multus');
  return c;
}

/** The host path behind a container path of `c` (the longest mount prefix), or undefined when not mounted. */
export function hostPathFor(spec: PodSpec, c: Container, containerPath: string): string | undefined {
  const norm = (p: string) => p.replace(/\/+$/, '') || '/';
  const want = norm(containerPath);
  let best: { mount: Mount; len: number } | undefined;
  for (const m of c.volumeMounts ?? []) {
    const mp = norm(m.mountPath);
    if (want === mp || want.startsWith(mp === '/' ? '/' : `${mp}/`)) {
      if (!best || mp.length > best.len) best = { mount: m, len: mp.length };
    }
  }
  if (!best) return undefined;
  const vol = (spec.volumes ?? []).find((v) => v.name === best.mount.name);
  if (!vol?.hostPath) return undefined;
  const rest = want.slice(best.len).replace(/^\//, '');
  const base = norm(vol.hostPath.path);
  return rest === '' ? base : `${base === '/' ? '' : base}/${rest}`;
}
