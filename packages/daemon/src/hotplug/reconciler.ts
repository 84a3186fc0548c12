// The hot-plug reconciler (daemon-config `hotplug: true`): level-driven, one pass per pod at a time. A pass is
// asked for when a pod's networks annotation (or UID) changes, after each ADD of a sandbox, at start for every
// sandbox in the delegate cache, and after a failure with capped exponential backoff. A pass looks at the pod as
// it is *now* (informer cache) and at the sandbox as it is now (delegate cache, under the container's mutex), so
// passes can be repeated, merged or interrupted at any point and still converge.
import { CniError } from '@multus-ts/cni';
import { NETWORKS_ANNOTATION } from '@multus-ts/netspec';
import type { EngineLogger, EventSink } from '../engine/deps.ts';
import type { Engine } from '../engine/engine.ts';
import type { PodInfo } from '../kube/pods.ts';
import { DelegateCache } from '../store/delegate-cache.ts';
import { type PodNotice, reconcileSandbox } from './reconcile.ts';
import { newestFirst, podKey, SandboxIndex } from './sandboxes.ts';

export interface HotplugOptions {
  engine: Pick<Engine, 'serialised' | 'contextFor'>;
  /** The pod as the informer has it now. */
  pod(namespace: string, name: string): PodInfo | undefined;
  /** Resolves once the pod and NAD caches are synced (a pass before would see networks as missing). */
  synced(): Promise<void>;
  /** The node's multus config (00-multus.conf) as the runtime passes it; undefined while there is none yet. */
  multusConf(): Promise<Uint8Array | undefined>;
  events: EventSink;
  logger: EngineLogger;
  /** Where the delegate cache lives (daemon-config cniDir). */
  cniDir: string;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Pods reconciled at the same time (delegate executions are bounded by the engine anyway). */
  concurrency?: number;
  /** One pass over one sandbox (unit tests replace it). */
  reconcile?: typeof reconcileSandbox;
}

export const DEFAULT_RETRY_BASE_MS = 1000;
export const DEFAULT_RETRY_MAX_MS = 60_000;
/** Delegate errors can be long; an Event's message is meant to be read (events.k8s.io caps `note` at 1 KiB). */
const MAX_EVENT_MESSAGE = 1024;

