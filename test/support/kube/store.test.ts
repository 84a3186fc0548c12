import { describe, expect, it } from 'vitest';
import { coreEvents, eventsV1, nads, namespaces, nodes, pods } from './resources.ts';
import { KubeError } from './status.ts';
import { Store, type StoreEvent } from './store.ts';
import type { KubeObject } from './types.ts';

const pod = (name: string, nodeName?: string, extra: Partial<KubeObject> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'alpine:3' }] },
  ...extra,
});
const nad = (name: string, config = '{}'): KubeObject => ({
  apiVersion: 'k8s.cni.cncf.io/v1',
  kind: 'NetworkAttachmentDefinition',
  metadata: { name },
  spec: { config },
});

function kubeError(fn: () => unknown): KubeError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KubeError);
    return err as KubeError;
  }
  throw new Error('expected a KubeError');
}

function recording(store: Store): StoreEvent[] {
  const seen: StoreEvent[] = [];
  store.onEvent((e) => seen.push(e));
  return seen;
}

describe('Store create/get', () => {
  it('stamps uid, creationTimestamp and a global, increasing string resourceVersion', () => {
    const s = new Store();
    const a = s.create(pods, 'default', pod('a'));
    const n = s.create(nodes, '', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
    const b = s.create(pods, 'default', pod('b'));
    const rvs = [a, n, b].map((o) => Number(o.metadata.resourceVersion));
    expect(rvs[1]).toBeGreaterThan(rvs[0] as number);
    expect(rvs[2]).toBeGreaterThan(rvs[1] as number);
    expect(typeof a.metadata.resourceVersion).toBe('string');
    expect(a.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(a.metadata.namespace).toBe('default');
    expect(n.metadata.namespace).toBeUndefined();
    expect(s.get(pods, 'default', 'a')).toEqual(a);
  });

  it('applies the pod strategy: defaults, and status reset to Pending on create', () => {
    const s = new Store();
    const p = s.create(pods, 'default', pod('a', 'n1', { status: { phase: 'Running', podIP: '1.2.3.4' } }));
    expect(p.status).toEqual({ phase: 'Pending', qosClass: 'BestEffort' });
    expect(p.spec).toMatchObject({
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
    });
    expect(p.metadata.generation).toBeUndefined();
  });

  it('answers AlreadyExists, and namespaces that do not exist or are terminating', () => {
    const s = new Store();
    s.create(pods, 'default', pod('a'));
    expect(kubeError(() => s.create(pods, 'default', pod('a'))).status).toMatchObject({
      reason: 'AlreadyExists',
      code: 409,
      message: 'pods "a" already exists',
    });
    expect(kubeError(() => s.create(pods, 'nope', pod('a'))).status).toMatchObject({
      reason: 'NotFound',
      message: 'namespaces "nope" not found',
    });
    s.create(namespaces, '', { metadata: { name: 'dying' } });
    s.delete(namespaces, '', 'dying');
    expect(s.get(namespaces, '', 'dying')?.status).toEqual({ phase: 'Terminating' });
    expect(s.get(namespaces, '', 'dying')?.metadata.deletionGracePeriodSeconds).toBeUndefined();
    expect(kubeError(() => s.create(pods, 'dying', pod('a'))).status).toMatchObject({
      message:
        'pods "a" is forbidden: unable to create new content in namespace dying because it is being terminated',
      details: {
        name: 'a',
        kind: 'pods',
        causes: [
          {
            reason: 'NamespaceTerminating',
            message: 'namespace dying is being terminated',
            field: 'metadata.namespace',
          },
        ],
      },
    });
    const auto = new Store({ autoNamespaces: true });
    auto.create(pods, 'fresh', pod('a'));
    // kube-apiserver labels namespaces with kubernetes.io/metadata.name only from 1.21 on.
    expect(auto.get(namespaces, '', 'fresh')?.metadata.labels).toBeUndefined();
  });

  it('validates names, required pod fields and the annotation size limit with 422 Invalid', () => {
    const s = new Store();
    const bad = kubeError(() => s.create(pods, 'default', pod('Bad_Name'))).status;
    expect(bad).toMatchObject({ reason: 'Invalid', code: 422, details: { name: 'Bad_Name', kind: 'Pod' } });
    expect(bad.message).toContain('Pod "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"');
    const noContainers = kubeError(() =>
      s.create(pods, 'default', { metadata: { name: 'x' }, spec: {} }),
    ).status;
    expect(noContainers.message).toBe('Pod "x" is invalid: spec.containers: Required value');
    const big = pod('big', undefined);
    big.metadata.annotations = { k: 'x'.repeat(256 * 1024) };
    expect(kubeError(() => s.create(pods, 'default', big)).status.message).toBe(
      'Pod "big" is invalid: metadata.annotations: Too long: must have at most 262144 bytes',
    );
    const generated = s.create(pods, 'default', { ...pod(''), metadata: { generateName: 'web-' } });
    expect(generated.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });
});

describe('Store update', () => {
  it('a write that changes nothing keeps the resourceVersion and emits no event', () => {
    const s = new Store();
    const a = s.create(pods, 'default', pod('a'));
    const seen = recording(s);
    const r = s.update(pods, 'default', 'a', (cur) => cur as KubeObject);
    expect(r.changed).toBe(false);
    expect(r.object.metadata.resourceVersion).toBe(a.metadata.resourceVersion);
    expect(seen).toEqual([]);
  });

  it('a stale resourceVersion is a Conflict; an update with none is unconditional for pods only', () => {
    const s = new Store();
    const a = s.create(pods, 'default', pod('a'));
    s.update(pods, 'default', 'a', (cur) => ({
      ...(cur as KubeObject),
      metadata: { ...cur?.metadata, labels: { x: '1' } },
    }));
    const stale = { ...a, metadata: { ...a.metadata, labels: { x: '2' } } };
    expect(kubeError(() => s.update(pods, 'default', 'a', () => stale)).status).toMatchObject({
      reason: 'Conflict',
      code: 409,
      message:
        'Operation cannot be fulfilled on pods "a": the object has been modified; please apply your changes to the latest version and try again',
      details: { name: 'a', kind: 'pods' },
    });
    const n = s.create(nads, 'default', nad('m'));
    const noRV = { ...n, metadata: { name: 'm' } };
    expect(kubeError(() => s.update(nads, 'default', 'm', () => noRV)).status.message).toContain(
      'metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
    );
  });

  it('tracks generation on the NAD (spec changes only) and prunes unknown fields', () => {
    const s = new Store();
    const n = s.create(nads, 'default', { ...nad('m'), extra: 1, spec: { config: '{}', junk: true } });
    expect(n.metadata.generation).toBe(1);
    expect(n).not.toHaveProperty('extra');
    expect(n.spec).toEqual({ config: '{}' });
    const labelled = s.update(nads, 'default', 'm', (c) => ({
      ...(c as KubeObject),
      metadata: { ...c?.metadata, labels: { a: 'b' } },
    }));
    expect(labelled.object.metadata.generation).toBe(1);
    const changed = s.update(nads, 'default', 'm', (c) => ({
      ...(c as KubeObject),
      spec: { config: '{"a":1}' },
    }));
    expect(changed.object.metadata.generation).toBe(2);
    expect(
      kubeError(() => s.create(nads, 'default', { ...nad('x'), spec: { config: 5 } })).status.message,
    ).toBe(
      'NetworkAttachmentDefinition.k8s.cni.cncf.io "x" is invalid: spec.config: Invalid value: "integer": spec.config in body must be of type string: "integer"',
    );
  });

  it('locks pod spec on update and spec on status update', () => {
    const s = new Store();
    s.create(pods, 'default', pod('a'));
    const moved = (c: KubeObject | undefined) => ({
      ...(c as KubeObject),
      spec: { ...(c?.spec as object), nodeName: 'n9' },
    });
    const err = kubeError(() => s.update(pods, 'default', 'a', moved)).status;
    expect(err).toMatchObject({ reason: 'Invalid', code: 422 });
    expect(err.message).toContain('spec: Forbidden: pod updates may not change fields other than');
    const viaStatus = s.update(pods, 'default', 'a', (c) => ({ ...moved(c), status: { phase: 'Running' } }), {
      subresource: 'status',
    });
    expect(viaStatus.object.spec).not.toHaveProperty('nodeName');
    expect(viaStatus.object.status).toEqual({ phase: 'Running' });
    const statusViaMain = s.update(pods, 'default', 'a', (c) => ({
      ...(c as KubeObject),
      status: { phase: 'Failed' },
    }));
    expect(statusViaMain.changed).toBe(false);
  });
});

describe('Store delete', () => {
  it('deletes a bound pod gracefully unless the grace period is 0', () => {
    const s = new Store();
    s.create(pods, 'default', pod('a', 'n1'));
    const seen = recording(s);
    const first = s.delete(pods, 'default', 'a');
    expect(first.deleted).toBe(false);
    expect(first.object.metadata.deletionGracePeriodSeconds).toBe(30);
    expect(first.object.metadata.deletionTimestamp).toBeTruthy();
    // A repeated delete may only shorten the grace period; the deadline moves back by the difference.
    expect(s.delete(pods, 'default', 'a', { gracePeriodSeconds: 45 }).object).toEqual(first.object);
    const shorter = s.delete(pods, 'default', 'a', { gracePeriodSeconds: 10 }).object.metadata;
    expect(shorter.deletionGracePeriodSeconds).toBe(10);
    expect(
      Date.parse(first.object.metadata.deletionTimestamp ?? '') - Date.parse(shorter.deletionTimestamp ?? ''),
    ).toBe(20_000);
    // 1.20 writes the grace-0 mark (MODIFIED) and then deletes (DELETED), both with the mark.
    const second = s.delete(pods, 'default', 'a', { gracePeriodSeconds: 0 });
    expect(second.deleted).toBe(true);
    expect(second.object.metadata.deletionGracePeriodSeconds).toBe(0);
    expect(seen.map((e) => e.type)).toEqual(['MODIFIED', 'MODIFIED', 'MODIFIED', 'DELETED']);
    expect(seen[3]?.object.metadata.deletionGracePeriodSeconds).toBe(0);
    expect(Number(seen[3]?.object.metadata.resourceVersion)).toBe(s.resourceVersion);
    s.create(pods, 'default', pod('unbound'));
    const unbound = s.delete(pods, 'default', 'unbound');
    expect(unbound.deleted).toBe(true);
    expect(unbound.object.metadata).toMatchObject({ deletionGracePeriodSeconds: 0 });
    expect(unbound.object.metadata.deletionTimestamp).toBeTruthy();
  });

  it('keeps a pod in its grace period whatever is written to it (a status patch does not delete it)', () => {
    const s = new Store();
    s.create(pods, 'default', pod('t', 'n1'));
    s.delete(pods, 'default', 't');
    const r = s.update(
      pods,
      'default',
      't',
      (c) => ({ ...(c as KubeObject), metadata: { ...c?.metadata, annotations: { a: 'b' } } }),
      { subresource: 'status' },
    );
    expect(r.changed).toBe(true);
    expect(s.get(pods, 'default', 't')?.metadata).toMatchObject({
      annotations: { a: 'b' },
      deletionGracePeriodSeconds: 30,
    });
  });

  it('keeps an object with finalizers until the last one is removed', () => {
    const s = new Store();
    s.create(nodes, '', { metadata: { name: 'n', finalizers: ['x/y'] } });
    expect(s.delete(nodes, '', 'n').deleted).toBe(false);
    const r = s.update(nodes, '', 'n', (c) => ({
      ...(c as KubeObject),
      metadata: { ...c?.metadata, finalizers: [] },
    }));
    expect(r.changed).toBe(true);
    expect(s.get(nodes, '', 'n')).toBeUndefined();
  });

  it('checks uid and resourceVersion preconditions', () => {
    const s = new Store();
    s.create(pods, 'default', pod('a'));
    expect(
      kubeError(() => s.delete(pods, 'default', 'a', { preconditions: { uid: 'other' } })).status.message,
    ).toContain('Precondition failed: UID in precondition: other');
    expect(
      kubeError(() => s.delete(pods, 'default', 'a', { preconditions: { resourceVersion: '1' } })).code,
    ).toBe(409);
    expect(kubeError(() => s.delete(pods, 'default', 'zz')).code).toBe(404);
  });
});

describe('Store history', () => {
  it('replays events after a resourceVersion and answers 410 once the window has moved past it', () => {
    const s = new Store({ historyLimit: 3 });
    const start = s.resourceVersion;
    for (const n of ['a', 'b', 'c', 'd', 'e']) s.create(pods, 'default', pod(n));
    expect(s.eventsSince(pods.storage, s.resourceVersion - 2).map((e) => e.object.metadata.name)).toEqual([
      'd',
      'e',
    ]);
    const err = kubeError(() => s.eventsSince(pods.storage, start));
    expect(err.status).toMatchObject({ reason: 'Expired', code: 410 });
    expect(err.status.message).toBe(`too old resource version: ${start} (${s.floorOf(pods.storage)})`);
  });

  it('lists the state as it was at an older resourceVersion', () => {
    const s = new Store();
    s.create(pods, 'default', pod('a'));
    const at = s.resourceVersion;
    s.create(pods, 'default', pod('b'));
    s.update(pods, 'default', 'a', (c) => ({
      ...(c as KubeObject),
      metadata: { ...c?.metadata, labels: { v: '2' } },
    }));
    s.delete(pods, 'default', 'a');
    const then = s.list(pods, '', at);
    expect(then.rv).toBe(at);
    expect(then.entries.map((e) => [e.key, e.object.metadata.labels])).toEqual([['default/a', undefined]]);
    expect(s.list(pods, 'default').entries.map((e) => e.key)).toEqual(['default/b']);
  });

  it('compaction makes every older resourceVersion too old', () => {
    const s = new Store();
    s.create(pods, 'default', pod('a'));
    const rv = s.resourceVersion;
    s.compact();
    expect(kubeError(() => s.eventsSince(pods.storage, rv - 1)).code).toBe(410);
    expect(s.eventsSince(pods.storage, rv)).toEqual([]);
  });
});

describe('Store events and seeding', () => {
  it('serves an Event created through events.k8s.io/v1 through core v1 and back', () => {
    const s = new Store();
    s.create(eventsV1, 'default', {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: 'e1' },
      eventTime: '2024-01-01T00:00:00.000000Z',
      reportingController: 'multus',
      reportingInstance: 'node-1',
      action: 'Add',
      reason: 'AddedInterface',
      note: 'Add net1 [10.1.1.11/24] from default/m',
      type: 'Normal',
      regarding: { kind: 'Pod', namespace: 'default', name: 'p' },
    });
    const core = s.get(coreEvents, 'default', 'e1');
    expect(core).toMatchObject({
      apiVersion: 'v1',
      message: 'Add net1 [10.1.1.11/24] from default/m',
      reportingComponent: 'multus',
      involvedObject: { name: 'p' },
    });
    expect(s.get(eventsV1, 'default', 'e1')).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      note: core?.message,
    });
    const strict = kubeError(() =>
      s.create(eventsV1, 'default', { metadata: { name: 'e2' }, type: 'Normal' }),
    ).status;
    expect(strict.message).toContain('eventTime: Required value');
    expect(strict.message).toContain('reportingController: Required value');
    const legacy = kubeError(() =>
      s.create(coreEvents, 'default', { metadata: { name: 'e3' }, involvedObject: { namespace: 'other' } }),
    ).status;
    expect(legacy.message).toContain(
      'involvedObject.namespace: Invalid value: "other": does not match event.namespace',
    );
  });

  it('seeds fixtures with their status, creating namespaces', () => {
    const s = new Store();
    const [p] = s.seed([
      { ...pod('s', 'n1'), metadata: { name: 's', namespace: 'seeded' }, status: { phase: 'Running' } },
    ]);
    expect(p?.status).toEqual({ phase: 'Running' });
    expect(s.get(namespaces, '', 'seeded')).toBeDefined();
    expect(() => s.seed([{ apiVersion: 'v9', kind: 'Nope', metadata: { name: 'x' } }])).toThrow(
      /not a served resource/,
    );
  });
});
