// Open watch streams: the initial state or the replay from a resourceVersion, then live changes, each written
// as one JSON line `{"type","object"}` on a chunked 200 response, the way kube-apiserver frames watch events.
// BOOKMARKs go out every bookmarkIntervalMs and once 2 s before the watch's timeout, as 1.20's watch cache does.
// Selector transitions follow the watch cache: an object that starts matching arrives as ADDED, one that stops
// matching as DELETED. BOOKMARKs carry the storage's newest resourceVersion and, as on the real server, are only
// sent once that is newer than where the watch started.
import type { ServerResponse } from 'node:http';
import { apiVersionOf, type ResourceDef } from './resources.ts';
import type { FieldRequirement, LabelRequirement } from './selectors.ts';
import { matchFields, matchLabels } from './selectors.ts';
import type { Status } from './status.ts';
import { KubeError } from './status.ts';
import type { Store, StoreEvent } from './store.ts';
import type { KubeObject } from './types.ts';

export interface WatchRequest {
  def: ResourceDef;
  /** '' for all namespaces. */
  namespace: string;
  fields: FieldRequirement[];
  labels: LabelRequirement[];
  /** undefined when the client sent no resourceVersion or "0": the stream starts with the current state. */
  fromRV: number | undefined;
  allowBookmarks: boolean;
  timeoutSeconds: number | undefined;
  res: ServerResponse;
}

export interface WatchHubOptions {
  /** How often watchers that allow bookmarks get one. Default 60 s, as the real server. */
  bookmarkIntervalMs?: number;
  /** A watch without timeoutSeconds ends after a random time in [t, 2t) seconds. Default 1800 (minRequestTimeout). */
  defaultTimeoutSeconds?: number;
}

interface Watcher {
  req: WatchRequest;
  startRV: number;
  timers: NodeJS.Timeout[];
}

const WATCH_HEADERS = {
  'Content-Type': 'application/json',
  'Cache-Control': 'no-cache, private',
  'Transfer-Encoding': 'chunked',
};

export class WatchHub {
  readonly #store: Store;
  readonly #watchers = new Set<Watcher>();
  readonly #bookmarkIntervalMs: number;
  readonly #defaultTimeout: number;
  readonly #unsubscribe: () => void;

  constructor(store: Store, opts: WatchHubOptions = {}) {
    this.#store = store;
    this.#bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 60_000;
    this.#defaultTimeout = opts.defaultTimeoutSeconds ?? 1800;
    this.#unsubscribe = store.onEvent((e) => {
      for (const w of this.#watchers) if (w.req.def.storage === e.storage) this.#deliver(w, e);
    });
  }

  /** Number of open watch streams. */
  get size(): number {
    return this.#watchers.size;
  }

  /** Answers 200 with a single ERROR event carrying `status`, then ends: how a watch learns of a 410. */
  static sendError(res: ServerResponse, status: Status): void {
    res.writeHead(200, WATCH_HEADERS);
    res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
  }

  open(req: WatchRequest): void {
    const { def, res } = req;
    let backlog: StoreEvent[] = [];
    if (req.fromRV !== undefined) {
      try {
        backlog = this.#store.eventsSince(def.storage, req.fromRV);
      } catch (err) {
        if (!(err instanceof KubeError)) throw err;
        WatchHub.sendError(res, err.status);
        return;
      }
    }
    const w: Watcher = { req, startRV: req.fromRV ?? this.#store.lastRVOf(def.storage), timers: [] };
    res.socket?.setNoDelay(true);
    res.writeHead(200, WATCH_HEADERS);
    res.flushHeaders();
    if (req.fromRV === undefined) {
      for (const { object } of this.#store.list(def, req.namespace).entries) {
        if (this.#matches(req, object)) this.#write(w, 'ADDED', object);
      }
    } else {
      for (const e of backlog) this.#deliver(w, e);
    }
    this.#watchers.add(w);
    const timeout = req.timeoutSeconds ?? this.#defaultTimeout * (1 + Math.random());
    w.timers.push(setTimeout(() => this.#close(w, false), timeout * 1000));
    // The watch cache sends its last bookmark 2 s before the watch times out (none at the end), so a client can
    // resume from it; a watch of 2 s or less gets none.
    if (timeout > 2) w.timers.push(setTimeout(() => this.#bookmark(w), (timeout - 2) * 1000));
    if (req.allowBookmarks) w.timers.push(setInterval(() => this.#bookmark(w), this.#bookmarkIntervalMs));
    res.on('close', () => this.#forget(w));
  }

  #matches(req: WatchRequest, storageObj: KubeObject): boolean {
    const ns = storageObj.metadata.namespace ?? '';
    if (req.def.namespaced && req.namespace && ns !== req.namespace) return false;
    return (
      matchFields(req.fields, storageObj, req.def.fields) &&
      matchLabels(req.labels, storageObj.metadata.labels)
    );
  }

  #deliver(w: Watcher, e: StoreEvent): void {
    if (e.rv <= w.startRV && w.req.fromRV !== undefined) return;
    const now = e.type !== 'DELETED' && this.#matches(w.req, e.object);
    const before = e.prev !== undefined && this.#matches(w.req, e.prev);
    if (e.type === 'ADDED' && now) this.#write(w, 'ADDED', e.object);
    else if (e.type === 'MODIFIED' && now) this.#write(w, before ? 'MODIFIED' : 'ADDED', e.object);
    else if (e.type === 'MODIFIED' && before) this.#write(w, 'DELETED', e.object);
    else if (e.type === 'DELETED' && before) this.#write(w, 'DELETED', e.object);
  }

  #write(w: Watcher, type: string, storageObj: KubeObject): void {
    const { def } = w.req;
    const copy = structuredClone(storageObj);
    const object = def.toExternal ? def.toExternal(copy) : copy;
    if (!w.req.res.writableEnded) w.req.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  #bookmark(w: Watcher): void {
    if (!w.req.allowBookmarks) return;
    const rv = this.#store.lastRVOf(w.req.def.storage);
    if (rv <= w.startRV) return;
    const { def } = w.req;
    const body = structuredClone(def.bookmarkBody) as KubeObject;
    const object = {
      kind: def.kind,
      apiVersion: apiVersionOf(def),
      ...body,
      metadata: { ...(body.metadata ?? {}), resourceVersion: String(rv) },
    };
    if (!w.req.res.writableEnded) w.req.res.write(`${JSON.stringify({ type: 'BOOKMARK', object })}\n`);
  }

  #forget(w: Watcher): void {
    for (const t of w.timers) clearTimeout(t);
    this.#watchers.delete(w);
  }

  #close(w: Watcher, abrupt: boolean): void {
    this.#forget(w);
    if (abrupt) w.req.res.socket?.destroy();
    else w.req.res.end();
  }

  /** Sends every bookmark-enabled watcher a bookmark now (if there is progress to report). */
  bookmarkNow(): void {
    for (const w of this.#watchers) this.#bookmark(w);
  }

  /**
   * Ends every open watch: cleanly (the chunked response completes, as on a server-side timeout; clients
   * resume from their last resourceVersion) or abruptly (the TCP connection is reset mid-stream).
   */
  dropAll(abrupt = false): number {
    const all = [...this.#watchers];
    for (const w of all) this.#close(w, abrupt);
    return all.length;
  }

  close(): void {
    this.dropAll(false);
    this.#unsubscribe();
  }
}
