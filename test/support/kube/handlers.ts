// One function per REST verb on a resource. Each takes the parsed request and answers it; errors are thrown
// as KubeError and written by the router.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { goDecodeKindError, goJsonSyntaxError } from './go-json.ts';
import { mediaType, parseBool, parseIntParam, parseObjectBody, readBody, sendJson } from './http-io.ts';
import { listObjects, parseRV, parseSelection, waitForListResourceVersion } from './list.ts';
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from './patch.ts';
import { bindPod } from './pod-rules.ts';
import { apiVersionOf, bindings, pods, type ResourceDef } from './resources.ts';
import { errors, KubeError, successStatus } from './status.ts';
import { groupResource, type Store } from './store.ts';
import { isObject, type KubeObject } from './types.ts';
import type { WatchHub } from './watch-hub.ts';

export interface ResourceRequest {
  req: IncomingMessage;
  res: ServerResponse;
  def: ResourceDef;
  namespace: string;
  name: string;
  subresource: string;
  verb: string;
  query: URLSearchParams;
  /** The authenticated requester. */
  user?: { name: string; groups: string[] };
}

export interface HandlerContext {
  store: Store;
  hub: WatchHub;
  maxBodyBytes: number;
}

function manager(r: ResourceRequest): string {
  const fm = r.query.get('fieldManager');
  if (fm) return fm;
  const ua = r.req.headers['user-agent'] ?? '';
  return ua.split('/')[0] || 'unknown';
}

const dryRun = (q: URLSearchParams) => q.getAll('dryRun').includes('All');

/** Checks what the client sent against the URL it sent it to, as the server's decoders do. */
function checkBody(r: ResourceRequest, body: Record<string, unknown>): KubeObject {
  const { def } = r;
  const expected = apiVersionOf(def);
  if (body.apiVersion !== undefined && body.apiVersion !== expected) {
    throw errors.badRequest(
      `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${expected})`,
    );
  }
  if (body.kind !== undefined && body.kind !== def.kind) {
    throw errors.badRequest(
      `${def.kind} in version "${def.version}" cannot be handled as a ${String(body.kind)}: the kind in the data does not match the expected kind`,
    );
  }
  const obj = {
    ...body,
    apiVersion: expected,
    kind: def.kind,
    metadata: { ...(isObject(body.metadata) ? body.metadata : {}) },
  } as KubeObject;
  const ns = obj.metadata.namespace;
  if (def.namespaced && ns !== undefined && ns !== '' && ns !== r.namespace) {
    throw errors.badRequest(
      'the namespace of the provided object does not match the namespace sent on the request',
    );
  }
  return obj;
}

export async function handleGet(ctx: HandlerContext, r: ResourceRequest) {
  const o = ctx.store.get(r.def, r.namespace, r.name);
  if (!o) throw errors.notFound(groupResource(r.def), r.name);
  sendJson(r.res, 200, o);
}

export async function handleList(ctx: HandlerContext, r: ResourceRequest) {
  await waitForListResourceVersion(ctx.store, r.query);
  sendJson(r.res, 200, listObjects(ctx.store, r.def, r.namespace, r.query));
}

export async function handleWatch(ctx: HandlerContext, r: ResourceRequest) {
  const sel = parseSelection(r.def, r.query);
  const rvParam = r.query.get('resourceVersion') ?? '';
  const fromRV = rvParam === '' || rvParam === '0' ? undefined : parseRV(rvParam);
  const timeout = parseIntParam('timeoutSeconds', r.query.get('timeoutSeconds'));
  ctx.hub.open({
    def: r.def,
    namespace: r.namespace,
    fields: sel.fields,
    labels: sel.labels,
    fromRV,
    allowBookmarks: parseBool(r.query.get('allowWatchBookmarks')) ?? false,
    timeoutSeconds: timeout !== undefined && timeout > 0 ? timeout : undefined,
    res: r.res,
  });
}