/** Delay before retry number `attempt` (1, 2, ...): doubling from `baseMs`, capped at `maxMs`. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(baseMs * 2 ** Math.min(attempt - 1, 30), maxMs);
}

function signature(pod: PodInfo): string {
  return `${pod.uid}\n${pod.annotations[NETWORKS_ANNOTATION] ?? ''}`;
}

export class HotplugReconciler {
  readonly #o: HotplugOptions;
  readonly #index = new SandboxIndex();
  readonly #cache: DelegateCache;
  readonly #queue = new Set<string>();
  readonly #active = new Map<string, Promise<void>>();
  readonly #again = new Set<string>();
  readonly #seen = new Map<string, string>();
  readonly #retries = new Map<string, { attempt: number; timer: NodeJS.Timeout | undefined }>();
  readonly #warned = new Map<string, Set<string>>();
  /** Pods whose network-status must be compared even without a change (daemon start, failed writes). */
  readonly #checkStatus = new Set<string>();
  #ready: Promise<void> | undefined;
  #stopped = false;

  constructor(opts: HotplugOptions) {
    this.#o = opts;
    this.#cache = new DelegateCache(opts.cniDir);
  }

  /** Waits for the informers, learns every sandbox in the delegate cache and reconciles each of their pods. */
  start(): Promise<void> {
    this.#ready ??= (async () => {
      await this.#o.synced();
      try {
        await this.#index.scan(this.#cache);
      } catch (err) {
        // Sandboxes set up from now on are still learnt from the daemon's own ADDs.
        this.#o.logger.error({ err: CniError.wrap(err).message }, 'hot-plug cannot read the delegate cache');
      }
      for (const key of this.#index.pods()) {
        this.#checkStatus.add(key);
        this.#enqueue(key);
      }
    })();
    return this.#ready;
  }

  /** The pod informer's change hook. */
  podChanged(key: string, pod: PodInfo | undefined): void {
    if (!pod || pod.deleting) {
      this.#forget(key);
      return;
    }
    if (!this.#index.has(key) || this.#seen.get(key) === signature(pod)) return;
    // New input: whatever was being retried is moot, start over at once.
    this.#clearRetry(key);
    this.#warned.delete(key);
    this.#enqueue(key);
  }

  /** The daemon set up a sandbox for this pod: it may have missed an annotation change during the ADD. */
  sandboxAdded(containerId: string, namespace: string, name: string): void {
    const key = podKey(namespace, name);
    this.#index.add(containerId, key);
    this.#enqueue(key);
  }

  sandboxDeleted(containerId: string): void {
    this.#index.remove(containerId);
  }

  async stop(graceMs = 10_000): Promise<void> {
    this.#stopped = true;
    for (const key of [...this.#retries.keys()]) this.#clearRetry(key);
    this.#queue.clear();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => {
      timer = setTimeout(r, graceMs);
    });
    await Promise.race([Promise.allSettled([...this.#active.values()]), deadline]);
    clearTimeout(timer);
  }

  #forget(key: string): void {
    this.#clearRetry(key);
    this.#retries.delete(key);
    this.#seen.delete(key);
    this.#warned.delete(key);
    this.#checkStatus.delete(key);
  }

  #clearRetry(key: string): void {
    const r = this.#retries.get(key);
    if (r?.timer) clearTimeout(r.timer);
    this.#retries.delete(key);
  }

  #scheduleRetry(key: string): void {
    const prev = this.#retries.get(key);
    if (prev?.timer) clearTimeout(prev.timer);
    const attempt = (prev?.attempt ?? 0) + 1;
    const delay = backoffDelay(
      attempt,
      this.#o.retryBaseMs ?? DEFAULT_RETRY_BASE_MS,
      this.#o.retryMaxMs ?? DEFAULT_RETRY_MAX_MS,
    );
    const timer = setTimeout(() => {
      const r = this.#retries.get(key);
      if (r) r.timer = undefined;
      this.#enqueue(key);
    }, delay);
    timer.unref();
    this.#retries.set(key, { attempt, timer });
  }

  #enqueue(key: string): void {
    if (this.#stopped) return;
    if (this.#active.has(key)) this.#again.add(key);
    else this.#queue.add(key);
    this.#pump();
  }

  #pump(): void {
    const limit = this.#o.concurrency ?? 4;
    for (const key of this.#queue) {
      if (this.#active.size >= limit) return;
      this.#queue.delete(key);
      const run = this.#pass(key)
        .catch((err: unknown) => {
          this.#o.logger.error({ pod: key, err: CniError.wrap(err).message }, 'hot-plug pass failed');
          this.#scheduleRetry(key);
        })
        .finally(() => {
          this.#active.delete(key);
          if (this.#again.delete(key)) this.#queue.add(key);
          this.#pump();
        });
      this.#active.set(key, run);
    }
  }

  async #pass(key: string): Promise<void> {
    await this.start();
    if (this.#stopped) return;
    const [namespace = '', name = ''] = key.split('/');
    const pod = this.#o.pod(namespace, name);
    if (!pod || pod.deleting) {
      this.#forget(key);
      return;
    }
    this.#seen.set(key, signature(pod));
    const conf = await this.#o.multusConf();
    if (!conf) {
      this.#o.logger.info({ pod: key }, 'hot-plug waits for the multus configuration');
      this.#scheduleRetry(key);
      return;
    }
    const checkStatus = this.#checkStatus.has(key);
    let retry = false;
    let events: PodNotice[] = [];
    for (const containerId of await newestFirst(this.#cache, this.#index.of(key))) {
      const ctx = this.#o.engine.contextFor({
        command: 'ADD',
        containerId,
        netns: '',
        ifName: 'eth0',
        args: '',
        env: {},
        config: conf,
        interfaceAttributes: undefined,
      });
      const pass = this.#o.reconcile ?? reconcileSandbox;
      const out = await this.#o.engine.serialised(containerId, () => pass(ctx, pod, checkStatus));
      if (out.state === 'gone') {
        this.#index.remove(containerId);
        continue;
      }
      if (out.state === 'skipped') continue;
      // The newest sandbox that can be reconciled is the pod's; older ones are left to their DEL.
      retry = out.retry;
      events = out.events;
      if (out.statusPending) this.#checkStatus.add(key);
      else this.#checkStatus.delete(key);
      break;
    }
    this.#emit(key, pod, events);
    if (retry) this.#scheduleRetry(key);
    else this.#clearRetry(key);
  }

  /** Normal events always; a Warning only when it differs from the previous pass's (a retry loop must not spam). */
  #emit(key: string, pod: PodInfo, events: readonly PodNotice[]): void {
    const before = this.#warned.get(key) ?? new Set<string>();
    const now = new Set<string>();
    for (const ev of events) {
      if (ev.type === 'Warning') {
        const id = `${ev.reason}\u0000${ev.message}`;
        now.add(id);
        if (before.has(id)) continue;
      }
      const message =
        ev.message.length > MAX_EVENT_MESSAGE
          ? `${ev.message.slice(0, MAX_EVENT_MESSAGE - 3)}...`
          : ev.message;
      this.#o.events.record(pod, { ...ev, message });
    }
    if (now.size > 0) this.#warned.set(key, now);
    else this.#warned.delete(key);
  }
}
