// LIST semantics: list metadata, selectors, paging with continue tokens, and resourceVersion handling.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeConfigFor } from './client-config.ts';
import { type KubeEmulator, startKubeEmulator } from './emulator.ts';
import { apiStatus, raw, testPod } from './test-helpers.ts';

let emu: KubeEmulator;
let core: k8s.CoreV1Api;

beforeAll(async () => {
  emu = await startKubeEmulator();
  core = kubeConfigFor(emu).makeApiClient(k8s.CoreV1Api);
  emu.store.seed([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns2' } },
    ...['a', 'b', 'c', 'd', 'e'].map((n, i) => ({
      ...testPod(n, i % 2 ? 'n2' : 'n1'),
      metadata: { name: n, labels: { idx: String(i) } },
    })),
    { ...testPod('z', 'n1'), metadata: { name: 'z', namespace: 'ns2' } },
  ]);
});
afterAll(() => emu.close());

describe('list', () => {
  it('answers a typed list: kind PodList, items without kind, resourceVersion in list metadata', async () => {
    const r = await raw(emu, 'GET', '/api/v1/namespaces/default/pods');
    const list = r.json as {
      kind: string;
      apiVersion: string;
      metadata: { resourceVersion: string };
      items: Array<Record<string, unknown>>;
    };
    expect(list.kind).toBe('PodList');
    expect(list.apiVersion).toBe('v1');
    expect(list.metadata.resourceVersion).toBe(String(emu.store.resourceVersion));
    expect(list.items.map((i) => (i.metadata as { name: string }).name)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(list.items[0]).not.toHaveProperty('kind');
    const empty = (await raw(emu, 'GET', '/api/v1/namespaces/kube-public/pods')).json as { items: unknown[] };
    expect(empty.items).toEqual([]);
  });

  it('filters by spec.nodeName, metadata.name, metadata.namespace and labels, across namespaces', async () => {
    const names = async (q: Parameters<k8s.CoreV1Api['listPodForAllNamespaces']>[0]) =>
      (await core.listPodForAllNamespaces(q)).items.map(
        (p) => `${p.metadata?.namespace}/${p.metadata?.name}`,
      );
    expect(await names({ fieldSelector: 'spec.nodeName=n1' })).toEqual([
      'default/a',
      'default/c',
      'default/e',
      'ns2/z',
    ]);
    expect(await names({ fieldSelector: 'spec.nodeName=n1,metadata.namespace=ns2' })).toEqual(['ns2/z']);
    expect(await names({ fieldSelector: 'metadata.name=c' })).toEqual(['default/c']);
    expect(await names({ labelSelector: 'idx in (1,3)' })).toEqual(['default/b', 'default/d']);
    expect(await names({ fieldSelector: 'spec.nodeName!=n1', labelSelector: 'idx' })).toEqual([
      'default/b',
      'default/d',
    ]);
  });

  it('pages with limit/continue on one consistent snapshot', async () => {
    const first = await core.listNamespacedPod({ namespace: 'default', limit: 2 });
    expect(first.items.map((p) => p.metadata?.name)).toEqual(['a', 'b']);
    expect(first.metadata?.remainingItemCount).toBe(3);
    expect(first.metadata?._continue).toBeTruthy();
    await core.createNamespacedPod({ namespace: 'default', body: testPod('bb') });
    await core.deleteNamespacedPod({ name: 'd', namespace: 'default', gracePeriodSeconds: 0 });
    const second = await core.listNamespacedPod({
      namespace: 'default',
      limit: 2,
      _continue: first.metadata?._continue,
    });
    expect(second.items.map((p) => p.metadata?.name)).toEqual(['c', 'd']);
    expect(second.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
    const third = await core.listNamespacedPod({
      namespace: 'default',
      limit: 2,
      _continue: second.metadata?._continue,
    });
    expect(third.items.map((p) => p.metadata?.name)).toEqual(['e']);
    expect(third.metadata?._continue).toBeFalsy();
    const now = await core.listNamespacedPod({ namespace: 'default' });
    expect(now.items.map((p) => p.metadata?.name)).toEqual(['a', 'b', 'bb', 'c', 'e']);
  });

  it('omits remainingItemCount when selectors filter, and rejects bad continue usage with 400', async () => {
    const sel = await core.listPodForAllNamespaces({ limit: 1, fieldSelector: 'spec.nodeName=n1' });
    expect(sel.metadata?._continue).toBeTruthy();
    expect(sel.metadata?.remainingItemCount).toBeUndefined();
    const withRV = await apiStatus(
      core.listPodForAllNamespaces({ limit: 1, _continue: sel.metadata?._continue, resourceVersion: '5' }),
    );
    expect(withRV).toMatchObject({
      httpCode: 400,
      message: 'specifying resource version is not allowed when using continue',
    });
    const garbage = await apiStatus(core.listPodForAllNamespaces({ limit: 1, _continue: 'not-a-token' }));
    expect(garbage).toMatchObject({ httpCode: 400, reason: 'BadRequest' });
    const dotdot = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: 5, start: '../x' })).toString(
      'base64url',
    );
    expect((await apiStatus(core.listPodForAllNamespaces({ limit: 1, _continue: dotdot }))).httpCode).toBe(
      400,
    );
  });

  it('answers 410 Expired for a continue token whose snapshot was compacted', async () => {
    const page = await core.listNamespacedPod({ namespace: 'default', limit: 1 });
    await core.createNamespacedPod({ namespace: 'default', body: testPod('later') });
    emu.store.compact();
    const s = await apiStatus(
      core.listNamespacedPod({ namespace: 'default', limit: 1, _continue: page.metadata?._continue }),
    );
    expect(s).toMatchObject({ httpCode: 410, reason: 'Expired', code: 410 });
    expect(s.message).toContain('The provided continue parameter is too old');
  });
});

