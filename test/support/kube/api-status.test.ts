// Status shapes, authentication/authorization, discovery and malformed input, through @kubernetes/client-node
// and raw HTTP.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeConfigFor } from './client-config.ts';
import { type KubeEmulator, startKubeEmulator } from './emulator.ts';
import { apiStatus, raw, testPod } from './test-helpers.ts';

let emu: KubeEmulator;
let core: k8s.CoreV1Api;

beforeAll(async () => {
  emu = await startKubeEmulator({
    maxBodyBytes: 64 * 1024,
    tokens: [
      {
        token: 'multus-token',
        user: 'system:serviceaccount:kube-system:multus',
        rules: [
          { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] },
          { apiGroups: [''], resources: ['pods/status'], verbs: ['get', 'update', 'patch'] },
          { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create'] },
        ],
      },
    ],
  });
  core = kubeConfigFor(emu).makeApiClient(k8s.CoreV1Api);
  await core.createNamespacedPod({ namespace: 'default', body: testPod('p1', 'n1') });
});
afterAll(() => emu.close());

describe('Status objects', () => {
  it('404 NotFound names the resource and object', async () => {
    const s = await apiStatus(core.readNamespacedPod({ name: 'nope', namespace: 'default' }));
    expect(s).toEqual({
      httpCode: 404,
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'pods "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', kind: 'pods' },
      code: 404,
    });
    const r = await raw(
      emu,
      'GET',
      '/apis/k8s.cni.cncf.io/v1/namespaces/default/network-attachment-definitions/x',
    );
    expect(r.json).toMatchObject({
      message: 'network-attachment-definitions.k8s.cni.cncf.io "x" not found',
      details: { name: 'x', group: 'k8s.cni.cncf.io', kind: 'network-attachment-definitions' },
    });
  });

  it('409 AlreadyExists on a second create', async () => {
    const s = await apiStatus(core.createNamespacedPod({ namespace: 'default', body: testPod('p1', 'n1') }));
    expect(s).toMatchObject({
      httpCode: 409,
      reason: 'AlreadyExists',
      message: 'pods "p1" already exists',
      code: 409,
    });
  });

  it('Status keys come in metav1.Status field order', async () => {
    const r = await raw(emu, 'GET', '/api/v1/namespaces/default/pods/nope');
    expect(Object.keys(r.json as object)).toEqual([
      'kind',
      'apiVersion',
      'metadata',
      'status',
      'message',
      'reason',
      'details',
      'code',
    ]);
    expect(r.headers.get('content-type')).toBe('application/json');
  });
});

