// Which sandboxes (container IDs with a delegate cache entry) belong to which pod. The delegate cache records the
// pod and the netns of every sandbox this daemon set up, so neither the CRI socket nor the runtime is needed: the
// index is read from the cache directory at start and kept current from the daemon's own ADDs and DELs.
import { stat } from 'node:fs/promises';
import { type CachedContainer, cachePath, type DelegateCache } from '../store/delegate-cache.ts';

export function podKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export class SandboxIndex {
  readonly #byPod = new Map<string, Set<string>>();
  readonly #podOf = new Map<string, string>();

  /** Reads every cache entry once (daemon start). Unreadable entries are skipped: DEL and GC deal with them. */
  async scan(cache: DelegateCache): Promise<void> {
    for (const id of await cache.list()) {
      const read = await cache.load(id, 'eth0').catch(() => undefined);
      if (read?.status === 'ok' && read.entry.pod)
        this.add(id, podKey(read.entry.pod.namespace, read.entry.pod.name));
    }
  }

  add(containerId: string, pod: string): void {
    this.remove(containerId);
    this.#podOf.set(containerId, pod);
    const set = this.#byPod.get(pod) ?? new Set<string>();
    set.add(containerId);
    this.#byPod.set(pod, set);
  }

  remove(containerId: string): void {
    const pod = this.#podOf.get(containerId);
    if (pod === undefined) return;
    this.#podOf.delete(containerId);
    const set = this.#byPod.get(pod);
    set?.delete(containerId);
    if (set?.size === 0) this.#byPod.delete(pod);
  }

  has(pod: string): boolean {
    return this.#byPod.has(pod);
  }

  of(pod: string): string[] {
    return [...(this.#byPod.get(pod) ?? [])];
  }

  pods(): string[] {
    return [...this.#byPod.keys()];
  }
}

/**
 * A pod's sandboxes, newest cache entry first: while the runtime replaces a sandbox, the old one's entry lingers
 * until its DEL, and the newer one is the pod's.
 */
export async function newestFirst(cache: DelegateCache, ids: readonly string[]): Promise<string[]> {
  const dated = await Promise.all(
    ids.map(async (id) => ({
      id,
      t: (await stat(cachePath(cache.dir, id)).catch(() => undefined))?.mtimeMs ?? 0,
    })),
  );
  return dated.sort((a, b) => b.t - a.t).map((d) => d.id);
}

/**
 * The sandbox a /delegate call means: the container ID it names when the daemon holds that one; otherwise the
 * sandbox of the same pod in the same netns (controllers have sent an application container's ID, #209).
 */
export async function findSandbox(
  cache: DelegateCache,
  containerId: string,
  pod: { namespace: string; name: string },
  netns: string,
): Promise<CachedContainer | undefined> {
  const own = await cache.load(containerId, 'eth0').catch(() => undefined);
  if (own?.status === 'ok') return own.entry;
  if (netns === '') return undefined;
  for (const id of await cache.list()) {
    if (id === containerId) continue;
    const read = await cache.load(id, 'eth0').catch(() => undefined);
    if (read?.status !== 'ok') continue;
    const e = read.entry;
    if (e.netns === netns && e.pod?.namespace === pod.namespace && e.pod.name === pod.name) return e;
  }
  return undefined;
}