describe('list resourceVersion semantics', () => {
  it('"0" is served from the cache and ignores limit; a future resourceVersion is 504 Too large', async () => {
    const any = await core.listNamespacedPod({ namespace: 'default', resourceVersion: '0', limit: 1 });
    expect(any.items.length).toBeGreaterThan(1);
    expect(any.metadata?._continue).toBeFalsy();
    const future = await apiStatus(
      core.listNamespacedPod({
        namespace: 'default',
        resourceVersion: String(emu.store.resourceVersion + 100),
      }),
    );
    expect(future).toMatchObject({
      httpCode: 504,
      reason: 'Timeout',
      details: { causes: [{ reason: 'ResourceVersionTooLarge' }] },
    });
  });

  it('an exact resourceVersion lists the past; once compacted it is 410', async () => {
    const before = emu.store.resourceVersion;
    await core.createNamespacedPod({ namespace: 'default', body: testPod('exact') });
    const then = await core.listNamespacedPod({
      namespace: 'default',
      resourceVersion: String(before),
      resourceVersionMatch: 'Exact',
    });
    expect(then.items.map((p) => p.metadata?.name)).not.toContain('exact');
    expect(then.metadata?.resourceVersion).toBe(String(before));
    const notOlder = await core.listNamespacedPod({ namespace: 'default', resourceVersion: String(before) });
    expect(notOlder.items.map((p) => p.metadata?.name)).toContain('exact');
    emu.store.compact();
    const gone = await apiStatus(
      core.listNamespacedPod({ namespace: 'default', resourceVersion: String(before), limit: 10 }),
    );
    expect(gone).toMatchObject({
      httpCode: 410,
      reason: 'Expired',
      message: 'The resourceVersion for the provided list is too old.',
    });
    const noRV = await apiStatus(
      core.listNamespacedPod({ namespace: 'default', resourceVersionMatch: 'Exact' }),
    );
    expect(noRV.httpCode).toBe(400);
  });
});