describe('authentication and authorization', () => {
  it('401 without a token, with a wrong token and with a malformed header', async () => {
    const want = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    };
    for (const token of [null, 'wrong']) {
      const r = await raw(emu, 'GET', '/api/v1/pods', { token });
      expect(r.status).toBe(401);
      expect(r.json).toEqual(want);
    }
    const basic = await raw(emu, 'GET', '/api/v1/pods', {
      token: null,
      headers: { Authorization: 'Basic YTpi' },
    });
    expect(basic.status).toBe(401);
    const viaClient = await apiStatus(
      kubeConfigFor(emu, 'wrong').makeApiClient(k8s.CoreV1Api).listPodForAllNamespaces(),
    );
    expect(viaClient.httpCode).toBe(401);
  });

  it('a token can be added and revoked at run time (rotation)', async () => {
    emu.auth.add({ token: 'rotated' });
    expect((await raw(emu, 'GET', '/api/v1/pods', { token: 'rotated' })).status).toBe(200);
    emu.auth.remove('rotated');
    expect((await raw(emu, 'GET', '/api/v1/pods', { token: 'rotated' })).status).toBe(401);
  });

  it('403 Forbidden for what a restricted token is not granted, in the server wording', async () => {
    const multus = kubeConfigFor(emu, 'multus-token').makeApiClient(k8s.CoreV1Api);
    expect((await multus.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=n1' })).items).toHaveLength(
      1,
    );
    const get = await apiStatus(multus.readNamespacedPod({ name: 'p1', namespace: 'default' }));
    expect(get).toMatchObject({
      httpCode: 403,
      reason: 'Forbidden',
      message:
        'pods "p1" is forbidden: User "system:serviceaccount:kube-system:multus" cannot get resource "pods" in API group "" in the namespace "default"',
      details: { name: 'p1', kind: 'pods' },
    });
    expect((await multus.readNamespacedPodStatus({ name: 'p1', namespace: 'default' })).metadata?.name).toBe(
      'p1',
    );
    const nads = await raw(
      { url: emu.url, token: 'multus-token' },
      'GET',
      '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions',
    );
    expect(nads.status).toBe(403);
    expect((nads.json as { message: string }).message).toBe(
      'network-attachment-definitions.k8s.cni.cncf.io is forbidden: User "system:serviceaccount:kube-system:multus" cannot list resource "network-attachment-definitions" in API group "k8s.cni.cncf.io" at the cluster scope',
    );
    const patch = await apiStatus(
      multus.patchNamespacedPod(
        { name: 'p1', namespace: 'default', body: { metadata: { labels: { a: 'b' } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      ),
    );
    expect(patch.message).toContain('cannot patch resource "pods" in API group ""');
    // Non-resource paths: discovery is open to every authenticated user, anything else is refused before the
    // server looks for it (a 403, not a 404).
    const restricted = { url: emu.url, token: 'multus-token' };
    expect((await raw(restricted, 'GET', '/nope')).json).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      message: 'forbidden: User "system:serviceaccount:kube-system:multus" cannot get path "/nope"',
      details: {},
    });
    expect((await raw(restricted, 'GET', '/apis/unknown.example.com')).text).toBe('404 page not found\n');
    expect((await raw(restricted, 'GET', '/version')).status).toBe(200);
  });

  it('anonymous mode turns a missing token into system:anonymous, who may only read public paths', async () => {
    const anon = await startKubeEmulator({ anonymousAuth: true });
    try {
      expect((await raw(anon, 'GET', '/healthz', { token: null })).text).toBe('ok');
      const r = await raw(anon, 'GET', '/api/v1/pods', { token: null });
      expect(r.status).toBe(403);
      expect((r.json as { message: string }).message).toContain(
        'User "system:anonymous" cannot list resource "pods"',
      );
      expect((await raw(anon, 'GET', '/api', { token: null })).json).toMatchObject({
        message: 'forbidden: User "system:anonymous" cannot get path "/api"',
      });
    } finally {
      await anon.close();
    }
  });
});

describe('discovery', () => {
  it('serves /api, /apis, the group documents, resource lists and /version', async () => {
    expect((await raw(emu, 'GET', '/api')).json).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const groups = (await raw(emu, 'GET', '/apis')).json as {
      kind: string;
      groups: Array<{ name: string; preferredVersion: unknown }>;
    };
    expect(groups.kind).toBe('APIGroupList');
    expect(groups.groups.map((g) => g.name)).toEqual([
      'certificates.k8s.io',
      'events.k8s.io',
      'k8s.cni.cncf.io',
    ]);
    const v1 = (await raw(emu, 'GET', '/api/v1')).json as {
      groupVersion: string;
      resources: Array<{ name: string; verbs: string[] }>;
    };
    expect(v1).not.toHaveProperty('apiVersion');
    expect(v1.resources.map((r) => r.name)).toEqual(
      expect.arrayContaining(['pods', 'pods/status', 'pods/binding', 'nodes', 'namespaces', 'events']),
    );
    const nad = (await raw(emu, 'GET', '/apis/k8s.cni.cncf.io/v1')).json as {
      apiVersion: string;
      resources: unknown[];
    };
    expect(nad).toMatchObject({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: 'k8s.cni.cncf.io/v1',
    });
    expect(nad.resources[0]).toMatchObject({
      name: 'network-attachment-definitions',
      singularName: 'network-attachment-definition',
      namespaced: true,
      kind: 'NetworkAttachmentDefinition',
      shortNames: ['nad', 'net-attach-def'],
    });
    const version = await kubeConfigFor(emu).makeApiClient(k8s.VersionApi).getCode();
    expect(version.major).toBe('1');
    expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+/);
  });
});

