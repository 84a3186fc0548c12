// Writes through @kubernetes/client-node: the three patch types, PUT conflicts, Events, binding, NADs, delete.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeConfigFor } from './client-config.ts';
import { type KubeEmulator, startKubeEmulator } from './emulator.ts';
import { apiStatus, raw, testPod } from './test-helpers.ts';

let emu: KubeEmulator;
let core: k8s.CoreV1Api;
let custom: k8s.CustomObjectsApi;
const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const strategic = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);
const STATUS_KEY = 'k8s.v1.cni.cncf.io/network-status';
const NAD = { group: 'k8s.cni.cncf.io', version: 'v1', plural: 'network-attachment-definitions' };

beforeAll(async () => {
  emu = await startKubeEmulator();
  const kc = kubeConfigFor(emu);
  core = kc.makeApiClient(k8s.CoreV1Api);
  custom = kc.makeApiClient(k8s.CustomObjectsApi);
});
afterAll(() => emu.close());

describe('patching a pod', () => {
  it('merge-patches the network-status annotation through pods/status, once', async () => {
    const created = await core.createNamespacedPod({ namespace: 'default', body: testPod('mp', 'n1') });
    const value = '[{"name":"default/macvlan-conf","interface":"net1","ips":["192.168.1.200"],"dns":{}}]';
    emu.stats.reset();
    const patched = await core.patchNamespacedPodStatus(
      { name: 'mp', namespace: 'default', body: { metadata: { annotations: { [STATUS_KEY]: value } } } },
      merge,
    );
    expect(patched.metadata?.annotations?.[STATUS_KEY]).toBe(value);
    expect(Number(patched.metadata?.resourceVersion)).toBeGreaterThan(
      Number(created.metadata?.resourceVersion),
    );
    expect(emu.stats.count({ verb: 'patch', resource: 'pods/status', code: 200 })).toBe(1);
    const again = await core.patchNamespacedPodStatus(
      { name: 'mp', namespace: 'default', body: { metadata: { annotations: { [STATUS_KEY]: value } } } },
      merge,
    );
    expect(again.metadata?.resourceVersion).toBe(patched.metadata?.resourceVersion);
    const read = await core.readNamespacedPod({ name: 'mp', namespace: 'default' });
    expect(read.metadata?.annotations?.[STATUS_KEY]).toBe(value);
    expect(read.spec?.nodeName).toBe('n1');
  });

  it('a resourceVersion inside a patch is a precondition', async () => {
    const s = await apiStatus(
      core.patchNamespacedPod(
        {
          name: 'mp',
          namespace: 'default',
          body: { metadata: { resourceVersion: '1', labels: { a: 'b' } } },
        },
        merge,
      ),
    );
    expect(s).toMatchObject({ httpCode: 409, reason: 'Conflict' });
  });

  it('strategic-merge-patches labels and a container env by name', async () => {
    const body = {
      metadata: { labels: { app: 'x' } },
      spec: { containers: [{ name: 'c', image: 'alpine:3.20' }] },
    };
    const out = await core.patchNamespacedPod({ name: 'mp', namespace: 'default', body }, strategic);
    expect(out.metadata?.labels).toEqual({ app: 'x' });
    expect(out.spec?.containers.map((c) => [c.name, c.image])).toEqual([['c', 'alpine:3.20']]);
  });

  it('JSON-patches (client-node default content type) and answers 422 for a failed test op', async () => {
    const ops = [
      { op: 'add', path: '/metadata/annotations/k8s.v1.cni.cncf.io~1networks', value: 'macvlan-conf' },
    ];
    const out = await core.patchNamespacedPod({ name: 'mp', namespace: 'default', body: ops });
    expect(out.metadata?.annotations?.['k8s.v1.cni.cncf.io/networks']).toBe('macvlan-conf');
    const failed = await apiStatus(
      core.patchNamespacedPod({
        name: 'mp',
        namespace: 'default',
        body: [{ op: 'test', path: '/metadata/name', value: 'x' }],
      }),
    );
    // kube-apiserver 1.20 says nothing about which operation failed.
    expect(failed).toMatchObject({
      httpCode: 422,
      reason: 'Invalid',
      message: 'the server rejected our request due to an error in our request',
      details: {},
    });
  });

  it('rejects unsupported patch types with 415 and bad patch bodies with 400', async () => {
    const path = '/api/v1/namespaces/default/pods/mp';
    // 1.20 answers a Content-Type that is no patch type at all with a bare 415.
    for (const type of ['application/json', 'text/plain']) {
      const r = await raw(emu, 'PATCH', path, { body: '{}', contentType: type });
      expect(r.status, type).toBe(415);
      expect(r.json).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: '415: Unsupported Media Type',
        reason: 'UnsupportedMediaType',
        details: {},
        code: 415,
      });
    }
    // Server-side apply is not emulated (the real server applies): refused with the accepted list.
    const apply = await raw(emu, 'PATCH', path, { body: '{}', contentType: 'application/apply-patch+yaml' });
    expect(apply.status).toBe(415);
    expect((apply.json as { message: string }).message).toContain(
      'accepted media types include: application/json-patch+json',
    );
    // Each patch type has its own answer to a body it cannot decode.
    const bad = await raw(emu, 'PATCH', path, {
      body: '{"metadata":',
      contentType: 'application/merge-patch+json',
    });
    expect(bad.status).toBe(500);
    expect(bad.json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Invalid JSON Patch',
      code: 500,
    });
    for (const type of ['application/json-patch+json', 'application/strategic-merge-patch+json']) {
      const r = await raw(emu, 'PATCH', path, { body: '{x', contentType: type });
      expect(r.json, type).toMatchObject({
        reason: 'BadRequest',
        code: 400,
        message: "invalid character 'x' looking for beginning of object key string",
      });
    }
    const array = await raw(emu, 'PATCH', path, { body: '[1]', contentType: 'application/merge-patch+json' });
    expect(array.status).toBe(422);
    expect((array.json as { message: string }).message).toBe(
      ' "" is invalid: patch: Invalid value: "[1]": couldn\'t get version/kind; json parse error: json: cannot unmarshal array into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }',
    );
    const missing = await raw(emu, 'PATCH', '/api/v1/namespaces/default/pods/none', {
      body: '{}',
      contentType: 'application/merge-patch+json',
    });
    expect(missing.status).toBe(404);
  });

  it('cannot move a pod to another node by update: spec is locked (422)', async () => {
    const s = await apiStatus(
      core.patchNamespacedPod(
        { name: 'mp', namespace: 'default', body: { spec: { nodeName: 'n2' } } },
        merge,
      ),
    );
    expect(s).toMatchObject({ httpCode: 422, reason: 'Invalid', details: { name: 'mp', kind: 'Pod' } });
  });
});

