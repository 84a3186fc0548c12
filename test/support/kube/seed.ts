// Seeding: loading fixture objects straight into the store (not through the API), for tests and the demo.
import { namespaces, resourceForObject } from './resources.ts';
import type { Store } from './store.ts';
import type { KubeObject } from './types.ts';

/**
 * Creates each object as the API would (defaults, uid, resourceVersion, watch events), but: a missing namespace
 * is created, the namespace defaults to `default`, and a given `status` is kept (the API would reset a pod's
 * status on create; fixtures often want a Running pod with an IP).
 */
export function seedObjects(store: Store, objects: KubeObject[]): KubeObject[] {
  return objects.map((o) => {
    const d = resourceForObject(o);
    if (!d) throw new Error(`kube emulator cannot seed ${o.apiVersion}/${o.kind}: not a served resource`);
    const ns = d.namespaced ? (o.metadata?.namespace ?? 'default') : '';
    const copy = structuredClone(o);
    delete copy.metadata.resourceVersion;
    if (d.namespaced && !store.get(namespaces, '', ns)) {
      store.create(namespaces, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    }
    const created = store.create(d, ns, copy, { manager: 'seed' });
    if (o.status === undefined || d === namespaces) return created;
    const withStatus = (cur: KubeObject | undefined) => ({ ...(cur as KubeObject), status: o.status });
    return store.update(d, ns, created.metadata.name ?? '', withStatus, {
      subresource: 'status',
      manager: 'seed',
    }).object;
  });
}
