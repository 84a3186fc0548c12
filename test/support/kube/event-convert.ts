// Events live once in storage and are served by two APIs: core v1 (`/api/v1/.../events`) and events.k8s.io/v1.
// The real server converts between the two field sets, so an Event created through one API is listed through
// the other with renamed fields. Storage here holds the core v1 shape.
import { type FieldError, fieldErrors } from './status.ts';
import { isObject, type KubeObject } from './types.ts';

/** events.k8s.io/v1 name -> core v1 name. */
const RENAMES: Array<[string, string]> = [
  ['regarding', 'involvedObject'],
  ['note', 'message'],
  ['reportingController', 'reportingComponent'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
];

function rename(obj: KubeObject, pairs: Array<[string, string]>): KubeObject {
  const out: KubeObject = { ...obj, metadata: { ...obj.metadata } };
  for (const [from, to] of pairs) {
    delete out[to];
    if (from in obj) {
      out[to] = obj[from];
      delete out[from];
    }
  }
  return out;
}

/** Fields the Go structs always serialise (non-omitempty), so an empty one still appears. */
function withCoreDefaults(e: KubeObject): KubeObject {
  e.involvedObject ??= {};
  e.source ??= {};
  e.firstTimestamp ??= null;
  e.lastTimestamp ??= null;
  e.eventTime ??= null;
  e.reportingComponent ??= '';
  e.reportingInstance ??= '';
  return e;
}

export function eventsV1ToCore(e: KubeObject): KubeObject {
  const out = rename(e, RENAMES);
  out.apiVersion = 'v1';
  out.kind = 'Event';
  return withCoreDefaults(out);
}

export function coreToEventsV1(e: KubeObject): KubeObject {
  const out = rename(
    e,
    RENAMES.map(([a, b]) => [b, a]),
  );
  out.apiVersion = 'events.k8s.io/v1';
  out.kind = 'Event';
  out.eventTime ??= null;
  out.deprecatedFirstTimestamp ??= null;
  out.deprecatedLastTimestamp ??= null;
  if (isObject(out.deprecatedSource) && Object.keys(out.deprecatedSource).length === 0) {
    delete out.deprecatedSource;
  }
  if (out.reportingController === '') delete out.reportingController;
  if (out.reportingInstance === '') delete out.reportingInstance;
  if (isObject(out.regarding) && Object.keys(out.regarding).length === 0) delete out.regarding;
  return out;
}

export const prepareCoreEvent = (e: KubeObject): void => void withCoreDefaults(e);

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Validation on create; `strict` for events created through events.k8s.io/v1 (checked on the core shape). */
export function validateEvent(e: KubeObject, strict: boolean): FieldError[] {
  const out: FieldError[] = [];
  const ns = e.metadata.namespace ?? '';
  const involved = isObject(e.involvedObject) ? e.involvedObject : {};
  const involvedNs = str(involved.namespace);
  const hasEventTime = e.eventTime !== null && e.eventTime !== undefined && e.eventTime !== '';
  if (!hasEventTime) {
    const ok = involvedNs === '' ? ns === '' || ns === 'default' : ns === involvedNs;
    if (!ok)
      out.push(fieldErrors.invalid('involvedObject.namespace', involvedNs, 'does not match event.namespace'));
  } else {
    if (involvedNs === '' && ns !== 'default' && ns !== 'kube-system') {
      out.push(fieldErrors.invalid('involvedObject.namespace', involvedNs, 'does not match event.namespace'));
    }
  }
  const needsNew = hasEventTime || strict;
  if (needsNew) {
    if (strict && !hasEventTime) out.push(fieldErrors.required('eventTime'));
    if (strict && e.type !== 'Normal' && e.type !== 'Warning') {
      out.push(fieldErrors.invalid('type', '', `has invalid value: ${str(e.type)}`));
    }
    if (!str(e.reportingComponent)) out.push(fieldErrors.required('reportingController'));
    if (!str(e.reportingInstance)) out.push(fieldErrors.required('reportingInstance'));
    if (!str(e.action)) out.push(fieldErrors.required('action'));
    if (!str(e.reason)) out.push(fieldErrors.required('reason'));
    if (strict && str(e.message).length > 1024) out.push(fieldErrors.tooLong('note', 1024));
  }
  return out;
}
