// The emulator's etcd and registry in one: objects per storage, one global resourceVersion counter, a bounded
// event history per storage (the watch cache window), and the generic create/update/delete rules of the real
// registry (conflicts, preconditions, no-op writes that change nothing, graceful deletion, finalizers).
// Objects are kept in storage shape and copied in and out, so callers can never mutate stored state.
import {
  carryServerFields,
  comparable,
  generateName,
  recordManager,
  stampCreate,
  validateMeta,
  withoutMeta,
} from './object-meta.ts';
import { apiVersionOf, namespaces, type ResourceDef } from './resources.ts';
import { seedObjects } from './seed.ts';
import { errors, type FieldError, type GroupResource } from './status.ts';
import { isObject, type KubeObject, kubeTime } from './types.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  rv: number;
  storage: string;
  key: string;
  /** The object after the change (for DELETED: its last state, stamped with the deletion's resourceVersion). */
  object: KubeObject;
  prev?: KubeObject;
}

export interface WriteOptions {
  dryRun?: boolean;
  /** Field manager recorded in managedFields. */
  manager?: string;
  subresource?: string;
  /** What the client sent, for managedFields. */
  requestBody?: unknown;
}

export interface DeleteOptions {
  dryRun?: boolean;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface StoreOptions {
  /** Events kept per storage before the oldest are dropped (the watch-cache window). Default 1000. */
  historyLimit?: number;
  /** Create a namespace on first use instead of answering 404 like the real server. Default false. */
  autoNamespaces?: boolean;
}

/** Marking an object for deletion is a change of its desired state: the registry bumps a generation it keeps. */
function bumpGeneration(o: KubeObject): void {
  if ((o.metadata.generation ?? 0) > 0) o.metadata.generation = (o.metadata.generation ?? 0) + 1;
}

export const groupResource = (d: ResourceDef): GroupResource => ({ group: d.group, resource: d.plural });

function invalid(d: ResourceDef, name: string, errs: FieldError[]) {
  return errors.invalid(d.kind, d.group, name, errs);
}

export class Store {
  readonly historyLimit: number;
  readonly autoNamespaces: boolean;
  #rv = 1;
  readonly #initRV = 1;
  readonly #objects = new Map<string, Map<string, KubeObject>>();
  readonly #history = new Map<string, StoreEvent[]>();
  readonly #floor = new Map<string, number>();
  readonly #lastRV = new Map<string, number>();
  readonly #listeners = new Set<(e: StoreEvent) => void>();

  constructor(opts: StoreOptions = {}) {
    this.historyLimit = opts.historyLimit ?? 1000;
    this.autoNamespaces = opts.autoNamespaces ?? false;
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      this.create(namespaces, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    }
  }

  /** The newest resourceVersion handed out (etcd's current revision). */
  get resourceVersion(): number {
    return this.#rv;
  }

  /** Subscribes to committed changes, in resourceVersion order; returns the unsubscribe function. */
  onEvent(fn: (e: StoreEvent) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  keyOf(d: ResourceDef, ns: string, name: string): string {
    return d.namespaced ? `${ns}/${name}` : name;
  }

  #bucket(storage: string): Map<string, KubeObject> {
    let b = this.#objects.get(storage);
    if (!b) {
      b = new Map();
      this.#objects.set(storage, b);
    }
    return b;
  }

  #external(d: ResourceDef, o: KubeObject): KubeObject {
    const copy = structuredClone(o);
    return d.toExternal ? d.toExternal(copy) : copy;
  }

  /** The resourceVersion below which this storage's history is gone (a watch from older RVs gets 410). */
  floorOf(storage: string): number {
    return this.#floor.get(storage) ?? this.#initRV;
  }

  /** resourceVersion of the storage's newest change: what a BOOKMARK carries. */
  lastRVOf(storage: string): number {
    return this.#lastRV.get(storage) ?? this.#initRV;
  }

  get(d: ResourceDef, ns: string, name: string): KubeObject | undefined {
    const o = this.#bucket(d.storage).get(this.keyOf(d, ns, name));
    return o ? this.#external(d, o) : undefined;
  }

