// The emulator against the real kube-apiserver: the same requests, in the same order, to both, and the answers
// compared after only what must differ is normalised (uids, resourceVersions, timestamps, managedFields, key
// order, continue tokens). Every case here was a disagreement once or is what the daemon relies on; the
// emulator's own tests (test/support/kube) pin the same behaviour without a real server.
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeBackend, startKubeBackend } from './backend.ts';
import { apiRequest } from './request.ts';

interface Req {
  label: string;
  method: string;
  path: string;
  body?: unknown;
  type?: string;
  /** Send it as the daemon's service account (in-cluster token, the deployment's ClusterRole). */
  sa?: boolean;
}

const VOLATILE = new Set([
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'deletionTimestamp',
  'time',
  'firstTimestamp',
  'lastTimestamp',
  'eventTime',
  'selfLink',
]);

/** Sorted keys, volatile values replaced, managedFields dropped (the emulator's are approximate: README). */
function normalise(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return key === 'paths' ? '<path index>' : v.map((x) => normalise(x));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (k === 'managedFields') continue;
      if (VOLATILE.has(k) && x !== null && x !== undefined) out[k] = `<${k}>`;
      else if (k === 'continue' && typeof x === 'string' && x !== '') out[k] = '<token>';
      else out[k] = normalise(x, k);
    }
    return out;
  }
  if (typeof v === 'string' && (key === 'message' || key === 'serverAddress')) {
    return (
      v
        // The real message goes on with a go-cmp diff of the PodSpec after its first line.
        .split('\n')[0]
        ?.replace(/current: \d+/, 'current: <rv>')
        .replace(/127\.0\.0\.1:\d+/, '127.0.0.1:<port>')
    );
  }
  return v;
}

let emu: KubeBackend;
let real: KubeBackend;
let dir: string;

async function send(b: KubeBackend, r: Req): Promise<string> {
  const token = r.sa ? (b.serviceAccount?.token ?? '') : b.adminToken;
  const res = await apiRequest({ url: b.url, caPem: b.caPem ?? '', token }, r.method, r.path, r.body, {
    ...(r.type ? { contentType: r.type } : {}),
  });
  const body =
    res.json === undefined ? JSON.stringify(res.text) : JSON.stringify(normalise(res.json), null, 1);
  return `${res.status} ${body}`;
}

/** Sends each request to both backends at once and expects the same answer. */
async function same(...reqs: Req[]): Promise<void> {
  for (const r of reqs) {
    const [e, k] = await Promise.all([send(emu, r), send(real, r)]);
    expect(e, `${r.label}: emulator (left) vs kube-apiserver (right)`).toBe(k);
  }
}

const POD = '/api/v1/namespaces/default/pods';
const NAD = '/apis/k8s.cni.cncf.io/v1/namespaces/default/network-attachment-definitions';
const MERGE = 'application/merge-patch+json';
const JSONPATCH = 'application/json-patch+json';
const SMP = 'application/strategic-merge-patch+json';

const pod = (name: string, nodeName?: string, meta: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, ...meta },
  spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'busybox' }] },
});
const nad = (name: string, spec?: unknown) => ({
  apiVersion: 'k8s.cni.cncf.io/v1',
  kind: 'NetworkAttachmentDefinition',
  metadata: { name },
  ...(spec === undefined ? {} : { spec }),
});
const event = (name: string, involved: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name },
  involvedObject: involved,
  reason: 'AddedInterface',
  message: 'Add net1 [10.1.1.2/24] from default/mv',
  type: 'Normal',
  source: { component: 'multus' },
  ...extra,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'multus-ts-conformance-'));
  // One after the other, so a failing start never leaves the other running unseen by afterAll.
  emu = await startKubeBackend('emulator', { dir: await mkdtemp(join(dir, 'e-')), inCluster: true });
  real = await startKubeBackend('apiserver', { dir: await mkdtemp(join(dir, 'r-')) });
}, 120_000);