describe('malformed and hostile input', () => {
  it('unknown paths: JSON 404 inside a served group version and /api, a path index outside the APIs, plain 404 for unknown groups', async () => {
    const inGroup = await raw(emu, 'GET', '/api/v1/foos');
    expect(inGroup.status).toBe(404);
    expect(inGroup.json).toMatchObject({
      reason: 'NotFound',
      message: 'the server could not find the requested resource',
      details: {},
    });
    expect((await raw(emu, 'GET', '/api/v1/namespaces/default/pods/p1/exec-nope')).status).toBe(404);
    for (const p of ['/api/v2', '/api/v2/pods']) {
      const r = await raw(emu, 'GET', p);
      expect(r.status, p).toBe(404);
      expect(r.json, p).toMatchObject({ reason: 'NotFound', details: {} });
    }
    const unknownGroup = await raw(emu, 'GET', '/apis/unknown.example.com/v1/things');
    expect(unknownGroup.status).toBe(404);
    expect(unknownGroup.text).toBe('404 page not found\n');
    const outside = await raw(emu, 'GET', '/nope');
    expect(outside.status).toBe(404);
    expect((outside.json as { paths: string[] }).paths).toEqual(
      expect.arrayContaining(['/api', '/apis', '/healthz', '/version']),
    );
  });

  it('bad JSON, a non-object body and a body with the wrong identity are 400 BadRequest', async () => {
    const path = '/api/v1/namespaces/default/pods';
    const cases: Array<[string, string]> = [
      ['{"metadata":', 'json parse error'],
      ['[1,2]', 'json parse error'],
      [
        JSON.stringify({ ...testPod('x'), apiVersion: 'apps/v1' }),
        'does not match the expected API version (v1)',
      ],
      [
        JSON.stringify({ ...testPod('x'), metadata: { name: 'x', namespace: 'other' } }),
        'does not match the namespace',
      ],
      [JSON.stringify({ ...testPod('x'), metadata: 'x' }), 'cannot unmarshal'],
    ];
    for (const [body, msg] of cases) {
      const r = await raw(emu, 'POST', path, { body, contentType: 'application/json' });
      expect(r.status, body).toBe(400);
      expect(r.json, body).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });
      expect((r.json as { message: string }).message, body).toContain(msg);
    }
    const protobuf = await raw(emu, 'POST', path, {
      body: 'x',
      contentType: 'application/vnd.kubernetes.protobuf;x=1',
    });
    expect(protobuf.json).toMatchObject({ reason: 'UnsupportedMediaType', code: 415 });
  });

  it('an oversized body is 413 RequestEntityTooLarge, whether declared or streamed', async () => {
    const big = JSON.stringify({
      ...testPod('big'),
      metadata: { name: 'big', annotations: { a: 'x'.repeat(100 * 1024) } },
    });
    const r = await raw(emu, 'POST', '/api/v1/namespaces/default/pods', {
      body: big,
      contentType: 'application/json',
    });
    expect(r.status).toBe(413);
    expect(r.json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Request entity too large: limit is 65536',
      reason: 'RequestEntityTooLarge',
      code: 413,
    });
    const chunks = [new TextEncoder().encode(big.slice(0, 1000)), new TextEncoder().encode(big.slice(1000))];
    const streamed = await fetch(`${emu.url}/api/v1/namespaces/default/pods`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${emu.token}`, 'Content-Type': 'application/json' },
      body: new ReadableStream({
        pull(c) {
          const next = chunks.shift();
          if (next) c.enqueue(next);
          else c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as { reason: string }).reason).toBe('RequestEntityTooLarge');
    expect((await raw(emu, 'GET', '/api/v1/namespaces/default/pods/p1')).status).toBe(200);
  });

  it('selectors the resource cannot serve are 400, in the server wording', async () => {
    const s = await apiStatus(core.listPodForAllNamespaces({ fieldSelector: 'spec.hostname=x' }));
    expect(s).toMatchObject({
      httpCode: 400,
      reason: 'BadRequest',
      message: 'field label not supported: spec.hostname',
    });
    const nad = await raw(
      emu,
      'GET',
      '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions?fieldSelector=spec.config%3Dx',
    );
    expect((nad.json as { message: string }).message).toBe('field label not supported: spec.config');
    expect((await raw(emu, 'GET', '/api/v1/pods?labelSelector=a%20b%3Dc')).status).toBe(400);
    expect((await raw(emu, 'GET', '/api/v1/pods?watch=maybe')).status).toBe(400);
    expect((await raw(emu, 'GET', '/api/v1/pods?limit=ten')).status).toBe(400);
    expect((await raw(emu, 'GET', '/api/v1/pods?watch=1&resourceVersion=abc')).status).toBe(400);
  });

  it('methods a path does not allow are 405 MethodNotAllowed', async () => {
    for (const [method, path] of [
      ['PUT', '/api/v1/namespaces/default/pods'],
      ['DELETE', '/api/v1/pods'],
      ['POST', '/api/v1/namespaces/default/pods/p1'],
      ['GET', '/api/v1/namespaces/default/pods/p1/binding'],
    ] as const) {
      const r = await raw(emu, method, path, {
        body: method === 'GET' ? undefined : '{}',
        contentType: 'application/json',
      });
      expect(r.status, `${method} ${path}`).toBe(405);
      expect(r.json).toMatchObject({ reason: 'MethodNotAllowed', code: 405 });
    }
  });
});
