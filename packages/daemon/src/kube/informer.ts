// A list+watch cache that never gives up: client-node's ListWatch stops on an error, so this restarts it with
// capped exponential backoff, keeps a trimmed copy of each object (only what the daemon reads), and exposes
// sync state for readiness and metrics.
import * as k8s from '@kubernetes/client-node';

export interface InformerState {
  synced: boolean;
  /** ms since epoch of the last successful list or watch event; 0 before the first. */
  lastSyncAt: number;
  restarts: number;
  lastError: string | undefined;
}

export interface TrimmedInformerOptions<T> {
  name: string;
  path: string;
  watch: k8s.Watch;
  list: () => Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>;
  fieldSelector?: string;
  trim: (obj: k8s.KubernetesObject) => T | undefined;
  onChange?: (key: string, value: T | undefined) => void;
  onError?: (err: unknown) => void;
  maxBackoffMs?: number;
}

export class TrimmedInformer<T> {
  readonly name: string;
  readonly state: InformerState = { synced: false, lastSyncAt: 0, restarts: 0, lastError: undefined };
  readonly #items = new Map<string, T>();
  readonly #lw: k8s.ListWatch<k8s.KubernetesObject>;
  readonly #opts: TrimmedInformerOptions<T>;
  #stopped = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #backoffMs = 0;
  #syncedWaiters: (() => void)[] = [];

  constructor(opts: TrimmedInformerOptions<T>) {
    this.name = opts.name;
    this.#opts = opts;
    const listFn = async () => {
      const list = await opts.list();
      // The list replaces the cache wholesale: objects deleted while we were disconnected disappear here.
      this.#items.clear();
      for (const obj of list.items) this.#put(obj);
      this.#markSynced();
      return list;
    };
    this.#lw = new k8s.ListWatch(opts.path, opts.watch, listFn, false, undefined, opts.fieldSelector);
    this.#lw.on(k8s.ADD, (obj) => this.#put(obj));
    this.#lw.on(k8s.UPDATE, (obj) => this.#put(obj));
    this.#lw.on(k8s.DELETE, (obj) => {
      const key = keyOf(obj);
      this.#items.delete(key);
      this.#touch();
      opts.onChange?.(key, undefined);
    });
    this.#lw.on(k8s.ERROR, (err) => this.#restartLater(err));
  }

  start(): void {
    this.#stopped = false;
    void this.#lw.start().catch((err: unknown) => this.#restartLater(err));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    await this.#lw.stop();
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

  /** Resolves once the first list has completed, or false after `timeoutMs`. */
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

  #put(obj: k8s.KubernetesObject): void {
    const key = keyOf(obj);
    const value = this.#opts.trim(obj);
    if (value === undefined) this.#items.delete(key);
    else this.#items.set(key, value);
    this.#touch();
    this.#opts.onChange?.(key, value);
  }

  #touch(): void {
    this.state.lastSyncAt = Date.now();
    this.#backoffMs = 0;
  }

  #markSynced(): void {
    this.#touch();
    this.state.lastError = undefined;
    if (!this.state.synced) {
      this.state.synced = true;
      for (const w of this.#syncedWaiters.splice(0)) w();
    }
  }

  #restartLater(err: unknown): void {
    this.state.lastError = err instanceof Error ? err.message : String(err);
    this.#opts.onError?.(err);
    if (this.#stopped || this.#retryTimer) return;
    this.#backoffMs = Math.min(
      this.#backoffMs > 0 ? this.#backoffMs * 2 : 200,
      this.#opts.maxBackoffMs ?? 10_000,
    );
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#stopped) return;
      this.state.restarts++;
      void this.#lw.start().catch((e: unknown) => this.#restartLater(e));
    }, this.#backoffMs);
    this.#retryTimer.unref();
  }
}

function keyOf(obj: k8s.KubernetesObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}
