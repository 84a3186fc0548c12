// The control endpoint: the emulator's faults, stats and store over HTTP, for a child-process emulator. It
// listens on its own port so it stays reachable while the API port is "down". KubeEmulatorControl is the
// matching client.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PolicyRule } from './auth.ts';
import type { KubeEmulator } from './emulator.ts';
import type { FaultState } from './faults.ts';
import { readBody } from './http-io.ts';
import { resourceForObject } from './resources.ts';
import type { StatsSnapshot } from './stats.ts';
import { isObject, type KubeObject, type RequestMatch } from './types.ts';

class BadInput extends Error {}

function num(body: Record<string, unknown>, key: string, fallback?: number): number {
  const v = body[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new BadInput(`${key} must be a non-negative number`);
  return v;
}

function match(body: Record<string, unknown>): RequestMatch | undefined {
  const m = body.match;
  if (m === undefined) return undefined;
  const okField = (v: unknown) =>
    v === undefined || typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
  if (!isObject(m) || !okField(m.verb) || !okField(m.resource))
    throw new BadInput('match must be {verb?, resource?} of strings');
  return m as RequestMatch;
}

function defFor(q: URLSearchParams) {
  const d = resourceForObject({
    apiVersion: q.get('apiVersion') ?? '',
    kind: q.get('kind') ?? '',
    metadata: {},
  });
  if (!d) throw new BadInput('apiVersion and kind must name a served resource');
  return d;
}

type Route = (
  emu: KubeEmulator,
  body: Record<string, unknown>,
  q: URLSearchParams,
) => Promise<unknown> | unknown;

const ROUTES: Record<string, Route> = {
  'GET /faults': (e) => e.faults.state(),
  'POST /faults/latency': (e, b) => e.faults.setLatency(num(b, 'ms'), match(b)),
  'POST /faults/fail-next': (e, b) =>
    e.faults.failNext(num(b, 'n'), { code: num(b, 'code', 500), ...opt(match(b)) }),
  'POST /faults/fail-rate': (e, b) =>
    e.faults.failRate(num(b, 'rate'), {
      code: num(b, 'code', 500),
      seed: num(b, 'seed', 1),
      ...opt(match(b)),
    }),
  'POST /faults/gone-next': (e, b) => e.faults.goneNext(num(b, 'n'), match(b)),
  'POST /faults/watch-start-delay': (e, b) => e.faults.setWatchStartDelay(num(b, 'ms')),
  'POST /faults/drop-watches': (e, b) => ({ dropped: e.faults.dropWatches({ abrupt: b.abrupt === true }) }),
  'POST /faults/down': (e) => e.faults.down(),
  'POST /faults/up': (e) => e.faults.up(),
  'POST /faults/clear': (e) => e.faults.clear(),
  'GET /stats': (e) => e.stats.snapshot(),
  'POST /stats/reset': (e) => e.stats.reset(),
  'POST /store/compact': (e) => e.store.compact(),
  'POST /store/seed': (e, b) => {
    if (!Array.isArray(b.objects) || !b.objects.every((o) => isObject(o) && isObject(o.metadata))) {
      throw new BadInput('objects must be a list of Kubernetes objects');
    }
    return { objects: e.store.seed(b.objects as KubeObject[]) };
  },
  'GET /store/get': (e, _b, q) =>
    e.store.get(defFor(q), q.get('namespace') ?? '', q.get('name') ?? '') ?? null,
  'GET /store/list': (e, _b, q) =>
    e.store.list(defFor(q), q.get('namespace') ?? '').entries.map((x) => x.object),
  'POST /watches/bookmark': (e) => e.watches.bookmarkNow(),
  'POST /auth/tokens': (e, b) => {
    if (typeof b.token !== 'string' || b.token === '') throw new BadInput('token must be a non-empty string');
    if (b.rules !== undefined && !Array.isArray(b.rules)) throw new BadInput('rules must be a list');
    e.auth.add({
      token: b.token,
      ...(typeof b.user === 'string' ? { user: b.user } : {}),
      ...(b.rules ? { rules: b.rules as PolicyRule[] } : {}),
    });
  },
  'POST /auth/revoke': (e, b) => ({ removed: typeof b.token === 'string' && e.auth.remove(b.token) }),
};

const opt = <T>(m: T | undefined) => (m ? { match: m } : {});

function reply(res: ServerResponse, code: number, body: unknown) {
  const text = JSON.stringify(body ?? null);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function handle(emu: KubeEmulator, req: IncomingMessage, res: ServerResponse) {
  if (req.headers.authorization !== `Bearer ${emu.token}`) return reply(res, 401, { error: 'Unauthorized' });
  const url = new URL(req.url ?? '/', 'http://control');
  const route = ROUTES[`${req.method} ${url.pathname}`];
  if (!route) return reply(res, 404, { error: `no control route ${req.method} ${url.pathname}` });
  try {
    const raw = await readBody(req, 16 * 1024 * 1024);
    const body: unknown = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : {};
    if (!isObject(body)) throw new BadInput('body must be a JSON object');
    reply(res, 200, (await route(emu, body, url.searchParams)) ?? { ok: true });
  } catch (err) {
    const bad = err instanceof BadInput || err instanceof SyntaxError;
    reply(res, bad ? 400 : 500, { error: (err as Error).message });
  }
}

export async function startControlServer(
  emu: KubeEmulator,
  port = 0,
  host = '127.0.0.1',
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => void handle(emu, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Client for a child-process emulator's control endpoint; mirrors `KubeEmulator.faults`/`stats`/`store`. */
export class KubeEmulatorControl {
  readonly url: string;
  readonly #token: string;
  constructor(url: string, token: string) {
    this.url = url;
    this.#token = token;
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(this.url + path, {
      method,
      headers: { Authorization: `Bearer ${this.#token}`, 'Content-Type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const data = (await res.json()) as T & { error?: string };
    if (!res.ok)
      throw new Error(`kube emulator control ${method} ${path}: ${res.status} ${data.error ?? ''}`);
    return data;
  }

  setLatency = (ms: number, m?: RequestMatch) => this.#call('POST', '/faults/latency', { ms, ...opt(m) });
  failNext = (n: number, o: { code?: number; match?: RequestMatch } = {}) =>
    this.#call('POST', '/faults/fail-next', { n, ...o });
  failRate = (rate: number, o: { code?: number; match?: RequestMatch; seed?: number } = {}) =>
    this.#call('POST', '/faults/fail-rate', { rate, ...o });
  goneNext = (n: number, m?: RequestMatch) => this.#call('POST', '/faults/gone-next', { n, ...opt(m) });
  setWatchStartDelay = (ms: number) => this.#call('POST', '/faults/watch-start-delay', { ms });
  dropWatches = async (o: { abrupt?: boolean } = {}) =>
    (await this.#call<{ dropped: number }>('POST', '/faults/drop-watches', o)).dropped;
  down = () => this.#call('POST', '/faults/down', {});
  up = () => this.#call('POST', '/faults/up', {});
  clearFaults = () => this.#call('POST', '/faults/clear', {});
  faultState = () => this.#call<FaultState>('GET', '/faults');
  stats = () => this.#call<StatsSnapshot>('GET', '/stats');
  resetStats = () => this.#call('POST', '/stats/reset', {});
  compact = () => this.#call('POST', '/store/compact', {});
  seed = async (objects: KubeObject[]) =>
    (await this.#call<{ objects: KubeObject[] }>('POST', '/store/seed', { objects })).objects;
  getObject = (apiVersion: string, kind: string, namespace: string, name: string) =>
    this.#call<KubeObject | null>(
      'GET',
      `/store/get?${new URLSearchParams({ apiVersion, kind, namespace, name })}`,
    );
  listObjects = (apiVersion: string, kind: string, namespace = '') =>
    this.#call<KubeObject[]>('GET', `/store/list?${new URLSearchParams({ apiVersion, kind, namespace })}`);
  bookmarkNow = () => this.#call('POST', '/watches/bookmark', {});
  addToken = (grant: { token: string; user?: string; rules?: PolicyRule[] }) =>
    this.#call('POST', '/auth/tokens', grant);
  revokeToken = (token: string) => this.#call('POST', '/auth/revoke', { token });
}
