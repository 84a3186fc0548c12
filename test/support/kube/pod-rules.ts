// What kube-apiserver's pod strategy does to a pod on the way in: defaulting, the status reset on create, the
// spec lock on update, graceful deletion, binding. Tests written against the emulator must also pass against a
// real server (issue 12), so a pod here behaves the way a real one would even where that is inconvenient
// (status given on create is dropped; spec.nodeName cannot be changed by update; a bound pod is deleted
// gracefully unless gracePeriodSeconds is 0).
import { type FieldError, fieldErrors } from './status.ts';
import { canonicalJson, isObject, type KubeObject, kubeTime } from './types.ts';

type Obj = Record<string, unknown>;

const DEFAULT_TOLERATIONS = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
];

function containersOf(spec: Obj, key: string): Obj[] {
  const list = spec[key];
  return Array.isArray(list) ? list.filter(isObject) : [];
}

function defaultContainer(c: Obj): void {
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  if (c.imagePullPolicy === undefined && typeof c.image === 'string') {
    const tagged = /:[^/]+$/.test(c.image) && !c.image.endsWith(':latest');
    c.imagePullPolicy = tagged || c.image.includes('@') ? 'IfNotPresent' : 'Always';
  }
  c.resources ??= {};
  if (Array.isArray(c.ports)) for (const p of c.ports) if (isObject(p)) p.protocol ??= 'TCP';
}

function qosClass(spec: Obj): string {
  const all = [...containersOf(spec, 'containers'), ...containersOf(spec, 'initContainers')];
  const res = all.map((c) => (isObject(c.resources) ? c.resources : {}));
  const any = res.some((r) => Object.keys(r.requests ?? {}).length + Object.keys(r.limits ?? {}).length > 0);
  if (!any) return 'BestEffort';
  const guaranteed = res.every((r) => {
    const limits = (r.limits ?? {}) as Obj;
    const requests = (r.requests ?? {}) as Obj;
    return ['cpu', 'memory'].every(
      (k) => limits[k] !== undefined && (requests[k] === undefined || requests[k] === limits[k]),
    );
  });
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

export function preparePodForCreate(pod: KubeObject): void {
  const spec: Obj = isObject(pod.spec) ? pod.spec : {};
  pod.spec = spec;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  spec.enableServiceLinks ??= true;
  spec.priority ??= 0;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  for (const key of ['containers', 'initContainers'])
    for (const c of containersOf(spec, key)) defaultContainer(c);
  // DefaultTolerationSeconds admission (on by default) adds these unless the pod already tolerates them.
  const tolerations = Array.isArray(spec.tolerations) ? spec.tolerations.filter(isObject) : [];
  for (const t of DEFAULT_TOLERATIONS) {
    if (!tolerations.some((x) => x.key === t.key && x.effect === t.effect)) tolerations.push({ ...t });
  }
  spec.tolerations = tolerations;
  pod.status = { phase: 'Pending', qosClass: qosClass(spec) };
}

export function validatePod(pod: KubeObject): FieldError[] {
  const out: FieldError[] = [];
  const spec = isObject(pod.spec) ? pod.spec : {};
  const containers = containersOf(spec, 'containers');
  if (containers.length === 0) out.push(fieldErrors.required('spec.containers'));
  containers.forEach((c, i) => {
    if (typeof c.name !== 'string' || c.name === '')
      out.push(fieldErrors.required(`spec.containers[${i}].name`));
    if (typeof c.image !== 'string' || c.image === '')
      out.push(fieldErrors.required(`spec.containers[${i}].image`));
  });
  if (spec.nodeName !== undefined && typeof spec.nodeName !== 'string')
    out.push(fieldErrors.invalid('spec.nodeName', spec.nodeName, 'must be a string'));
  return out;
}

/** Spec with the fields an update may change blanked out, for comparing old and new. */
function lockedSpec(spec: unknown): string {
  const s = structuredClone(isObject(spec) ? spec : {});
  for (const key of ['containers', 'initContainers']) for (const c of containersOf(s, key)) delete c.image;
  delete s.activeDeadlineSeconds;
  delete s.tolerations;
  return canonicalJson(s);
}

// 1.20's wording. The real message goes on with a go-cmp diff of the old and new PodSpec, which is not emulated.
const SPEC_LOCK_MSG =
  'pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, ' +
  '`spec.activeDeadlineSeconds` or `spec.tolerations` (only additions to existing tolerations)';

/** Main-resource update: status is owned by the status subresource; the spec is mostly immutable. */
export function preparePodForUpdate(pod: KubeObject, old: KubeObject, subresource: string): FieldError[] {
  if (subresource === 'binding') return [];
  if (subresource === 'status') {
    pod.spec = old.spec;
    pod.metadata.ownerReferences = old.metadata.ownerReferences;
    if (pod.metadata.ownerReferences === undefined) delete pod.metadata.ownerReferences;
    return [];
  }
  pod.status = old.status;
  if (lockedSpec(pod.spec) !== lockedSpec(old.spec)) return [fieldErrors.forbidden('spec', SPEC_LOCK_MSG)];
  return [];
}

/** Seconds of grace a delete gets: bound, running pods wait for a kubelet unless told 0. */
export function podGracePeriod(pod: KubeObject, requested: number | undefined): number {
  const spec = isObject(pod.spec) ? pod.spec : {};
  const phase = isObject(pod.status) ? pod.status.phase : undefined;
  if (!spec.nodeName || phase === 'Succeeded' || phase === 'Failed') return 0;
  if (requested !== undefined) return requested;
  return typeof spec.terminationGracePeriodSeconds === 'number' ? spec.terminationGracePeriodSeconds : 30;
}

/** pods/binding: what the scheduler does. Returns an error text when the pod is already bound. */
export function bindPod(pod: KubeObject, nodeName: string): string | undefined {
  const spec = isObject(pod.spec) ? pod.spec : {};
  if (pod.metadata.deletionTimestamp)
    return `pod ${pod.metadata.name} is being deleted, cannot be assigned to a host`;
  if (typeof spec.nodeName === 'string' && spec.nodeName !== '') {
    return `pod ${pod.metadata.name} is already assigned to node "${spec.nodeName}"`;
  }
  spec.nodeName = nodeName;
  pod.spec = spec;
  const status = isObject(pod.status) ? pod.status : {};
  const conditions = Array.isArray(status.conditions) ? status.conditions.filter(isObject) : [];
  const others = conditions.filter((c) => c.type !== 'PodScheduled');
  others.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: kubeTime() });
  status.conditions = others;
  pod.status = status;
  return undefined;
}
