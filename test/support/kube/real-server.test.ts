// Behaviour where the emulator used to disagree with a real kube-apiserver 1.20.2 (issue 12), pinned here
// without one. test/support/apiserver/conformance.test.ts sends the same requests to both servers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeEmulator, startKubeEmulator } from './emulator.ts';
import { pods } from './resources.ts';
import { openWatch, raw, testPod } from './test-helpers.ts';

let emu: KubeEmulator;
const NAD = '/apis/k8s.cni.cncf.io/v1/namespaces/default/network-attachment-definitions';
const nad = (name: string, meta: Record<string, unknown> = {}) =>
  JSON.stringify({
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name, ...meta },
  });

beforeAll(async () => {
  emu = await startKubeEmulator();
});
afterAll(() => emu.close());

describe('LIST of a resourceVersion the server has not reached', () => {
  it('an exact read (Exact, or with limit) is etcd refusing a future revision: 500 without a reason', async () => {
    const future = emu.store.resourceVersion + 1000;
    for (const q of [
      `resourceVersion=${future}&resourceVersionMatch=Exact`,
      `resourceVersion=${future}&limit=2`,
    ]) {
      const r = await raw(emu, 'GET', `/api/v1/pods?${q}`);
      expect(r.json, q).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'etcdserver: mvcc: required revision is a future revision',
        code: 500,
      });
    }
  });

  it('a not-older-than read waits for the version (3 s) and answers once a write brings it', async () => {
    const next = emu.store.resourceVersion + 1;
    const pending = raw(emu, 'GET', `/api/v1/pods?resourceVersion=${next}`);
    await new Promise((r) => setTimeout(r, 200));
    emu.store.create(pods, 'default', testPod('brings-it'));
    const r = await pending;
    expect(r.status).toBe(200);
    expect(
      (r.json as { items: { metadata: { name: string } }[] }).items.map((p) => p.metadata.name),
    ).toContain('brings-it');
  });

  it('and otherwise times out with 504 "Timeout: Too large resource version"', async () => {
    const future = emu.store.resourceVersion + 1000;
    const r = await raw(emu, 'GET', `/api/v1/pods?resourceVersion=${future}`);
    expect(r.status).toBe(504);
    expect(r.json).toMatchObject({
      reason: 'Timeout',
      message: `Timeout: Too large resource version: ${future}, current: ${emu.store.resourceVersion}`,
      details: { causes: [{ reason: 'ResourceVersionTooLarge' }], retryAfterSeconds: 1 },
    });
  });
});

describe('custom resources', () => {
  it('a list always carries metadata.continue ("" on the last page)', async () => {
    const r = await raw(emu, 'GET', NAD);
    expect((r.json as { metadata: Record<string, unknown> }).metadata).toEqual({
      continue: '',
      resourceVersion: String(emu.store.resourceVersion),
    });
  });

  it('an object created with nothing to manage has no managedFields', async () => {
    const r = await raw(emu, 'POST', NAD, { body: nad('bare'), contentType: 'application/json' });
    expect(r.status).toBe(201);
    expect((r.json as { metadata: Record<string, unknown> }).metadata.managedFields).toBeUndefined();
  });

  it('DELETE of one kept by a finalizer answers the object (generation bumped, grace 0), not a Status', async () => {
    await raw(emu, 'POST', NAD, {
      body: nad('kept', { finalizers: ['x/y'] }),
      contentType: 'application/json',
    });
    const r = await raw(emu, 'DELETE', `${NAD}/kept`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      kind: 'NetworkAttachmentDefinition',
      metadata: { name: 'kept', generation: 2, deletionGracePeriodSeconds: 0, finalizers: ['x/y'] },
    });
  });

  it('an update without resourceVersion names the resource, not the kind', async () => {
    await raw(emu, 'POST', NAD, { body: nad('upd'), contentType: 'application/json' });
    const r = await raw(emu, 'PUT', `${NAD}/upd`, { body: nad('upd'), contentType: 'application/json' });
    expect(r.json).toMatchObject({
      code: 422,
      message:
        'network-attachment-definitions.k8s.cni.cncf.io "upd" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
      details: { kind: 'network-attachment-definitions', group: 'k8s.cni.cncf.io' },
    });
  });
});

describe('request bodies that are not JSON objects', () => {
  it('are refused with the decoder error, Go wording and a summary of the body', async () => {
    const cases: Array<[string, string, string]> = [
      ['/api/v1/namespaces/default/pods', '{"a":', 'unexpected end of JSON input ({"a":)'],
      ['/api/v1/namespaces/default/pods', '', 'unexpected end of JSON input (<empty>)'],
      [
        '/api/v1/namespaces/default/pods',
        '[1]',
        'json: cannot unmarshal array into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" } (5b315d)',
      ],
      [NAD, '{x', "invalid character 'x' looking for beginning of object key string ({x)"],
      [
        '/api/v1/namespaces/default/pods/p/binding',
        '{"a":1,}',
        'invalid character \'}\' looking for beginning of object key string ({"a":1,})',
      ],
    ];
    for (const [path, body, tail] of cases) {
      const kind = path.endsWith('binding')
        ? 'Binding'
        : path === NAD
          ? 'NetworkAttachmentDefinition'
          : 'Pod';
      const r = await raw(emu, 'POST', path, { body, contentType: 'application/json' });
      expect(r.json, body).toMatchObject({
        code: 400,
        reason: 'BadRequest',
        message: `the object provided is unrecognized (must be of type ${kind}): couldn't get version/kind; json parse error: ${tail}`,
      });
    }
  });
});

describe('pods on their way out', () => {
  it('a terminating pod cannot be bound', async () => {
    emu.store.create(pods, 'default', testPod('leaving'));
    emu.store.create(pods, 'default', {
      ...testPod('leaving-f'),
      metadata: { name: 'leaving-f', finalizers: ['x/y'] },
    });
    await raw(emu, 'DELETE', '/api/v1/namespaces/default/pods/leaving-f');
    const r = await raw(emu, 'POST', '/api/v1/namespaces/default/pods/leaving-f/binding', {
      body: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: 'leaving-f' },
        target: { name: 'n1' },
      }),
      contentType: 'application/json',
    });
    expect(r.json).toMatchObject({
      code: 409,
      reason: 'Conflict',
      message:
        'Operation cannot be fulfilled on pods/binding "leaving-f": pod leaving-f is being deleted, cannot be assigned to a host',
    });
  });
});

describe('bookmarks', () => {
  it('the watch cache sends one 2 s before the timeout, none at the end, and none on a watch of 2 s or less', async () => {
    const rv = emu.store.resourceVersion;
    const long = await openWatch(
      emu,
      `/api/v1/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=3&resourceVersion=${rv}`,
    );
    const short = await openWatch(
      emu,
      `/api/v1/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=2&resourceVersion=${rv}`,
    );
    emu.store.create(pods, 'default', testPod('bm-long'));
    const seen = async (w: typeof long) => {
      const out: string[] = [];
      for (let e = await w.next(5000); e; e = await w.next(5000)) out.push(e.type);
      return out;
    };
    const [longEvents, shortEvents] = await Promise.all([seen(long), seen(short)]);
    expect(longEvents).toEqual(['ADDED', 'BOOKMARK']);
    expect(shortEvents).toEqual(['ADDED']);
    expect(await long.ended).toBe('end');
  });
});