export async function handleCreate(ctx: HandlerContext, r: ResourceRequest) {
  const raw = await readBody(r.req, ctx.maxBodyBytes);
  const bodyKind = r.subresource === 'binding' || r.def === bindings ? 'Binding' : r.def.kind;
  const body = await parseObjectBody(r.req, raw, bodyKind);
  if (r.subresource === 'binding') return handleBinding(ctx, r, body);
  if (r.def === bindings) {
    const meta = isObject(body.metadata) ? body.metadata : {};
    const podName = typeof meta.name === 'string' ? meta.name : '';
    return handleBinding(ctx, { ...r, def: pods, name: podName, subresource: 'binding' }, body);
  }
  const obj = checkBody(r, body);
  if (r.user) r.def.prepareForCreateBy?.(obj, r.user);
  const created = ctx.store.create(r.def, r.namespace, obj, {
    dryRun: dryRun(r.query),
    manager: manager(r),
    requestBody: body,
  });
  sendJson(r.res, 201, created);
}

async function handleBinding(ctx: HandlerContext, r: ResourceRequest, body: Record<string, unknown>) {
  const target = isObject(body.target) ? body.target : {};
  if (typeof target.name !== 'string' || target.name === '') {
    throw errors.invalid('Binding', '', r.name, [
      { field: 'target.name', reason: 'FieldValueRequired', message: 'Required value' },
    ]);
  }
  const nodeName = target.name;
  ctx.store.update(
    r.def,
    r.namespace,
    r.name,
    (cur) => {
      const pod = cur as KubeObject;
      const why = bindPod(pod, nodeName);
      if (why) throw errors.conflict({ group: '', resource: 'pods/binding' }, r.name, why);
      return pod;
    },
    { subresource: 'binding', manager: manager(r), requestBody: {} },
  );
  sendJson(r.res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
}

export async function handleUpdate(ctx: HandlerContext, r: ResourceRequest) {
  const raw = await readBody(r.req, ctx.maxBodyBytes);
  const body = await parseObjectBody(r.req, raw, r.def.kind);
  const obj = checkBody(r, body);
  if (obj.metadata.name !== undefined && obj.metadata.name !== r.name) {
    throw errors.badRequest(
      `the name of the object (${obj.metadata.name}) does not match the name on the URL (${r.name})`,
    );
  }
  obj.metadata.name = r.name;
  const result = ctx.store.update(r.def, r.namespace, r.name, () => obj, {
    createIfMissing: r.def.createOnUpdate && r.subresource === '',
    subresource: r.subresource,
    dryRun: dryRun(r.query),
    manager: manager(r),
    requestBody: body,
  });
  sendJson(r.res, result.created ? 201 : 200, result.object);
}

const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
];

const APPLY_PATCH = 'application/apply-patch+yaml';

/** The patch document, or the error 1.20 answers for one it cannot decode (each patch type has its own). */
function decodePatch(type: string, raw: Buffer): unknown {
  const text = raw.toString('utf8');
  const syntax = goJsonSyntaxError(text);
  if (type === 'application/merge-patch+json') {
    if (syntax) throw errors.invalidJsonPatch();
    const patch: unknown = JSON.parse(text);
    // The merged result is decoded as an object, which a non-object patch never is.
    if (!isObject(patch)) throw errors.patchNotAnObject(text, goDecodeKindError(text) ?? 'not an object');
    return patch;
  }
  if (syntax) throw errors.badRequest(syntax);
  const patch: unknown = JSON.parse(text);
  if (type === 'application/strategic-merge-patch+json' && !isObject(patch)) {
    const t = Array.isArray(patch)
      ? 'array'
      : patch === null
        ? 'null'
        : typeof patch === 'boolean'
          ? 'bool'
          : typeof patch;
    throw errors.badRequest(`json: cannot unmarshal ${t} into Go value of type map[string]interface {}`);
  }
  return patch;
}