afterAll(async () => {
  await emu?.close();
  await real?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the emulator answers as kube-apiserver 1.20 does', () => {
  it('pods: create, defaults, validation, status patch by the service account, RBAC denials', async () => {
    await same(
      {
        label: 'create bound, status dropped',
        method: 'POST',
        path: POD,
        body: { ...pod('p1', 'node-1'), status: { phase: 'Running' } },
      },
      { label: 'create again', method: 'POST', path: POD, body: pod('p1') },
      { label: 'missing namespace', method: 'POST', path: '/api/v1/namespaces/nope/pods', body: pod('p') },
      { label: 'bad name', method: 'POST', path: POD, body: pod('Bad_Name') },
      { label: 'no containers', method: 'POST', path: POD, body: { ...pod('p0'), spec: {} } },
      {
        label: 'namespace mismatch',
        method: 'POST',
        path: POD,
        body: pod('p', undefined, { namespace: 'kube-system' }),
      },
      { label: 'get', method: 'GET', path: `${POD}/p1` },
      { label: 'get missing', method: 'GET', path: `${POD}/nope` },
      { label: 'list by node', method: 'GET', path: '/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1' },
      {
        label: 'network-status patch (SA)',
        method: 'PATCH',
        path: `${POD}/p1/status`,
        sa: true,
        type: MERGE,
        body: { metadata: { annotations: { 'k8s.v1.cni.cncf.io/network-status': '[]' } } },
      },
      { label: 'get (SA)', method: 'GET', path: `${POD}/p1`, sa: true },
      {
        label: 'patch pod (SA, forbidden)',
        method: 'PATCH',
        path: `${POD}/p1`,
        sa: true,
        type: MERGE,
        body: { metadata: {} },
      },
      { label: 'list nodes (SA, forbidden)', method: 'GET', path: '/api/v1/nodes', sa: true },
      {
        label: 'create NAD (SA, forbidden)',
        method: 'POST',
        path: NAD,
        sa: true,
        body: nad('x', { config: '{}' }),
      },
      { label: 'non-resource path (SA, forbidden)', method: 'GET', path: '/nope', sa: true },
      {
        label: 'move to another node',
        method: 'PATCH',
        path: `${POD}/p1`,
        type: MERGE,
        body: { spec: { nodeName: 'node-2' } },
      },
    );
  });

  it('patches: content types, undecodable bodies, JSON patches that do not apply, strategic merge errors', async () => {
    await same(
      { label: 'text/plain', method: 'PATCH', path: `${POD}/p1`, type: 'text/plain', body: '{}' },
      { label: 'application/json', method: 'PATCH', path: `${POD}/p1`, type: 'application/json', body: '{}' },
      { label: 'merge: not JSON', method: 'PATCH', path: `${POD}/p1`, type: MERGE, body: '{"metadata":' },
      { label: 'merge: array', method: 'PATCH', path: `${POD}/p1`, type: MERGE, body: '[1]' },
      { label: 'json: not JSON', method: 'PATCH', path: `${POD}/p1`, type: JSONPATCH, body: '{x' },
      { label: 'json: not a list', method: 'PATCH', path: `${POD}/p1`, type: JSONPATCH, body: { op: 'add' } },
      {
        label: 'json: failed test',
        method: 'PATCH',
        path: `${POD}/p1`,
        type: JSONPATCH,
        body: [{ op: 'test', path: '/metadata/name', value: 'x' }],
      },
      {
        label: 'json: remove missing',
        method: 'PATCH',
        path: `${POD}/p1`,
        type: JSONPATCH,
        body: [{ op: 'remove', path: '/metadata/labels/x' }],
      },
      {
        label: 'json: unknown op',
        method: 'PATCH',
        path: `${POD}/p1`,
        type: JSONPATCH,
        body: [{ op: 'frob', path: '/metadata' }],
      },
      {
        label: 'json: replace missing member adds it',
        method: 'PATCH',
        path: `${POD}/p1`,
        type: JSONPATCH,
        body: [{ op: 'replace', path: '/metadata/labels', value: { a: 'b' } }],
      },
      { label: 'smp: not JSON', method: 'PATCH', path: `${POD}/p1`, type: SMP, body: '{x' },
      { label: 'smp: array', method: 'PATCH', path: `${POD}/p1`, type: SMP, body: '[1]' },
      {
        label: 'smp: unknown directive',
        method: 'PATCH',
        path: `${POD}/p1`,
        type: SMP,
        body: { metadata: { $patch: 'frob' } },
      },
      {
        label: 'smp: item without merge key',
        method: 'PATCH',
        path: `${POD}/p1`,
        type: SMP,
        body: { spec: { containers: [{ image: 'x' }] } },
      },
      {
        label: 'rv precondition',
        method: 'PATCH',
        path: `${POD}/p1`,
        type: MERGE,
        body: { metadata: { resourceVersion: '1', labels: { m: 'n' } } },
      },
    );
  });

  it('request bodies that are not objects, and unknown paths', async () => {
    await same(
      { label: 'cut off', method: 'POST', path: POD, body: '{"a":' },
      { label: 'array', method: 'POST', path: POD, body: '[1]' },
      { label: 'empty', method: 'POST', path: POD, body: '' },
      ...[
        '{"a":1,}',
        '{"a" 1}',
        'nul',
        '"str"',
        '123',
        '{"a":"\\x"}',
        '{"a":[1 2]}',
        '{"a":-}',
        '{"a":1.}',
        '{} x',
        'tru',
        '{"a":"\\u12',
        '{"a":1e',
        '-',
        '{"a":"x',
        '{"a":"\u0001"}',
      ].map((body): Req => ({ label: `body ${body}`, method: 'POST', path: POD, body })),
      { label: 'stray character (NAD)', method: 'POST', path: NAD, body: '{x' },
      { label: 'binding body', method: 'POST', path: `${POD}/p1/binding`, body: '{x' },
      { label: 'unknown resource', method: 'GET', path: '/api/v1/foos' },
      { label: 'unknown core version', method: 'GET', path: '/api/v2/pods' },
      { label: 'unknown group', method: 'GET', path: '/apis/unknown.example.com/v1/things' },
      { label: 'outside the APIs', method: 'GET', path: '/nope' },
    );
  });

  it('selectors: the server grammar and its error texts', async () => {
    const list = (label: string, q: string): Req => ({ label, method: 'GET', path: `/api/v1/pods?${q}` });
    const labels = [
      'a===',
      'a in (',
      '!',
      'a,,b',
      ',a',
      'a=b=c',
      '!a=b',
      'a notin b',
      'a in (a b)',
      'a!',
      'Bad Key=v',
      'n>x',
      'n>-5',
      '-bad=x',
      'a/b/c',
      `k=${'v'.repeat(64)}`,
      'a in (,)',
      'in',
      'a>1,b',
      '  ',
    ];
    const fields = [
      'spec.foo=x',
      'spec.nodeName=n,',
      ' spec.nodeName=n',
      '  ',
      'spec.nodeName=a\\x',
      'spec.nodeName=a\\',
      'a=b!=c',
      '=x',
      'zz=1,aa=2',
      'spec.nodeName',
    ];
    await same(
      ...labels.map((s) =>
        list(`labelSelector ${JSON.stringify(s)}`, `labelSelector=${encodeURIComponent(s)}`),
      ),
      ...fields.map((s) =>
        list(`fieldSelector ${JSON.stringify(s)}`, `fieldSelector=${encodeURIComponent(s)}`),
      ),
    );
  });

  it('events as the daemon sends them, and core v1 validation', async () => {
    const events = '/api/v1/namespaces/default/events';
    await same(
      {
        label: 'event (SA)',
        method: 'POST',
        path: events,
        sa: true,
        body: event('e1', { kind: 'Pod', namespace: 'default', name: 'p1', apiVersion: 'v1' }),
      },
      {
        label: 'namespace mismatch',
        method: 'POST',
        path: events,
        body: event('e2', { kind: 'Pod', namespace: 'other', name: 'p1' }),
      },
      {
        label: 'list by involved object',
        method: 'GET',
        path: `${events}?fieldSelector=involvedObject.name%3Dp1`,
      },
      { label: 'delete: a Status without code', method: 'DELETE', path: `${events}/e1` },
    );
  });

  it('NADs: the CRD from deployments/ (pruning, validation, list metadata, 415, update rules, delete)', async () => {
    await same(
      {
        label: 'create (unknown fields pruned)',
        method: 'POST',
        path: NAD,
        body: { ...nad('n1', { config: '{"cniVersion":"0.3.1","type":"macvlan"}', extra: 1 }), junk: true },
      },
      { label: 'config not a string', method: 'POST', path: NAD, body: nad('n2', { config: { a: 1 } }) },
      { label: 'no spec (no managedFields either)', method: 'POST', path: NAD, body: nad('n3') },
      { label: 'list', method: 'GET', path: NAD },
      {
        label: 'list all namespaces',
        method: 'GET',
        path: '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions',
      },
      { label: 'list page', method: 'GET', path: `${NAD}?limit=1` },
      { label: 'strategic merge patch', method: 'PATCH', path: `${NAD}/n1`, type: SMP, body: { spec: {} } },
      { label: 'text/plain patch', method: 'PATCH', path: `${NAD}/n1`, type: 'text/plain', body: '{}' },
      {
        label: 'update without resourceVersion',
        method: 'PUT',
        path: `${NAD}/n1`,
        body: nad('n1', { config: '{}' }),
      },
      { label: 'delete', method: 'DELETE', path: `${NAD}/n1` },
      { label: 'get deleted', method: 'GET', path: `${NAD}/n1` },
      {
        label: 'finalizer',
        method: 'POST',
        path: NAD,
        body: { ...nad('nf'), metadata: { name: 'nf', finalizers: ['x/y'] } },
      },
      { label: 'delete with finalizer (generation bumped)', method: 'DELETE', path: `${NAD}/nf` },
    );
  });

  it('deletion: pods marked before they go, grace periods only shrink, terminating namespaces', async () => {
    await same(
      { label: 'unbound', method: 'POST', path: POD, body: pod('unbound') },
      { label: 'bound', method: 'POST', path: POD, body: pod('bound', 'node-1') },
      { label: 'delete unbound (marked, then gone)', method: 'DELETE', path: `${POD}/unbound` },
      { label: 'delete bound (graceful)', method: 'DELETE', path: `${POD}/bound` },
      { label: 'delete again (no change)', method: 'DELETE', path: `${POD}/bound` },
      {
        label: 'status patch while terminating',
        method: 'PATCH',
        path: `${POD}/bound/status`,
        type: MERGE,
        body: { metadata: { annotations: { a: 'b' } } },
      },
      {
        label: 'bind while terminating',
        method: 'POST',
        path: `${POD}/bound/binding`,
        body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'bound' }, target: { name: 'node-2' } },
      },
      { label: 'shorten', method: 'DELETE', path: `${POD}/bound`, body: { gracePeriodSeconds: 10 } },
      { label: 'grace 0', method: 'DELETE', path: `${POD}/bound`, body: { gracePeriodSeconds: 0 } },
      { label: 'delete missing', method: 'DELETE', path: `${POD}/bound` },
      {
        label: 'namespace',
        method: 'POST',
        path: '/api/v1/namespaces',
        body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tmp-ns' } },
      },
      { label: 'delete namespace', method: 'DELETE', path: '/api/v1/namespaces/tmp-ns' },
      {
        label: 'pod in terminating namespace',
        method: 'POST',
        path: '/api/v1/namespaces/tmp-ns/pods',
        body: pod('q'),
      },
    );
  });

  it('resourceVersion semantics of LIST: future versions, exact reads, pages', async () => {
    await same(
      {
        label: 'future, exact',
        method: 'GET',
        path: '/api/v1/pods?resourceVersion=99999999&resourceVersionMatch=Exact',
      },
      { label: 'future, with limit', method: 'GET', path: '/api/v1/pods?resourceVersion=99999999&limit=5' },
      {
        label: 'future, not older than (waits 3 s)',
        method: 'GET',
        path: '/api/v1/pods?resourceVersion=99999999',
      },
      { label: 'page', method: 'GET', path: `${POD}?limit=1` },
    );
  });
});

