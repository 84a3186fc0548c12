// Server-owned metadata: names (generateName), uid, timestamps, the generic ObjectMeta validation every
// registry runs, and a simplified managedFields record (one entry per manager, as server-side field tracking
// leaves on every object; the field sets are approximate, see README).
import { randomUUID } from 'node:crypto';
import type { ResourceDef } from './resources.ts';
import { type FieldError, fieldErrors } from './status.ts';
import { canonicalJson, isObject, type KubeObject, kubeTime } from './types.ts';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must " +
  "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is " +
  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and " +
  "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is " +
  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

/** Total bytes of keys and values an object's annotations may hold. */
export const ANNOTATIONS_MAX_BYTES = 256 * 1024;

const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function generateName(prefix: string): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += GENERATE_ALPHABET[Math.floor(Math.random() * GENERATE_ALPHABET.length)];
  return prefix + s;
}

export function validateName(d: ResourceDef, name: string): FieldError[] {
  const label = d.plural === 'namespaces';
  const ok = label
    ? DNS_LABEL.test(name) && name.length <= 63
    : DNS_SUBDOMAIN.test(name) && name.length <= 253;
  return ok ? [] : [fieldErrors.invalid('metadata.name', name, label ? LABEL_MSG : SUBDOMAIN_MSG)];
}

/** ValidateObjectMeta's checks that matter for hostile input: name, and label/annotation shapes and sizes. */
export function validateMeta(d: ResourceDef, o: KubeObject): FieldError[] {
  const out: FieldError[] = [];
  const name = o.metadata.name;
  if (!name) out.push(fieldErrors.required('metadata.name', 'name or generateName is required'));
  else out.push(...validateName(d, name));
  for (const key of ['labels', 'annotations'] as const) {
    const m = o.metadata[key];
    if (m === undefined) continue;
    if (!isObject(m) || Object.values(m).some((v) => typeof v !== 'string')) {
      out.push(fieldErrors.invalid(`metadata.${key}`, '', 'must be a map of strings'));
    }
  }
  const annotations = isObject(o.metadata.annotations) ? o.metadata.annotations : {};
  let bytes = 0;
  for (const [k, v] of Object.entries(annotations))
    bytes += Buffer.byteLength(k) + Buffer.byteLength(String(v));
  if (bytes > ANNOTATIONS_MAX_BYTES)
    out.push(fieldErrors.tooLong('metadata.annotations', ANNOTATIONS_MAX_BYTES));
  const labels = isObject(o.metadata.labels) ? o.metadata.labels : {};
  for (const [k, v] of Object.entries(labels)) {
    if (
      typeof v === 'string' &&
      (v.length > 63 || !/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/.test(v))
    ) {
      out.push(
        fieldErrors.invalid(
          `metadata.labels`,
          v,
          `label ${k}: must be 63 characters or less and alphanumeric`,
        ),
      );
    }
  }
  return out;
}

/** Stamps what the server assigns on create. */
export function stampCreate(d: ResourceDef, o: KubeObject): void {
  o.metadata.uid = randomUUID();
  o.metadata.creationTimestamp = kubeTime();
  if (d.trackGeneration) o.metadata.generation = 1;
  else delete o.metadata.generation;
  delete o.metadata.deletionTimestamp;
  delete o.metadata.deletionGracePeriodSeconds;
}

const SERVER_META = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'managedFields',
  'selfLink',
]);

function fieldSet(v: unknown, top: boolean, subresource: string): Record<string, unknown> {
  if (!isObject(v)) return {};
  const out: Record<string, unknown> = {};
  for (const [k, child] of Object.entries(v)) {
    if (top && (k === 'apiVersion' || k === 'kind')) continue;
    if (top && subresource !== 'status' && k === 'status') continue;
    const inner = top && k === 'metadata' ? fieldSetMeta(child) : fieldSet(child, false, subresource);
    if (top && k === 'metadata' && Object.keys(inner).length === 0) continue;
    out[`f:${k}`] = inner;
  }
  return out;
}

function fieldSetMeta(meta: unknown): Record<string, unknown> {
  if (!isObject(meta)) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta)) if (!SERVER_META.has(k)) out[`f:${k}`] = fieldSet(v, false, '');
  return out;
}

/** Records (or refreshes) the manager's entry in metadata.managedFields for a write that changed the object. */
export function recordManager(
  o: KubeObject,
  apiVersion: string,
  manager: string,
  subresource: string,
  requestBody: unknown,
): void {
  const fieldsV1 = fieldSet(requestBody, true, subresource);
  const current = Array.isArray(o.metadata.managedFields) ? (o.metadata.managedFields as unknown[]) : [];
  const entries = current.filter(
    (e) =>
      !(
        isObject(e) &&
        e.manager === manager &&
        e.operation === 'Update' &&
        (e.subresource ?? '') === subresource
      ),
  );
  const entry: Record<string, unknown> = {
    manager,
    operation: 'Update',
    apiVersion,
    time: kubeTime(),
    fieldsType: 'FieldsV1',
    fieldsV1,
  };
  if (subresource) entry.subresource = subresource;
  // A write that set no fields leaves no entry (a NAD created with neither spec nor labels has no managedFields).
  if (Object.keys(fieldsV1).length > 0) entries.push(entry);
  if (entries.length > 0) o.metadata.managedFields = entries;
  else delete o.metadata.managedFields;
}

/** Everything but the fields that change on every write, for no-op detection. */
export function comparable(o: KubeObject): string {
  const { resourceVersion: _rv, managedFields: _mf, ...meta } = o.metadata;
  return canonicalJson({ ...o, metadata: meta });
}

/** The object without metadata (and status), to decide whether a write bumps metadata.generation. */
export function withoutMeta(o: KubeObject, statusToo: boolean): string {
  const { metadata: _m, ...rest } = o;
  if (statusToo) delete rest.status;
  return canonicalJson(rest);
}

/** What an update may not change: the server's own metadata (and identity) carried over from the stored object. */
export function carryServerFields(next: KubeObject, stored: KubeObject): void {
  const meta: Record<string, unknown> = next.metadata;
  const keys = [
    'uid',
    'creationTimestamp',
    'deletionTimestamp',
    'deletionGracePeriodSeconds',
    'generation',
    'managedFields',
  ];
  for (const k of keys) {
    if (stored.metadata[k] === undefined) delete meta[k];
    else meta[k] = structuredClone(stored.metadata[k]);
  }
  next.metadata.name = stored.metadata.name;
  if (stored.metadata.namespace !== undefined) next.metadata.namespace = stored.metadata.namespace;
  delete next.metadata.selfLink;
  next.apiVersion = stored.apiVersion;
  next.kind = stored.kind;
}