describe('PUT', () => {
  it('replaces with the current resourceVersion and answers 409 Conflict with a stale one', async () => {
    const cur = await core.readNamespacedPod({ name: 'mp', namespace: 'default' });
    cur.metadata = { ...cur.metadata, labels: { v: '1' } };
    const replaced = await core.replaceNamespacedPod({ name: 'mp', namespace: 'default', body: cur });
    expect(replaced.metadata?.labels).toEqual({ v: '1' });
    const s = await apiStatus(core.replaceNamespacedPod({ name: 'mp', namespace: 'default', body: cur }));
    expect(s).toMatchObject({
      httpCode: 409,
      reason: 'Conflict',
      message:
        'Operation cannot be fulfilled on pods "mp": the object has been modified; please apply your changes to the latest version and try again',
    });
    const renamed = { ...replaced, metadata: { ...replaced.metadata, name: 'other' } };
    const mismatch = await apiStatus(
      core.replaceNamespacedPod({ name: 'mp', namespace: 'default', body: renamed }),
    );
    expect(mismatch.message).toBe('the name of the object (other) does not match the name on the URL (mp)');
  });
});

describe('Events', () => {
  it('creates a core v1 Event as client-go recorders do and selects it by involvedObject', async () => {
    const ev = await core.createNamespacedEvent({
      namespace: 'default',
      body: {
        metadata: { name: 'mp.17a' },
        involvedObject: { kind: 'Pod', namespace: 'default', name: 'mp', apiVersion: 'v1' },
        reason: 'AddedInterface',
        message: 'Add net1 [192.168.1.200/24] from default/macvlan-conf',
        type: 'Normal',
        source: { component: 'multus' },
        count: 1,
        firstTimestamp: new Date(),
        lastTimestamp: new Date(),
      },
    });
    expect(ev.metadata?.uid).toBeTruthy();
    const list = await core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: 'involvedObject.name=mp,reason=AddedInterface',
    });
    expect(list.items.map((e) => e.message)).toEqual([
      'Add net1 [192.168.1.200/24] from default/macvlan-conf',
    ]);
    expect(
      (await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'source=multus' })).items,
    ).toHaveLength(1);
  });

  it('creates through events.k8s.io/v1 and lists the same Event through core v1', async () => {
    const events = kubeConfigFor(emu).makeApiClient(k8s.EventsV1Api);
    await events.createNamespacedEvent({
      namespace: 'default',
      body: {
        metadata: { name: 'mp.17b' },
        eventTime: new Date() as unknown as k8s.V1MicroTime,
        reportingController: 'multus',
        reportingInstance: 'node-1',
        action: 'NoNetworkFound',
        reason: 'NoNetworkFound',
        type: 'Warning',
        note: 'cannot find a network-attachment-definition (foo) in namespace (default)',
        regarding: { kind: 'Pod', namespace: 'default', name: 'mp' },
      },
    });
    const core1 = await core.readNamespacedEvent({ name: 'mp.17b', namespace: 'default' });
    expect(core1).toMatchObject({
      type: 'Warning',
      reportingComponent: 'multus',
      involvedObject: { name: 'mp' },
    });
    const bad = await apiStatus(
      // The server, not the client, must refuse an Event without eventTime/reportingController/action.
      events.createNamespacedEvent({
        namespace: 'default',
        body: { metadata: { name: 'x' } } as k8s.EventsV1Event,
      }),
    );
    expect(bad).toMatchObject({ httpCode: 422, reason: 'Invalid' });
  });
});