  #commit(d: ResourceDef, type: EventType, key: string, object: KubeObject | undefined, prev?: KubeObject) {
    this.#rv++;
    const bucket = this.#bucket(d.storage);
    const stamped = structuredClone(object ?? (prev as KubeObject));
    stamped.metadata.resourceVersion = String(this.#rv);
    if (type === 'DELETED') bucket.delete(key);
    else bucket.set(key, stamped);
    const event: StoreEvent = { type, rv: this.#rv, storage: d.storage, key, object: stamped };
    if (prev) event.prev = prev;
    let h = this.#history.get(d.storage);
    if (!h) {
      h = [];
      this.#history.set(d.storage, h);
    }
    h.push(event);
    if (h.length > this.historyLimit) {
      h.splice(0, h.length - this.historyLimit);
      this.#floor.set(d.storage, h.length > 0 ? (h[0] as StoreEvent).rv - 1 : this.#rv);
    }
    this.#lastRV.set(d.storage, this.#rv);
    for (const fn of this.#listeners) fn(event);
    return stamped;
  }

  #checkNamespace(d: ResourceDef, ns: string, name: string): void {
    if (!d.namespaced) return;
    const nsObj = this.#bucket(namespaces.storage).get(ns);
    if (!nsObj) {
      if (!this.autoNamespaces) throw errors.notFound(groupResource(namespaces), ns);
      this.create(namespaces, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      return;
    }
    if (nsObj.metadata.deletionTimestamp) throw errors.namespaceTerminating(groupResource(d), name, ns);
  }

  create(d: ResourceDef, ns: string, input: KubeObject, opts: WriteOptions = {}): KubeObject {
    const ext = structuredClone(input);
    const obj = d.toStorage ? d.toStorage(ext) : ext;
    obj.metadata = isObject(obj.metadata) ? obj.metadata : {};
    if (d.namespaced) obj.metadata.namespace = ns;
    else delete obj.metadata.namespace;
    if (!obj.metadata.name && obj.metadata.generateName)
      obj.metadata.name = generateName(obj.metadata.generateName);
    const name = obj.metadata.name ?? '';
    if (obj.metadata.resourceVersion)
      throw errors.unknown('resourceVersion should not be set on objects to be created');
    d.prepareForCreate?.(obj);
    const errs = [...validateMeta(d, obj), ...(d.validate?.(obj) ?? [])];
    if (errs.length > 0) throw invalid(d, name, errs);
    this.#checkNamespace(d, ns, name);
    const key = this.keyOf(d, ns, name);
    if (this.#bucket(d.storage).has(key)) throw errors.alreadyExists(groupResource(d), name);
    stampCreate(d, obj);
    obj.apiVersion = d.toStorage ? obj.apiVersion : apiVersionOf(d);
    obj.kind = d.kind;
    if (opts.dryRun) return this.#external(d, obj);
    recordManager(obj, apiVersionOf(d), opts.manager ?? 'unknown', '', opts.requestBody ?? input);
    return this.#external(d, this.#commit(d, 'ADDED', key, obj));
  }

  /**
   * Read-modify-write of one object. `mutate` gets the current object (API shape) and returns the desired one;
   * a resourceVersion in it is a precondition. Returns the stored result and whether anything changed.
   */
  update(
    d: ResourceDef,
    ns: string,
    name: string,
    mutate: (current: KubeObject | undefined) => KubeObject,
    opts: WriteOptions & { createIfMissing?: boolean } = {},
  ): { object: KubeObject; changed: boolean; created: boolean } {
    const key = this.keyOf(d, ns, name);
    const stored = this.#bucket(d.storage).get(key);
    if (!stored) {
      if (!opts.createIfMissing) throw errors.notFound(groupResource(d), name);
      const desired = mutate(undefined);
      delete desired.metadata.resourceVersion;
      return { object: this.create(d, ns, desired, opts), changed: true, created: true };
    }
    const ext = mutate(this.#external(d, stored));
    const next = d.toStorage ? d.toStorage(structuredClone(ext)) : structuredClone(ext);
    next.metadata = isObject(next.metadata) ? next.metadata : {};
    const gr = groupResource(d);
    const wantRV = next.metadata.resourceVersion;
    if (wantRV && wantRV !== stored.metadata.resourceVersion) throw errors.modified(gr, name);
    if (!wantRV && !d.unconditionalUpdate) {
      // The generic registry names the resource here, not the kind (a custom resource's "kind" is its plural).
      throw errors.invalid(d.builtin ? d.kind : d.plural, d.group, name, [
        {
          field: 'metadata.resourceVersion',
          reason: 'FieldValueInvalid',
          message: 'Invalid value: 0x0: must be specified for an update',
        },
      ]);
    }
    if (next.metadata.uid && next.metadata.uid !== stored.metadata.uid) {
      const why = `Precondition failed: UID in precondition: ${next.metadata.uid}, UID in object meta: ${stored.metadata.uid}`;
      throw errors.conflict(gr, name, why);
    }
    const sub = opts.subresource ?? '';
    carryServerFields(next, stored);
    const errs = [...(d.prepareForUpdate?.(next, stored, sub) ?? [])];
    errs.push(...validateMeta(d, next), ...(d.validate?.(next) ?? []));
    if (errs.length > 0) throw invalid(d, name, errs);
    const statusApart = d.subresources.includes('status');
    if (d.trackGeneration && withoutMeta(next, statusApart) !== withoutMeta(stored, statusApart)) {
      next.metadata.generation = (stored.metadata.generation ?? 0) + 1;
    }
    if (comparable(next) === comparable(stored)) {
      return { object: this.#external(d, stored), changed: false, created: false };
    }
    if (opts.dryRun) return { object: this.#external(d, next), changed: true, created: false };
    recordManager(next, apiVersionOf(d), opts.manager ?? 'unknown', sub, opts.requestBody ?? ext);
    // An update that removes the last finalizer of an object marked for deletion with no grace left deletes it
    // (the registry's shouldDeleteDuringUpdate); a pod still in its grace period stays, whatever is written.
    const finalizers = next.metadata.finalizers ?? [];
    const removedLast = finalizers.length === 0 && (stored.metadata.finalizers ?? []).length > 0;
    const noGrace = (next.metadata.deletionGracePeriodSeconds ?? 0) === 0;
    if (next.metadata.deletionTimestamp && removedLast && noGrace && d !== namespaces) {
      const gone = this.#commit(d, 'DELETED', key, next, stored);
      return { object: this.#external(d, gone), changed: true, created: false };
    }
    return {
      object: this.#external(d, this.#commit(d, 'MODIFIED', key, next, stored)),
      changed: true,
      created: false,
    };
  }

  /** Deletes now, or marks for deletion when a grace period or finalizers keep the object. */
  delete(
    d: ResourceDef,
    ns: string,
    name: string,
    opts: DeleteOptions = {},
  ): { object: KubeObject; deleted: boolean } {
    const key = this.keyOf(d, ns, name);
    const stored = this.#bucket(d.storage).get(key);
    const gr = groupResource(d);
    if (!stored) throw errors.notFound(gr, name);
    const pre = opts.preconditions ?? {};
    if (pre.uid && pre.uid !== stored.metadata.uid) {
      throw errors.conflict(
        gr,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${stored.metadata.uid}`,
      );
    }
    if (pre.resourceVersion && pre.resourceVersion !== stored.metadata.resourceVersion) {
      const why = `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${stored.metadata.resourceVersion}`;
      throw errors.conflict(gr, name, why);
    }
    if (d.gracePeriod)
      return this.#deleteGracefully(d, key, stored, d.gracePeriod(stored, opts.gracePeriodSeconds), opts);
    const finalizers = stored.metadata.finalizers ?? [];
    // Namespaces wait for the namespace controller, which (as on a bare apiserver) never runs here.
    if (finalizers.length === 0 && d !== namespaces) {
      if (opts.dryRun) return { object: this.#external(d, stored), deleted: true };
      return { object: this.#external(d, this.#commit(d, 'DELETED', key, undefined, stored)), deleted: true };
    }
    if (stored.metadata.deletionTimestamp) return { object: this.#external(d, stored), deleted: false };
    const next = structuredClone(stored);
    next.metadata.deletionTimestamp = kubeTime();
    bumpGeneration(next);
    // Only a graceful strategy (pods) records a grace period; a namespace's deletion has none.
    if (d !== namespaces) next.metadata.deletionGracePeriodSeconds = 0;
    if (d === namespaces) next.status = { phase: 'Terminating' };
    if (opts.dryRun) return { object: this.#external(d, next), deleted: false };
    return { object: this.#external(d, this.#commit(d, 'MODIFIED', key, next, stored)), deleted: false };
  }

  /**
   * A graceful strategy's delete (pods), as 1.20's registry does it: the object is first written with
   * deletionTimestamp and deletionGracePeriodSeconds (a MODIFIED event), and only then, when the grace period
   * is 0 and no finalizers are left, deleted (a DELETED event carrying both). A repeated delete may only
   * shorten the grace period: the deadline moves back by the difference.
   */
  #deleteGracefully(
    d: ResourceDef,
    key: string,
    stored: KubeObject,
    grace: number,
    opts: DeleteOptions,
  ): { object: KubeObject; deleted: boolean } {
    const current = stored.metadata.deletionGracePeriodSeconds;
    const since = stored.metadata.deletionTimestamp;
    if (since && current !== undefined && grace >= current)
      return { object: this.#external(d, stored), deleted: false };
    const next = structuredClone(stored);
    const deadline =
      since && current !== undefined
        ? Date.parse(since) - (current - grace) * 1000
        : Date.now() + grace * 1000;
    next.metadata.deletionTimestamp = kubeTime(new Date(deadline));
    next.metadata.deletionGracePeriodSeconds = grace;
    bumpGeneration(next);
    const gone = grace === 0 && (next.metadata.finalizers ?? []).length === 0;
    if (opts.dryRun) return { object: this.#external(d, next), deleted: gone };
    const marked = this.#commit(d, 'MODIFIED', key, next, stored);
    if (!gone) return { object: this.#external(d, marked), deleted: false };
    return { object: this.#external(d, this.#commit(d, 'DELETED', key, undefined, marked)), deleted: true };
  }

  /**
   * Objects of one resource sorted by storage key (namespace/name), optionally as they were at `atRV`.
   * Items are in API shape.
   */
  list(
    d: ResourceDef,
    namespace: string,
    atRV?: number,
  ): { entries: Array<{ key: string; object: KubeObject }>; rv: number } {
    let state: Map<string, KubeObject> = this.#bucket(d.storage);
    let rv = this.#rv;
    if (atRV !== undefined && atRV < this.#rv) {
      state = new Map(state);
      const history = this.#history.get(d.storage) ?? [];
      for (let i = history.length - 1; i >= 0 && (history[i] as StoreEvent).rv > atRV; i--) {
        const e = history[i] as StoreEvent;
        if (e.type === 'ADDED' || !e.prev) state.delete(e.key);
        else state.set(e.key, e.prev);
      }
      rv = atRV;
    }
    const prefix = d.namespaced && namespace ? `${namespace}/` : '';
    const keys = [...state.keys()].filter((k) => k.startsWith(prefix)).sort();
    return {
      entries: keys.map((key) => ({ key, object: this.#external(d, state.get(key) as KubeObject) })),
      rv,
    };
  }

  /** Changes to a storage after `rv`, oldest first; throws the server's 410 when the window no longer has them. */
  eventsSince(storage: string, rv: number): StoreEvent[] {
    const floor = this.floorOf(storage);
    if (rv < floor) throw errors.expired(`too old resource version: ${rv} (${floor})`);
    return (this.#history.get(storage) ?? []).filter((e) => e.rv > rv);
  }

  /** Forgets all history, as an etcd compaction does: every resourceVersion before now becomes too old. */
  compact(): void {
    for (const storage of new Set([...this.#objects.keys(), ...this.#history.keys()])) {
      this.#history.set(storage, []);
      this.#floor.set(storage, this.#rv);
    }
  }

  /**
   * Loads objects the way a test fixture wants them: namespaces are created on demand, the namespace defaults
   * to `default`, and a given `status` is kept (the API would reset a pod's status on create).
   */
  seed(objects: KubeObject[]): KubeObject[] {
    return seedObjects(this, objects);
  }
}