export async function handlePatch(ctx: HandlerContext, r: ResourceRequest) {
  const type = mediaType(r.req);
  const accepted = r.def.builtin
    ? [...PATCH_TYPES, APPLY_PATCH]
    : [PATCH_TYPES[0] as string, PATCH_TYPES[1] as string, APPLY_PATCH];
  // 1.20: a built-in answers a Content-Type that is no patch type with a bare 415, a custom resource with the
  // list. Server-side apply is not emulated: it gets the list too (README).
  if (!accepted.includes(type))
    throw r.def.builtin ? errors.unsupportedPatchType() : errors.unsupportedMediaType(accepted);
  if (type === APPLY_PATCH) throw errors.unsupportedMediaType(accepted);
  const raw = await readBody(r.req, ctx.maxBodyBytes);
  const patch = decodePatch(type, raw);
  const apply = (cur: KubeObject | undefined): KubeObject => {
    let out: unknown;
    try {
      if (type === 'application/json-patch+json') out = jsonPatch(cur, patch);
      else if (type === 'application/merge-patch+json') out = mergePatch(cur, patch);
      else out = strategicMergePatch(cur, patch, r.def.mergeKeys);
    } catch (err) {
      if (!(err instanceof PatchError)) throw err;
      if (type === 'application/json-patch+json')
        throw err.kind === 'malformed' ? errors.badRequest(err.message) : errors.patchRejected();
      throw errors.unknownBare(err.message);
    }
    if (!isObject(out) || !isObject(out.metadata))
      throw errors.unprocessable('the patched object is not a Kubernetes object');
    return out as KubeObject;
  };
  const result = ctx.store.update(r.def, r.namespace, r.name, apply, {
    subresource: r.subresource,
    dryRun: dryRun(r.query),
    manager: manager(r),
    requestBody: type === 'application/json-patch+json' ? {} : patch,
  });
  sendJson(r.res, 200, result.object);
}

async function deleteOptions(ctx: HandlerContext, r: ResourceRequest) {
  const raw = await readBody(r.req, ctx.maxBodyBytes);
  let body: Record<string, unknown> = {};
  if (raw.length > 0) {
    try {
      const parsed: unknown = JSON.parse(raw.toString('utf8'));
      if (!isObject(parsed)) throw new Error('not an object');
      body = parsed;
    } catch (err) {
      throw errors.badRequest(`couldn't get version/kind; json parse error: ${(err as Error).message}`);
    }
  }
  const grace =
    parseIntParam('gracePeriodSeconds', r.query.get('gracePeriodSeconds')) ??
    (typeof body.gracePeriodSeconds === 'number' ? body.gracePeriodSeconds : undefined);
  const pre = isObject(body.preconditions) ? body.preconditions : {};
  return {
    dryRun: dryRun(r.query) || (Array.isArray(body.dryRun) && body.dryRun.includes('All')),
    ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}),
    preconditions: {
      ...(typeof pre.uid === 'string' ? { uid: pre.uid } : {}),
      ...(typeof pre.resourceVersion === 'string' ? { resourceVersion: pre.resourceVersion } : {}),
    },
  };
}

export async function handleDelete(ctx: HandlerContext, r: ResourceRequest) {
  const opts = await deleteOptions(ctx, r);
  const { object, deleted } = ctx.store.delete(r.def, r.namespace, r.name, opts);
  // An object that stays (finalizers, a grace period) is answered as it now is, whatever the resource.
  if (r.def.returnDeletedObject || !deleted) return sendJson(r.res, 200, object);
  sendJson(r.res, 200, successStatus(groupResource(r.def), r.name, object.metadata.uid ?? ''));
}

export async function handleDeleteCollection(ctx: HandlerContext, r: ResourceRequest) {
  const opts = await deleteOptions(ctx, r);
  const list = listObjects(ctx.store, r.def, r.namespace, r.query);
  const items: KubeObject[] = [];
  for (const item of list.items as KubeObject[]) {
    try {
      const ns = item.metadata.namespace ?? '';
      items.push(ctx.store.delete(r.def, ns, item.metadata.name ?? '', opts).object);
    } catch (err) {
      if (!(err instanceof KubeError && err.code === 404)) throw err;
    }
  }
  sendJson(r.res, 200, { ...list, items });
}