describe('binding, NADs and delete', () => {
  it('binds an unscheduled pod once', async () => {
    await core.createNamespacedPod({ namespace: 'default', body: testPod('unbound') });
    const body = {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: 'unbound' },
      target: { kind: 'Node', name: 'n1' },
    };
    const bound = await raw(emu, 'POST', '/api/v1/namespaces/default/pods/unbound/binding', {
      body: JSON.stringify(body),
      contentType: 'application/json',
    });
    expect(bound.status).toBe(201);
    expect(bound.json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      code: 201,
    });
    expect((await core.readNamespacedPod({ name: 'unbound', namespace: 'default' })).spec?.nodeName).toBe(
      'n1',
    );
    const again = await raw(emu, 'POST', '/api/v1/namespaces/default/pods/unbound/binding', {
      body: JSON.stringify(body),
      contentType: 'application/json',
    });
    expect(again.json).toMatchObject({ reason: 'Conflict', code: 409 });
  });

  it('serves NADs as a custom resource: kind on list items, Status on delete, no strategic patch', async () => {
    const nad = {
      apiVersion: 'k8s.cni.cncf.io/v1',
      kind: 'NetworkAttachmentDefinition',
      metadata: { name: 'macvlan-conf' },
      spec: { config: '{"type":"macvlan"}' },
    };
    const created = await custom.createNamespacedCustomObject({ ...NAD, namespace: 'default', body: nad });
    expect(created.metadata.generation).toBe(1);
    const list = await custom.listClusterCustomObject({ ...NAD });
    expect(list).toMatchObject({ kind: 'NetworkAttachmentDefinitionList', apiVersion: 'k8s.cni.cncf.io/v1' });
    expect(list.items[0]).toMatchObject({
      kind: 'NetworkAttachmentDefinition',
      apiVersion: 'k8s.cni.cncf.io/v1',
    });
    const sp = await raw(
      emu,
      'PATCH',
      '/apis/k8s.cni.cncf.io/v1/namespaces/default/network-attachment-definitions/macvlan-conf',
      {
        body: '{}',
        contentType: 'application/strategic-merge-patch+json',
      },
    );
    expect(sp.status).toBe(415);
    const patched = await custom.patchNamespacedCustomObject(
      { ...NAD, namespace: 'default', name: 'macvlan-conf', body: { spec: { config: '{}' } } },
      merge,
    );
    expect(patched.metadata.generation).toBe(2);
    const deleted = await custom.deleteNamespacedCustomObject({
      ...NAD,
      namespace: 'default',
      name: 'macvlan-conf',
    });
    expect(deleted).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: {
        name: 'macvlan-conf',
        group: 'k8s.cni.cncf.io',
        kind: 'network-attachment-definitions',
        uid: created.metadata.uid,
      },
    });
  });

  it('deletes a bound pod gracefully unless gracePeriodSeconds is 0, answering with the pod', async () => {
    const first = await core.deleteNamespacedPod({ name: 'unbound', namespace: 'default' });
    expect(first.metadata?.deletionTimestamp).toBeTruthy();
    expect(first.metadata?.deletionGracePeriodSeconds).toBe(30);
    const gone = await core.deleteNamespacedPod({
      name: 'unbound',
      namespace: 'default',
      gracePeriodSeconds: 0,
    });
    expect(gone.kind).toBe('Pod');
    expect(
      (await apiStatus(core.readNamespacedPod({ name: 'unbound', namespace: 'default' }))).httpCode,
    ).toBe(404);
  });

  it('accepts YAML bodies', async () => {
    const yaml =
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: from-yaml\nspec:\n  containers:\n  - name: c\n    image: alpine\n';
    const r = await raw(emu, 'POST', '/api/v1/namespaces/default/pods', {
      body: yaml,
      contentType: 'application/yaml',
    });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({
      kind: 'Pod',
      metadata: { name: 'from-yaml' },
      spec: { containers: [{ imagePullPolicy: 'Always' }] },
    });
  });
});
