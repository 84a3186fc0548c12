// Turns an HTTP request into a verb on a resource (the real server's RequestInfo), then runs it through fault
// injection, authentication, authorization and the verb's handler, and counts it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authenticator } from './auth.ts';
import {
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  rootPaths,
  type VersionInfo,
} from './discovery.ts';
import type { Faults } from './faults.ts';
import * as h from './handlers.ts';
import { parseBool, sendError, sendJson, sendText } from './http-io.ts';
import { findResource, type ResourceDef, resourceLabel } from './resources.ts';
import type { Stats } from './stats.ts';
import { errors, KubeError } from './status.ts';
import type { RequestInfo } from './types.ts';
import { WatchHub } from './watch-hub.ts';

export interface RouterContext extends h.HandlerContext {
  faults: Faults;
  stats: Stats;
  auth: Authenticator;
  version: VersionInfo;
  /** host:port clients reach the server at, for /api's serverAddressByClientCIDRs. */
  serverAddress: () => string;
}

type Route =
  | { kind: 'resource'; def: ResourceDef; namespace: string; name: string; subresource: string; verb: string }
  | { kind: 'nonresource'; path: string; body: () => unknown | undefined }
  | { kind: 'error'; error: KubeError; text?: string; index?: boolean };

const PUBLIC_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version']);

/**
 * Non-resource paths every authenticated user may GET (the system:discovery and system:public-info-viewer
 * ClusterRoles); a restricted user asking for any other path is refused (403) before the server looks for it.
 */
function discoveryPath(path: string): boolean {
  return (
    PUBLIC_PATHS.has(path) ||
    ['/api', '/apis', '/openapi', '/version'].some((p) => path === p || path.startsWith(`${p}/`))
  );
}

function decode(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

/** Go's plain-text 404; `index` marks the paths outside /api and /apis (answered with the path index). */
function pageNotFound(index = false): Route {
  return {
    kind: 'error',
    error: errors.noResource(),
    text: '404 page not found\n',
    ...(index ? { index } : {}),
  };
}

function route(ctx: RouterContext, method: string, url: URL): Route {
  const segs = url.pathname.split('/').filter(Boolean).map(decode);
  const path = `/${segs.join('/')}`;
  const nonResource = (body: () => unknown | undefined): Route => ({ kind: 'nonresource', path, body });
  if (PUBLIC_PATHS.has(path)) return nonResource(() => (path === '/version' ? ctx.version : 'ok'));
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api') {
    if (segs.length === 1) return nonResource(() => apiVersions(ctx.serverAddress()));
    group = '';
    version = segs[1] as string;
    rest = segs.slice(2);
    // The legacy /api prefix answers an unknown version with a JSON NotFound; /apis/<group> with plain text.
    if (!apiResourceList(group, version)) return { kind: 'error', error: errors.noResource() };
  } else if (segs[0] === 'apis') {
    if (segs.length === 1) return nonResource(() => apiGroupList());
    if (!apiGroup(segs[1] as string)) return pageNotFound();
    if (segs.length === 2) return nonResource(() => apiGroup(segs[1] as string));
    group = segs[1] as string;
    version = segs[2] as string;
    rest = segs.slice(3);
  } else return pageNotFound(true);
  const notFound: Route = { kind: 'error', error: errors.noResource() };
  if (!apiResourceList(group, version)) return pageNotFound();
  if (rest.length === 0) return nonResource(() => apiResourceList(group, version));
  let forceWatch = false;
  if (rest[0] === 'watch') {
    forceWatch = true;
    rest = rest.slice(1);
  }
  let namespace = '';
  let def: ResourceDef | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && rest[2] !== 'status' && rest[2] !== 'finalize') {
    namespace = rest[1] as string;
    def = findResource(group, version, rest[2] as string);
    if (!def?.namespaced) return notFound;
    rest = rest.slice(2);
  } else {
    def = findResource(group, version, rest[0] as string);
    if (!def) return notFound;
    if (def.namespaced && rest.length > 1) return notFound;
  }
  if (rest.length > 3) return notFound;
  const name = rest[1] ?? '';
  const subresource = rest[2] ?? '';
  if (subresource && !def.subresources.includes(subresource)) return notFound;
  const verb = verbFor(method, url, name, subresource, forceWatch, def.namespaced ? namespace !== '' : true);
  const allowed = subresource ? verb !== undefined : verb !== undefined && def.verbs.includes(verb);
  if (!verb || !allowed) return { kind: 'error', error: errors.methodNotAllowed() };
  return { kind: 'resource', def, namespace, name, subresource, verb };
}

