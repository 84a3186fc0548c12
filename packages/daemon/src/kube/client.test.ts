// The daemon's own Kubernetes client against the API emulator (test/support/kube): requests, errors, the
// informer's list + watch, and its recovery from dropped watches, 410 Gone and an API server that goes away.
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type KubeEmulator, RESOURCES, startKubeEmulator } from '../../../../test/support/kube/index.ts';
import { inClusterTarget, kubeconfigTarget } from './config.ts';
import { KubeApiError, KubeClient } from './http.ts';
import { type KubeObject, TrimmedInformer } from './informer.ts';

let emu: KubeEmulator;
let client: KubeClient;
let dir: string;

beforeEach(async () => {
  emu = await startKubeEmulator({ autoNamespaces: true });
  client = new KubeClient({ server: emu.url, insecureSkipTlsVerify: false, token: () => emu.token });
  dir = mkdtempSync(join(tmpdir(), 'mts-kube-'));
});
afterEach(async () => {
  client.close();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

const pod = (name: string, node: string) => ({
  metadata: { name, namespace: 'default' },
  spec: { nodeName: node, containers: [{ name: 'c', image: 'x' }] },
});
const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

function podInformer() {
  return new TrimmedInformer<string>({
    name: 'pods',
    client,
    path: '/api/v1/pods',
    fieldSelector: 'spec.nodeName=n1',
    trim: (o: KubeObject) => o.metadata?.name,
    maxBackoffMs: 200,
  });
}

describe('KubeClient', () => {
  it('creates, gets and merge-patches with the bearer token, and maps API errors to KubeApiError', async () => {
    await client.request('POST', '/api/v1/namespaces/default/pods', { body: pod('a', 'n1') });
    await client.request('PATCH', '/api/v1/namespaces/default/pods/a/status', {
      body: { metadata: { annotations: { k: 'v' } } },
      contentType: 'application/merge-patch+json',
    });
    const got = await client.request<KubeObject>('GET', '/api/v1/namespaces/default/pods/a');
    expect((got.metadata as { annotations?: Record<string, string> }).annotations).toEqual({ k: 'v' });
    await expect(client.request('GET', '/api/v1/namespaces/default/pods/nope')).rejects.toMatchObject({
      code: 404,
    });
    const anonymous = new KubeClient({
      server: emu.url,
      insecureSkipTlsVerify: false,
      token: () => undefined,
    });
    await expect(anonymous.request('GET', '/api/v1/pods')).rejects.toBeInstanceOf(KubeApiError);
    anonymous.close();
  });
});

describe('TrimmedInformer', () => {
  it("lists and watches only this node's pods: add, update, delete", async () => {
    await client.request('POST', '/api/v1/namespaces/default/pods', { body: pod('a', 'n1') });
    await client.request('POST', '/api/v1/namespaces/default/pods', { body: pod('other', 'n2') });
    const inf = podInformer();
    inf.start();
    try {
      expect(await inf.waitForSync(5000)).toBe(true);
      expect([...inf.values()]).toEqual(['a']);
      await client.request('POST', '/api/v1/namespaces/default/pods', { body: pod('b', 'n1') });
      await until(() => inf.get('default', 'b') === 'b');
      await client.request('DELETE', '/api/v1/namespaces/default/pods/a', {
        query: { gracePeriodSeconds: '0' },
      });
      await until(() => inf.get('default', 'a') === undefined);
      expect(inf.size).toBe(1);
    } finally {
      await inf.stop();
    }
  });

  it('recovers by itself from dropped watches, a 410 Gone, and an API server that was down', async () => {
    const inf = podInformer();
    inf.start();
    try {
      await inf.waitForSync(5000);
      emu.faults.dropWatches({ abrupt: true });
      await client.request('POST', '/api/v1/namespaces/default/pods', { body: pod('after-drop', 'n1') });
      await until(() => inf.get('default', 'after-drop') !== undefined);

      emu.faults.goneNext(1, { verb: 'watch' });
      emu.faults.dropWatches({ abrupt: false });
      await client.request('POST', '/api/v1/namespaces/default/pods', { body: pod('after-gone', 'n1') });
      await until(() => inf.get('default', 'after-gone') !== undefined);

      await emu.faults.down();
      await new Promise((r) => setTimeout(r, 300));
      await emu.faults.up();
      await client.request('DELETE', '/api/v1/namespaces/default/pods/after-drop', {
        query: { gracePeriodSeconds: '0' },
      });
      await client.request('POST', '/api/v1/namespaces/default/pods', { body: pod('after-down', 'n1') });
      await until(
        () =>
          inf.get('default', 'after-down') !== undefined && inf.get('default', 'after-drop') === undefined,
      );
      expect(inf.state.restarts).toBeGreaterThan(0);
    } finally {
      await inf.stop();
    }
  });
});

describe('TrimmedInformer lists in pages', () => {
  it('caches every object of a paged LIST, one request per page, and relists when a continue token expired', async () => {
    for (const name of ['a', 'b', 'c', 'd', 'e']) {
      await client.request('POST', '/api/v1/namespaces/default/pods', { body: pod(name, 'n1') });
    }
    await client.request('POST', '/api/v1/namespaces/default/pods', { body: pod('elsewhere', 'n2') });
    const lists: (number | 'error')[] = [];
    let compactOnce = true;
    const inf = new TrimmedInformer<string>({
      name: 'pods',
      client,
      path: '/api/v1/pods',
      fieldSelector: 'spec.nodeName=n1',
      trim: (o: KubeObject) => o.metadata?.name,
      maxBackoffMs: 200,
      listPageSize: 2,
      onRequest: (verb, code) => {
        if (verb !== 'list') return;
        lists.push(code);
        // After the first page: a write, then an etcd compaction, make the page's continue token too old.
        if (compactOnce) {
          compactOnce = false;
          emu.store.seed([{ apiVersion: 'v1', kind: 'Pod', ...pod('late', 'n2') }]);
          emu.store.compact();
        }
      },
    });
    inf.start();
    try {
      expect(await inf.waitForSync(5000)).toBe(true);
      expect([...inf.values()].sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
      // Page 1, page 2 refused (410 Expired), then a fresh LIST of three pages.
      expect(lists).toEqual([200, 410, 200, 200, 200]);
      expect(inf.state.synced).toBe(true);
    } finally {
      await inf.stop();
    }
  });

  it('a paged relist drops objects deleted while the watch was gone', async () => {
    for (const name of ['a', 'b', 'c']) {
      await client.request('POST', '/api/v1/namespaces/default/pods', { body: pod(name, 'n1') });
    }
    let lists = 0;
    const inf = new TrimmedInformer<string>({
      name: 'pods',
      client,
      path: '/api/v1/pods',
      fieldSelector: 'spec.nodeName=n1',
      trim: (o: KubeObject) => o.metadata?.name,
      maxBackoffMs: 200,
      listPageSize: 1,
      onRequest: (verb) => {
        if (verb === 'list') lists++;
      },
    });
    inf.start();
    try {
      expect(await inf.waitForSync(5000)).toBe(true);
      expect(lists).toBe(3);
      // Deleted while the daemon cannot reach the API server, and the history compacted: the watch from the last
      // resourceVersion is refused (410), so only a relist can notice.
      await emu.faults.down();
      const podsDef = RESOURCES.find((d) => d.group === '' && d.kind === 'Pod');
      if (!podsDef) throw new Error('the emulator has no pods resource');
      emu.store.delete(podsDef, 'default', 'b', { gracePeriodSeconds: 0 });
      emu.store.compact();
      await emu.faults.up();
      await until(() => inf.get('default', 'b') === undefined);
      expect([...inf.values()].sort()).toEqual(['a', 'c']);
      expect(lists).toBe(5);
    } finally {
      await inf.stop();
    }
  });
});

describe('credentials', () => {
  it('reads a kubeconfig in JSON or YAML, relative paths from its directory, and refuses exec plugins', async () => {
    writeFileSync(join(dir, 'ca.crt'), 'CA');
    const yaml = `apiVersion: v1
kind: Config
current-context: c
clusters: [{name: k, cluster: {server: "https://10.0.0.1:6443/", certificate-authority: ca.crt}}]
users: [{name: u, user: {token: t0k}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
`;
    writeFileSync(join(dir, 'kc.yaml'), yaml);
    const t = await kubeconfigTarget(join(dir, 'kc.yaml'));
    expect(t.server).toBe('https://10.0.0.1:6443');
    expect(t.ca?.toString()).toBe('CA');
    expect(t.token()).toBe('t0k');
    writeFileSync(
      join(dir, 'exec.json'),
      JSON.stringify({
        'current-context': 'c',
        clusters: [{ name: 'k', cluster: { server: 'https://x' } }],
        users: [{ name: 'u', user: { exec: { command: 'aws' } } }],
        contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
      }),
    );
    await expect(kubeconfigTarget(join(dir, 'exec.json'))).rejects.toThrow(/exec and auth-provider/);
    writeFileSync(join(dir, 'nocontext.json'), JSON.stringify({ 'current-context': 'missing' }));
    await expect(kubeconfigTarget(join(dir, 'nocontext.json'))).rejects.toThrow(
      /context "missing" not found/,
    );
  });

  it('in-cluster: needs the service env, and re-reads a rotated token after a minute', () => {
    expect(() => inClusterTarget({}, dir)).toThrow(/not in a cluster/);
    writeFileSync(join(dir, 'ca.crt'), 'CA');
    writeFileSync(join(dir, 'token'), 'first\n');
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const t = inClusterTarget({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, dir);
      expect(t.server).toBe('https://[fd00::1]:443');
      expect(t.token()).toBe('first');
      writeFileSync(join(dir, 'token'), 'second\n');
      utimesSync(join(dir, 'token'), new Date(Date.now() + 5000), new Date(Date.now() + 5000));
      expect(t.token(), 'cached within the minute').toBe('first');
      vi.setSystemTime(Date.now() + 61_000);
      expect(t.token()).toBe('second');
    } finally {
      vi.useRealTimers();
    }
  });
});
