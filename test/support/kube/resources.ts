// The resources the emulator serves and how each behaves: scope, subresources, the fields a selector may use,
// strategic-merge keys, and the strategy hooks the real registry applies (defaulting, validation, update
// rules). A custom resource (NADs) differs from the built-ins in ways clients notice: its list items carry
// kind/apiVersion, it refuses strategic merge patch (415), and its DELETE answers a Status, not the object.
import { certificateSigningRequests, type RequestingUser } from './csr-resource.ts';
import { coreToEventsV1, eventsV1ToCore, prepareCoreEvent, validateEvent } from './event-convert.ts';
import { podGracePeriod, preparePodForCreate, preparePodForUpdate, validatePod } from './pod-rules.ts';
import type { FieldGetters } from './selectors.ts';
import type { FieldError } from './status.ts';
import { isObject, type KubeObject } from './types.ts';

export interface ResourceDef {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  verbs: string[];
  /** Storage shared with other definitions (events.k8s.io Events are core Events). */
  storage: string;
  subresources: string[];
  /** Built-in (typed) resource: list items omit kind/apiVersion; strategic merge patch is accepted. */
  builtin: boolean;
  fields: FieldGetters;
  /** Strategic merge keys of object lists, by path (`spec.containers[].env`). */
  mergeKeys: Record<string, string>;
  createOnUpdate: boolean;
  unconditionalUpdate: boolean;
  returnDeletedObject: boolean;
  trackGeneration: boolean;
  prepareForCreate?: (o: KubeObject) => void;
  /** Records who created it (a CSR's spec.username/groups); runs before prepareForCreate. */
  prepareForCreateBy?: (o: KubeObject, user: RequestingUser) => void;
  validate?: (o: KubeObject) => FieldError[];
  /** Carries over what an update may not change; returns validation errors. */
  prepareForUpdate?: (o: KubeObject, old: KubeObject, subresource: string) => FieldError[];
  gracePeriod?: (o: KubeObject, requested: number | undefined) => number;
  /** Storage shape -> this API's shape, and back (identity when absent). */
  toExternal?: (o: KubeObject) => KubeObject;
  toStorage?: (o: KubeObject) => KubeObject;
  /** The near-empty object a BOOKMARK event carries, without resourceVersion. */
  bookmarkBody: Record<string, unknown>;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const apiVersionOf = (d: ResourceDef): string => (d.group ? `${d.group}/${d.version}` : d.version);

function path(o: KubeObject, dotted: string): string {
  let cur: unknown = o;
  for (const part of dotted.split('.')) cur = isObject(cur) ? cur[part] : undefined;
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'string' ? cur : String(cur);
}

function getters(names: string[], extra: FieldGetters = {}): FieldGetters {
  const out: FieldGetters = {};
  for (const n of names) out[n] = (o) => path(o, n);
  return { ...out, ...extra };
}

const META_MERGE_KEYS = { 'metadata.ownerReferences': 'uid' };

function def(d: Partial<ResourceDef> & Pick<ResourceDef, 'plural' | 'kind' | 'namespaced'>): ResourceDef {
  const group = d.group ?? '';
  return {
    group,
    version: d.version ?? 'v1',
    singular: d.singular ?? '',
    shortNames: [],
    verbs: ALL_VERBS,
    storage: `${group}/${d.plural}`,
    subresources: [],
    builtin: true,
    fields: getters(d.namespaced ? ['metadata.name', 'metadata.namespace'] : ['metadata.name']),
    mergeKeys: META_MERGE_KEYS,
    createOnUpdate: false,
    unconditionalUpdate: true,
    returnDeletedObject: false,
    trackGeneration: false,
    bookmarkBody: { metadata: { creationTimestamp: null } },
    ...d,
  };
}

/** status.podIP selects on the first of status.podIPs, as the pod registry computes it. */
const podIP = (o: KubeObject): string => {
  const ips = isObject(o.status) && Array.isArray(o.status.podIPs) ? o.status.podIPs : [];
  const first = ips[0];
  return isObject(first) && typeof first.ip === 'string' ? first.ip : '';
};

export const pods = def({
  plural: 'pods',
  kind: 'Pod',
  namespaced: true,
  shortNames: ['po'],
  subresources: ['status', 'binding'],
  fields: getters(
    [
      'metadata.name',
      'metadata.namespace',
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'status.phase',
      'status.nominatedNodeName',
    ],
    { 'status.podIP': podIP },
  ),
  mergeKeys: {
    ...META_MERGE_KEYS,
    'spec.containers': 'name',
    'spec.initContainers': 'name',
    'spec.ephemeralContainers': 'name',
    'spec.containers[].env': 'name',
    'spec.containers[].ports': 'containerPort',
    'spec.containers[].volumeMounts': 'mountPath',
    'spec.initContainers[].env': 'name',
    'spec.initContainers[].volumeMounts': 'mountPath',
    'spec.volumes': 'name',
    'spec.imagePullSecrets': 'name',
    'status.conditions': 'type',
    'status.podIPs': 'ip',
  },
  returnDeletedObject: true,
  prepareForCreate: preparePodForCreate,
  validate: validatePod,
  prepareForUpdate: preparePodForUpdate,
  gracePeriod: podGracePeriod,
  bookmarkBody: { metadata: { creationTimestamp: null }, spec: { containers: null }, status: {} },
});

export const nodes = def({
  plural: 'nodes',
  kind: 'Node',
  namespaced: false,
  shortNames: ['no'],
  subresources: ['status'],
  fields: getters(['metadata.name', 'spec.unschedulable']),
  mergeKeys: { ...META_MERGE_KEYS, 'status.conditions': 'type', 'status.addresses': 'type' },
  prepareForUpdate: (o, old, sub) => {
    if (sub === 'status') o.spec = old.spec;
    else o.status = old.status;
    return [];
  },
  bookmarkBody: {
    metadata: { creationTimestamp: null },
    spec: {},
    status: { daemonEndpoints: {}, nodeInfo: {} },
  },
});

export const namespaces = def({
  plural: 'namespaces',
  kind: 'Namespace',
  namespaced: false,
  shortNames: ['ns'],
  subresources: ['status'],
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  fields: getters(['metadata.name', 'status.phase']),
  returnDeletedObject: true,
  // No kubernetes.io/metadata.name label: kube-apiserver adds it from 1.21 on, and this is 1.20.
  prepareForCreate: (o) => {
    o.spec = { finalizers: ['kubernetes'] };
    o.status = { phase: 'Active' };
  },
  prepareForUpdate: (o, old, sub) => {
    if (sub !== 'status') o.status = old.status;
    o.spec = old.spec;
    return [];
  },
  bookmarkBody: { metadata: { creationTimestamp: null }, spec: {}, status: {} },
});

const CORE_EVENT_FIELDS = [
  'metadata.name',
  'metadata.namespace',
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
];

export const coreEvents = def({
  plural: 'events',
  kind: 'Event',
  namespaced: true,
  shortNames: ['ev'],
  fields: getters(CORE_EVENT_FIELDS, { source: (o) => path(o, 'source.component') }),
  createOnUpdate: true,
  prepareForCreate: prepareCoreEvent,
  validate: (o) => validateEvent(o, false),
  bookmarkBody: {
    metadata: { creationTimestamp: null },
    involvedObject: {},
    source: {},
    firstTimestamp: null,
    lastTimestamp: null,
    eventTime: null,
    reportingComponent: '',
    reportingInstance: '',
  },
});

/** events.k8s.io/v1 field names mapped onto the stored (core) fields. */
const V1_EVENT_FIELDS: FieldGetters = {
  'metadata.name': (o) => path(o, 'metadata.name'),
  'metadata.namespace': (o) => path(o, 'metadata.namespace'),
  reason: (o) => path(o, 'reason'),
  reportingController: (o) => path(o, 'reportingComponent'),
  type: (o) => path(o, 'type'),
};
for (const f of ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath']) {
  V1_EVENT_FIELDS[`regarding.${f}`] = (o) => path(o, `involvedObject.${f}`);
}

export const eventsV1 = def({
  group: 'events.k8s.io',
  plural: 'events',
  kind: 'Event',
  namespaced: true,
  shortNames: ['ev'],
  storage: '/events',
  fields: V1_EVENT_FIELDS,
  createOnUpdate: true,
  prepareForCreate: prepareCoreEvent,
  validate: (o) => validateEvent(o, true),
  toExternal: coreToEventsV1,
  toStorage: eventsV1ToCore,
  bookmarkBody: { metadata: { creationTimestamp: null }, eventTime: null },
});

/** The NAD CRD's structural schema: only `spec.config` (a string) survives pruning. */
function pruneNad(o: KubeObject): FieldError[] {
  for (const k of Object.keys(o)) if (!['apiVersion', 'kind', 'metadata', 'spec'].includes(k)) delete o[k];
  if (o.spec === undefined) return [];
  if (!isObject(o.spec)) {
    return [
      {
        field: 'spec',
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${typeof o.spec}": spec in body must be of type object: "${typeof o.spec}"`,
      },
    ];
  }
  for (const k of Object.keys(o.spec)) if (k !== 'config') delete o.spec[k];
  const config = o.spec.config;
  if (config !== undefined && typeof config !== 'string') {
    const t = Number.isInteger(config) ? 'integer' : Array.isArray(config) ? 'array' : typeof config;
    return [
      {
        field: 'spec.config',
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${t}": spec.config in body must be of type string: "${t}"`,
      },
    ];
  }
  return [];
}

export const nads = def({
  group: 'k8s.cni.cncf.io',
  plural: 'network-attachment-definitions',
  singular: 'network-attachment-definition',
  kind: 'NetworkAttachmentDefinition',
  namespaced: true,
  shortNames: ['nad', 'net-attach-def'],
  builtin: false,
  unconditionalUpdate: false,
  trackGeneration: true,
  validate: pruneNad,
  bookmarkBody: { metadata: {} },
});

/** POST-only: `/api/v1/namespaces/<ns>/bindings` binds the pod the Binding names (what the scheduler calls). */
export const bindings = def({
  plural: 'bindings',
  kind: 'Binding',
  namespaced: true,
  verbs: ['create'],
  storage: '/bindings',
});

export const RESOURCES: ResourceDef[] = [
  pods,
  nodes,
  namespaces,
  coreEvents,
  eventsV1,
  nads,
  bindings,
  certificateSigningRequests,
];

export function findResource(group: string, version: string, plural: string): ResourceDef | undefined {
  return RESOURCES.find((d) => d.group === group && d.version === version && d.plural === plural);
}

/** The definition whose apiVersion and kind an object names (for seeding). */
export function resourceForObject(o: KubeObject): ResourceDef | undefined {
  return RESOURCES.find((d) => apiVersionOf(d) === o.apiVersion && d.kind === o.kind);
}

/** The name stats, faults and RBAC-style messages use: `pods/status`, `events.events.k8s.io`. */
export function resourceLabel(d: ResourceDef, subresource = ''): string {
  const base = d.group ? `${d.plural}.${d.group}` : d.plural;
  return subresource ? `${base}/${subresource}` : base;
}