function verbFor(method: string, url: URL, name: string, sub: string, forceWatch: boolean, scoped: boolean) {
  if (sub === 'binding') return method === 'POST' && name ? 'create' : undefined;
  switch (method) {
    case 'GET':
      if (name) return forceWatch ? 'watch' : 'get';
      return forceWatch || parseBool(url.searchParams.get('watch')) ? 'watch' : 'list';
    case 'POST':
      return name ? undefined : 'create';
    case 'PUT':
      return name ? 'update' : undefined;
    case 'PATCH':
      return name ? 'patch' : undefined;
    case 'DELETE':
      if (name) return sub ? undefined : 'delete';
      return scoped ? 'deletecollection' : undefined;
    default:
      return undefined;
  }
}

const HANDLERS: Record<string, (ctx: h.HandlerContext, r: h.ResourceRequest) => Promise<void>> = {
  get: h.handleGet,
  list: h.handleList,
  watch: h.handleWatch,
  create: h.handleCreate,
  update: h.handleUpdate,
  patch: h.handlePatch,
  delete: h.handleDelete,
  deletecollection: h.handleDeleteCollection,
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createRequestHandler(ctx: RouterContext) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    void serve(ctx, req, res);
  };
}

async function serve(ctx: RouterContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  const url = new URL(req.url ?? '/', 'http://emulator');
  let r: Route;
  try {
    r = route(ctx, method, url);
  } catch (err) {
    r = { kind: 'error', error: err instanceof KubeError ? err : errors.badRequest(String(err)) };
  }
  const info: RequestInfo =
    r.kind === 'resource'
      ? { verb: r.verb, resource: resourceLabel(r.def, r.subresource) }
      : { verb: method.toLowerCase(), resource: r.kind === 'nonresource' ? 'nonresource' : 'unknown' };
  try {
    const delay = ctx.faults.latencyFor(info);
    if (delay > 0) await sleep(delay);
    const injected = ctx.faults.takeFailure(info);
    if (injected !== undefined) throw errors.generic(injected, 'injected fault');
    const grant = ctx.auth.authenticate(req);
    const restricted = grant.rules !== undefined;
    if (
      r.kind === 'error' &&
      restricted &&
      r.text &&
      !discoveryPath(url.pathname.replace(/\/+$/, '') || '/')
    ) {
      throw errors.forbiddenPath(grant.user ?? 'test-user', method.toLowerCase(), url.pathname);
    }
    if (r.kind === 'error') {
      // Outside /api and /apis the server's NotFound handler lists the paths it serves.
      if (r.index && method === 'GET') sendJson(res, 404, { paths: rootPaths() });
      else if (r.text) sendText(res, 404, r.text);
      else throw r.error;
    } else if (r.kind === 'nonresource') {
      if (method !== 'GET') throw errors.methodNotAllowed();
      if (grant.user === 'system:anonymous' && !PUBLIC_PATHS.has(r.path)) {
        throw errors.forbiddenPath('system:anonymous', 'get', r.path);
      }
      const body = r.body();
      if (typeof body === 'string') sendText(res, 200, body);
      else sendJson(res, 200, body);
    } else {
      const denial = ctx.auth.authorize(grant, {
        verb: r.verb,
        def: r.def,
        subresource: r.subresource,
        namespace: r.namespace,
        name: r.name,
      });
      if (denial) throw denial;
      if (ctx.faults.takeGone(info)) {
        if (r.verb === 'list') throw errors.expired('The resourceVersion for the provided list is too old.');
        const rv = url.searchParams.get('resourceVersion') || '0';
        const gone = errors.expired(`too old resource version: ${rv} (${ctx.store.resourceVersion})`);
        WatchHub.sendError(res, gone.status);
      } else {
        if (r.verb === 'watch' && ctx.faults.watchStartDelay() > 0) await sleep(ctx.faults.watchStartDelay());
        const handler = HANDLERS[r.verb] as (typeof HANDLERS)['get'];
        const user = { name: grant.user ?? 'admin', groups: grant.groups ?? ['system:authenticated'] };
        await handler(ctx, { req, res, query: url.searchParams, ...r, user });
      }
    }
  } catch (err) {
    const e =
      err instanceof KubeError ? err : errors.internal(err instanceof Error ? err.message : String(err));
    if (res.headersSent) res.destroy();
    else sendError(res, e, e.code === 413 ? { Connection: 'close' } : {});
  }
  ctx.stats.record(info, res.statusCode);
}