/** Event types and names of a watch until it ends (timeoutSeconds); BOOKMARKs as `BOOKMARK <newest>`. */
function watchLog(b: KubeBackend, path: string, during: () => Promise<void>): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const log: string[] = [];
    const req = httpsRequest(
      new URL(path, b.url),
      { ca: b.caPem ?? '', headers: { authorization: `Bearer ${b.adminToken}` } },
      (res) => {
        let buf = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          buf += d;
          for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
            const e = JSON.parse(buf.slice(0, nl)) as {
              type: string;
              object: { metadata?: Record<string, unknown> };
            };
            buf = buf.slice(nl + 1);
            const m = e.object.metadata ?? {};
            const grace = m['deletionGracePeriodSeconds'];
            // The real watch cache may send its pre-timeout bookmark twice in a row (timer buckets): count one.
            if (e.type === 'BOOKMARK' && log.at(-1) === 'BOOKMARK') continue;
            log.push(
              e.type === 'BOOKMARK'
                ? 'BOOKMARK'
                : `${e.type} ${m['name']}${grace === undefined ? '' : ` grace=${grace}`}`,
            );
          }
        });
        res.on('end', () => resolve(log));
        void during().catch(reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('watches as the informers see them', () => {
  it('a node-filtered pod watch: binding, status patch, graceful deletion, and a bookmark before the timeout', async () => {
    const run = async (b: KubeBackend) => {
      const r = (method: string, path: string, body?: unknown, type?: string) =>
        apiRequest(
          { url: b.url, caPem: b.caPem ?? '', token: b.adminToken },
          method,
          path,
          body,
          type ? { contentType: type } : {},
        );
      const list = await r('GET', '/api/v1/pods');
      const rv = (list.json as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
      return watchLog(
        b,
        `/api/v1/pods?watch=1&resourceVersion=${rv}&allowWatchBookmarks=true&timeoutSeconds=5&fieldSelector=spec.nodeName%3Dnode-w`,
        async () => {
          await r('POST', POD, pod('w1', 'node-w'));
          await r('POST', POD, pod('w2'));
          await r('POST', `${POD}/w2/binding`, {
            apiVersion: 'v1',
            kind: 'Binding',
            metadata: { name: 'w2' },
            target: { name: 'node-w' },
          });
          await r('PATCH', `${POD}/w1/status`, { metadata: { annotations: { a: 'b' } } }, MERGE);
          await r('DELETE', `${POD}/w1`);
          await r('DELETE', `${POD}/w1`, { gracePeriodSeconds: 0 });
          await r('DELETE', `${POD}/w2`, { gracePeriodSeconds: 0 });
        },
      );
    };
    const [e, k] = await Promise.all([run(emu), run(real)]);
    expect(e).toEqual(k);
    expect(k).toEqual([
      'ADDED w1',
      'ADDED w2',
      'MODIFIED w1',
      'MODIFIED w1 grace=30',
      'MODIFIED w1 grace=0',
      'DELETED w1 grace=0',
      'MODIFIED w2 grace=0',
      'DELETED w2 grace=0',
      'BOOKMARK',
    ]);
  });
});
