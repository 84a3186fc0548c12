// A list+watch cache that never gives up: it lists, then watches from the list's resourceVersion (with
// bookmarks), re-watches from the last version it saw when a watch ends or breaks, relists only when the server
// says that version is gone (410), and backs off (capped) while the API server is unreachable. It keeps a
// trimmed copy of each object (only what the daemon reads) and exposes sync state for readiness and metrics.
import { KubeApiError, type KubeClient } from './http.ts';

export interface InformerState {
  synced: boolean;
  /** ms since epoch of the last successful list or watch event; 0 before the first. */
  lastSyncAt: number;
  restarts: number;
  lastError: string | undefined;
}

export interface KubeObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface TrimmedInformerOptions<T> {
  name: string;
  client: KubeClient;
  /** Collection path, e.g. /api/v1/pods. */
  path: string;
  fieldSelector?: string;
  trim: (obj: KubeObject) => T | undefined;
  onChange?: (key: string, value: T | undefined) => void;
  onError?: (err: unknown) => void;
  /** Called once per list/watch request with its outcome (metrics). */
  onRequest?: (verb: 'list' | 'watch', code: number | 'error') => void;
  maxBackoffMs?: number;
  /** Objects per LIST page (default LIST_PAGE_SIZE). */
  listPageSize?: number;
  /** Server-side watch timeout; a watch silent for this long plus a margin is considered dead. */
  watchTimeoutSeconds?: number;
}

interface ListBody {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: KubeObject[];
}

/** client-go's reflector pages its LISTs by 500 too. */
export const LIST_PAGE_SIZE = 500;

function keyOf(obj: KubeObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

function statusOf(err: unknown): number | 'error' {
  return err instanceof KubeApiError ? err.code : 'error';
}

export class TrimmedInformer<T> {
  readonly name: string;
  readonly state: InformerState = { synced: false, lastSyncAt: 0, restarts: 0, lastError: undefined };
  readonly #items = new Map<string, T>();
  readonly #opts: TrimmedInformerOptions<T>;
  #resourceVersion = '';
  #running = false;
  #abort: AbortController | undefined;
  #sleepWake: (() => void) | undefined;
  #syncedWaiters: (() => void)[] = [];

  constructor(opts: TrimmedInformerOptions<T>) {
    this.name = opts.name;
    this.#opts = opts;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#loop();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#abort?.abort();
    this.#sleepWake?.();
  }

  get(namespace: string, name: string): T | undefined {
    return this.#items.get(`${namespace}/${name}`);
  }

  get size(): number {
    return this.#items.size;
  }

  values(): IterableIterator<T> {
    return this.#items.values();
  }

  /** Resolves true once the first list has completed, or false after `timeoutMs`. */
  waitForSync(timeoutMs: number): Promise<boolean> {
    if (this.state.synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.#syncedWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  async #loop(): Promise<void> {
    let backoff = 0;
    while (this.#running) {
      try {
        if (this.#resourceVersion === '') await this.#list();
        await this.#watch();
        backoff = 0; // the server ended the watch (its timeout): continue from where it stopped
      } catch (err) {
        if (!this.#running) break;
        if (err instanceof KubeApiError && err.code === 410) {
          this.#resourceVersion = ''; // too old: relist at once
          continue;
        }
        this.state.lastError = err instanceof Error ? err.message : String(err);
        this.state.restarts++;
        this.#opts.onError?.(err);
        backoff = Math.min(backoff > 0 ? backoff * 2 : 200, this.#opts.maxBackoffMs ?? 10_000);
        await this.#sleep(backoff);
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#sleepWake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * Lists in pages (`limit` + `continue`, one consistent snapshot, as client-go's reflector does): a response body,
   * its parsed objects and the buffers behind them are a page's worth at a time, not the whole collection's.
   */
  async #list(): Promise<void> {
    // The list replaces the cache wholesale: objects deleted while we were away disappear here.
    const seen = new Set<string>();
    let resourceVersion = '';
    let continueToken: string | undefined;
    do {
      let body: ListBody;
      try {
        body = await this.#opts.client.request<ListBody>('GET', this.#opts.path, {
          query: {
            fieldSelector: this.#opts.fieldSelector,
            limit: String(this.#opts.listPageSize ?? LIST_PAGE_SIZE),
            continue: continueToken,
          },
          timeoutMs: 60_000,
        });
        this.#opts.onRequest?.('list', 200);
      } catch (err) {
        // A continue token older than the server's compaction is 410 Expired: #loop relists from the start.
        this.#opts.onRequest?.('list', statusOf(err));
        throw err;
      }
      for (const obj of body.items ?? []) {
        seen.add(keyOf(obj));
        this.#put(obj);
      }
      resourceVersion = body.metadata?.resourceVersion ?? '';
      continueToken = body.metadata?.continue || undefined;
    } while (continueToken !== undefined);
    for (const key of [...this.#items.keys()]) {
      if (!seen.has(key)) {
        this.#items.delete(key);
        this.#opts.onChange?.(key, undefined);
      }
    }
    this.#resourceVersion = resourceVersion;
    this.state.lastError = undefined;
    this.#touch();
    if (!this.state.synced) {
      this.state.synced = true;
      for (const w of this.#syncedWaiters.splice(0)) w();
    }
  }

  async #watch(): Promise<void> {
    const timeoutSeconds = this.#opts.watchTimeoutSeconds ?? 300;
    this.#abort = new AbortController();
    let gone = false;
    try {
      await this.#opts.client.watch(
        this.#opts.path,
        {
          resourceVersion: this.#resourceVersion,
          allowWatchBookmarks: 'true',
          timeoutSeconds: String(timeoutSeconds),
          fieldSelector: this.#opts.fieldSelector,
        },
        (type, obj) => {
          if (type === 'ERROR') {
            // The server's way to say the version is too old: a Status with code 410 inside a 200 stream.
            if ((obj as { code?: unknown }).code === 410) gone = true;
            return;
          }
          const rv = (obj as KubeObject).metadata?.resourceVersion;
          if (type === 'ADDED' || type === 'MODIFIED') this.#put(obj as KubeObject);
          else if (type === 'DELETED') {
            const key = keyOf(obj as KubeObject);
            this.#items.delete(key);
            this.#opts.onChange?.(key, undefined);
          }
          if (rv) this.#resourceVersion = rv;
          this.#touch();
        },
        this.#abort.signal,
        (timeoutSeconds + 30) * 1000,
      );
      this.#opts.onRequest?.('watch', 200);
    } catch (err) {
      this.#opts.onRequest?.('watch', statusOf(err));
      throw err;
    }
    if (gone) throw new KubeApiError(410, 'resource version too old');
  }

  #put(obj: KubeObject): void {
    const key = keyOf(obj);
    const value = this.#opts.trim(obj);
    if (value === undefined) this.#items.delete(key);
    else this.#items.set(key, value);
    this.#opts.onChange?.(key, value);
  }

  #touch(): void {
    this.state.lastSyncAt = Date.now();
  }
}
