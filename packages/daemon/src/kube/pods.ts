// This node's pods, trimmed to what the daemon reads, and the lookup the engine uses: the informer cache first,
// a short wait for a pod the kubelet has just created (the watch event may trail the CNI ADD), then one live GET.
import { apiStatus, type KubeApis, seg } from './client.ts';
import { type KubeObject, TrimmedInformer } from './informer.ts';

export interface PodInfo {
  namespace: string;
  name: string;
  uid: string;
  nodeName: string;
  resourceVersion: string;
  annotations: Readonly<Record<string, string>>;
  deleting: boolean;
}

/** Static pods (from a kubelet manifest) have a mirror pod whose UID differs from the runtime's. */
export function isStaticPod(pod: PodInfo): boolean {
  const source = pod.annotations['kubernetes.io/config.source'];
  return source !== undefined && source !== 'api';
}

interface PodObject {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
    deletionTimestamp?: string | null;
  };
  spec?: { nodeName?: string };
}

export function trimPod(obj: KubeObject): PodInfo | undefined {
  const pod = obj as PodObject;
  const md = pod.metadata;
  if (!md?.name || !md.namespace) return undefined;
  return {
    namespace: md.namespace,
    name: md.name,
    uid: md.uid ?? '',
    nodeName: pod.spec?.nodeName ?? '',
    resourceVersion: md.resourceVersion ?? '',
    annotations: { ...(md.annotations ?? {}) },
    deleting: md.deletionTimestamp !== undefined && md.deletionTimestamp !== null,
  };
}

export type PodLookup =
  | { kind: 'found'; pod: PodInfo; from: 'cache' | 'api' }
  | { kind: 'not-found' }
  | { kind: 'uid-mismatch'; pod: PodInfo }
  | { kind: 'unavailable'; reason: string };

export interface PodDirectoryOptions {
  apis: KubeApis;
  nodeName: string | undefined;
  /** How long ADD waits for a pod missing from the cache before the live GET. */
  waitMs?: number;
  /** Timeout of the live GET. */
  getTimeoutMs?: number;
  onChange?: (key: string, pod: PodInfo | undefined) => void;
  onApiRequest?: (verb: string, resource: string, code: number | 'error') => void;
}

export class PodDirectory {
  readonly informer: TrimmedInformer<PodInfo>;
  readonly #opts: PodDirectoryOptions;
  readonly #waiters = new Map<string, Set<() => void>>();

  constructor(opts: PodDirectoryOptions) {
    this.#opts = opts;
    const fieldSelector = opts.nodeName ? `spec.nodeName=${opts.nodeName}` : undefined;
    this.informer = new TrimmedInformer<PodInfo>({
      name: 'pods',
      client: opts.apis.client,
      path: '/api/v1/pods',
      ...(fieldSelector ? { fieldSelector } : {}),
      trim: trimPod,
      onRequest: (verb, code) => opts.onApiRequest?.(verb, 'pods', code),
      onChange: (key, pod) => {
        opts.onChange?.(key, pod);
        const waiters = this.#waiters.get(key);
        if (pod && waiters) for (const w of waiters) w();
      },
    });
  }

  cached(namespace: string, name: string): PodInfo | undefined {
    return this.informer.get(namespace, name);
  }

  /**
   * Finds a pod for a CNI call. `uid` is the runtime's K8S_POD_UID (may be empty). ADD waits for a pod not yet in
   * the cache; DEL does not (the pod is usually gone, and DEL must not be slowed down).
   */
  async lookup(namespace: string, name: string, uid: string, mode: 'add' | 'del'): Promise<PodLookup> {
    let pod = this.cached(namespace, name);
    if (!pod && mode === 'add') pod = await this.#waitFor(namespace, name, this.#opts.waitMs ?? 1500);
    let from: 'cache' | 'api' = 'cache';
    if (!pod) {
      const live = await this.#liveGet(
        namespace,
        name,
        mode === 'del' ? 1000 : (this.#opts.getTimeoutMs ?? 5000),
      );
      if (live.kind !== 'found') return live;
      pod = live.pod;
      from = 'api';
    }
    if (uid && pod.uid && uid !== pod.uid && !isStaticPod(pod)) {
      // A cached pod with another UID may simply be stale (StatefulSet pod recreated under the same name).
      if (from === 'cache') {
        const live = await this.#liveGet(namespace, name, this.#opts.getTimeoutMs ?? 5000);
        if (live.kind === 'found' && live.pod.uid === uid)
          return { kind: 'found', pod: live.pod, from: 'api' };
      }
      return { kind: 'uid-mismatch', pod };
    }
    return { kind: 'found', pod, from };
  }

  #waitFor(namespace: string, name: string, ms: number): Promise<PodInfo | undefined> {
    const key = `${namespace}/${name}`;
    return new Promise((resolve) => {
      const set = this.#waiters.get(key) ?? new Set<() => void>();
      this.#waiters.set(key, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0) this.#waiters.delete(key);
        resolve(this.cached(namespace, name));
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  }

  async #liveGet(namespace: string, name: string, timeoutMs: number): Promise<PodLookup> {
    try {
      const pod = await this.#opts.apis.client.request<KubeObject>(
        'GET',
        `/api/v1/namespaces/${seg(namespace)}/pods/${seg(name)}`,
        { timeoutMs },
      );
      this.#opts.onApiRequest?.('get', 'pods', 200);
      const trimmed = trimPod(pod);
      return trimmed ? { kind: 'found', pod: trimmed, from: 'api' } : { kind: 'not-found' };
    } catch (err) {
      const status = apiStatus(err);
      this.#opts.onApiRequest?.('get', 'pods', status ?? 'error');
      if (status === 404) return { kind: 'not-found' };
      return { kind: 'unavailable', reason: err instanceof Error ? err.message : String(err) };
    }
  }
}
