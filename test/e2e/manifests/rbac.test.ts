// The ClusterRole grants exactly what multus-daemon uses. Statically: every Kubernetes API call found in
// packages/daemon/src (all of them must live in kube/) maps through the table below to (apiGroup, resource,
// verb), and that set must equal the role's. Dynamically: the real daemon, given a token restricted to the
// role by the API emulator, serves a pod's ADD and DEL and a DEL for a vanished pod without a single 403, and
// uses every permission the role grants.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeHarness, type SandboxRef } from '../../support/daemon-harness.ts';
import { type PolicyRule, writeKubeconfig } from '../../support/kube/index.ts';
import { daemonSources, type FoundCall, type SourceFile, scanApiCalls } from './_api-calls.ts';
import { findObject, loadYamlObjects, PLAIN_MANIFEST, REPO_ROOT } from './_manifests.ts';

interface Permission {
  group: string;
  resource: string;
  verb: string;
}

/**
 * Every API call the daemon makes, keyed as the scan reports it (`<METHOD> <path>`, `{}` for interpolated
 * segments), and the permission the API server checks for it (its request-info rules: GET of a collection is
 * list, of a named object get; WATCH is watch; a path below the object names the subresource).
 */
const CALL_TABLE: Record<string, Permission> = {
  'GET /api/v1/pods': { group: '', resource: 'pods', verb: 'list' },
  'WATCH /api/v1/pods': { group: '', resource: 'pods', verb: 'watch' },
  'GET /api/v1/namespaces/{}/pods/{}': { group: '', resource: 'pods', verb: 'get' },
  'PATCH /api/v1/namespaces/{}/pods/{}/status': { group: '', resource: 'pods/status', verb: 'patch' },
  'POST /api/v1/namespaces/{}/events': { group: '', resource: 'events', verb: 'create' },
  'GET /apis/k8s.cni.cncf.io/v1/network-attachment-definitions': {
    group: 'k8s.cni.cncf.io',
    resource: 'network-attachment-definitions',
    verb: 'list',
  },
  'WATCH /apis/k8s.cni.cncf.io/v1/network-attachment-definitions': {
    group: 'k8s.cni.cncf.io',
    resource: 'network-attachment-definitions',
    verb: 'watch',
  },
};

/**
 * Calls of the per-node certificate flow (perNodeCertificate), made only with the bootstrap kubeconfig or the node's
 * own certificate, never with the multus service account: known to the scan, but not part of the ClusterRole. The
 * cluster grants them to the bootstrap and node identities (see docs/operations.md, "Per-node certificates").
 */
const NODE_IDENTITY_CALLS: ReadonlySet<string> = new Set([
  'POST /apis/certificates.k8s.io/v1/certificatesigningrequests',
  'GET /apis/certificates.k8s.io/v1/certificatesigningrequests/{}',
  'WATCH /apis/certificates.k8s.io/v1/certificatesigningrequests',
  'GET /version',
]);

const DAEMON_SRC = join(REPO_ROOT, 'packages/daemon/src');
const key = (p: Permission) => `${p.group || 'core'} ${p.resource} ${p.verb}`;

/** Problems between what the code calls and the table; derived permissions when there are none. */
function deriveFromCode(files: readonly SourceFile[]): { permissions: string[]; problems: string[] } {
  const scan = scanApiCalls(files);
  const problems = [...scan.problems];
  const seen = new Map<string, FoundCall[]>();
  for (const call of scan.calls) seen.set(call.key, [...(seen.get(call.key) ?? []), call]);
  for (const [k, calls] of seen) {
    if (!CALL_TABLE[k] && !NODE_IDENTITY_CALLS.has(k))
      problems.push(`${calls[0]?.where}: ${k} is not in the table: add the permission it needs`);
  }
  for (const k of [...Object.keys(CALL_TABLE), ...NODE_IDENTITY_CALLS]) {
    if (!seen.has(k)) problems.push(`table entry "${k}" is no longer called: remove it (and its permission)`);
  }
  const permissions = [
    ...new Set([...seen.keys()].flatMap((k) => (CALL_TABLE[k] ? [key(CALL_TABLE[k])] : []))),
  ];
  return { permissions: permissions.sort(), problems };
}

function rolePermissions(rules: readonly PolicyRule[]): string[] {
  const out = new Set<string>();
  for (const r of rules) {
    for (const group of r.apiGroups ?? ['']) {
      for (const resource of r.resources) for (const verb of r.verbs) out.add(key({ group, resource, verb }));
    }
  }
  return [...out].sort();
}

const role = findObject(loadYamlObjects(PLAIN_MANIFEST), 'ClusterRole', 'multus') as ReturnType<
  typeof findObject
> & { rules: (PolicyRule & { nonResourceURLs?: string[] })[] };

describe('ClusterRole multus, derived from the code', () => {
  const sources = daemonSources(DAEMON_SRC);

  it('finds the API calls in kube/ (the scan sees the code it must see)', () => {
    const scan = scanApiCalls(sources);
    expect(scan.problems).toEqual([]);
    expect(scan.calls.length).toBeGreaterThanOrEqual(Object.keys(CALL_TABLE).length);
    expect(scan.calls.every((c) => c.where.startsWith('kube/'))).toBe(true);
  });

  it('grants exactly the permissions the calls need: nothing missing, nothing more', () => {
    const derived = deriveFromCode(sources);
    expect(derived.problems).toEqual([]);
    expect(rolePermissions(role.rules)).toEqual(derived.permissions);
  });

  it('uses no wildcards, resourceNames or non-resource URLs', () => {
    for (const r of role.rules) {
      expect([...(r.apiGroups ?? []), ...r.resources, ...r.verbs]).not.toContain('*');
      expect(r.resourceNames).toBeUndefined();
      expect(r.nonResourceURLs).toBeUndefined();
    }
  });

  it('fails for a call the table does not know, a call outside kube/, another client, a stale entry', () => {
    const withNew = sources.map((f) =>
      f.path === 'kube/pods.ts'
        ? {
            ...f,
            text: `${f.text}\nvoid apis.client.request('DELETE', \`/api/v1/namespaces/\${seg(ns)}/pods/\${seg(n)}\`);\n`,
          }
        : f,
    );
    expect(deriveFromCode(withNew).problems).toEqual([
      expect.stringMatching(
        /^kube\/pods\.ts:\d+: DELETE \/api\/v1\/namespaces\/\{\}\/pods\/\{\} is not in the table/,
      ),
    ]);

    const outside = [
      ...sources,
      { path: 'engine/x.ts', text: "await deps.client.request('GET', '/api/v1/nodes');" },
    ];
    expect(deriveFromCode(outside).problems).toEqual(['engine/x.ts:1: API call GET outside kube/']);

    const informer = [
      ...sources,
      { path: 'kube/nodes.ts', text: "new TrimmedInformer<Node>({ name: 'nodes', path: '/api/v1/nodes' });" },
    ];
    expect(deriveFromCode(informer).problems).toEqual([
      'kube/nodes.ts:1: GET /api/v1/nodes is not in the table: add the permission it needs',
      'kube/nodes.ts:1: WATCH /api/v1/nodes is not in the table: add the permission it needs',
    ]);

    const generated = [
      ...sources,
      { path: 'kube/dra.ts', text: "import * as k8s from '@kubernetes/client-node';" },
    ];
    expect(deriveFromCode(generated).problems).toEqual([
      'kube/dra.ts:1: @kubernetes/client-node in use: its calls are not covered by the scan',
    ]);

    const computed = [...sources, { path: 'kube/x.ts', text: 'client.request(method, path);' }];
    expect(deriveFromCode(computed).problems).toEqual([
      'kube/x.ts:1: request() with a method that is not a literal: method',
    ]);

    const noEvents = sources.map((f) => (f.path === 'kube/events.ts' ? { ...f, text: '' } : f));
    expect(deriveFromCode(noEvents).problems).toEqual([
      'table entry "POST /api/v1/namespaces/{}/events" is no longer called: remove it (and its permission)',
    ]);
  });

  it('notices a role that grants one verb too many (it can fail)', () => {
    const extra = [...role.rules, { apiGroups: [''], resources: ['pods'], verbs: ['update'] }];
    expect(rolePermissions(extra)).not.toEqual(deriveFromCode(sources).permissions);
  });
});

describe('the real daemon with a token limited to the ClusterRole', () => {
  let h: NodeHarness;
  let sb: SandboxRef;
  const token = 'multus-sa-token';

  beforeAll(async () => {
    h = await NodeHarness.start({
      deferDaemon: true,
      emulator: {
        tokens: [{ token, user: 'system:serviceaccount:kube-system:multus', rules: role.rules }],
      },
    });
    const kubeconfig = await writeKubeconfig(h.root, h.emulator.url, token, {
      fileName: 'multus-sa.kubeconfig',
    });
    const cfg = JSON.parse(await readFile(h.daemonConfigPath, 'utf8')) as Record<string, unknown>;
    await writeFile(h.daemonConfigPath, JSON.stringify({ ...cfg, kubeconfig }));
    // The test's own objects, created with the admin token before the daemon starts; from here on every
    // request the emulator counts is the daemon's.
    await h.createNad('default', 'macvlan-conf', {
      cniVersion: '0.3.1',
      type: 'macvlan',
      master: 'eth0',
      mode: 'bridge',
      ipam: h.hostLocal('macvlan-conf', { subnet: '192.168.1.0/24' }),
    });
    sb = await h.createPod({
      name: 'rbac-pod',
      annotations: { 'k8s.v1.cni.cncf.io/networks': 'macvlan-conf' },
    });
    h.emulator.stats.reset();
    await h.startDaemon();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('serves ADD and DEL without a single 403, and uses every permission the role grants', async () => {
    const add = await h.shim('ADD', sb);
    expect(add.code, `${add.stdout}\n${h.daemonLog.slice(-2000)}`).toBe(0);
    const del = await h.shim('DEL', sb);
    expect(del.code, del.stdout).toBe(0);
    // A DEL for a pod that is neither cached nor stored: the daemon asks the API server (GET, 404).
    const gone = await h.shim('DEL', { ...sb, containerId: `${sb.containerId}gone`, name: 'never-existed' });
    expect(gone.code, gone.stdout).toBe(0);

    // Events are sent in the background: wait for them.
    const deadline = Date.now() + 5000;
    while (h.emulator.stats.count({ verb: 'create', resource: 'events' }) === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const snap = h.emulator.stats.snapshot();
    const denied = snap.entries.filter((e) => e.code === 401 || e.code === 403);
    expect(denied).toEqual([]);
    const used = new Set<string>();
    for (const e of snap.entries) {
      if (e.code >= 400 && e.code !== 404) continue;
      const [base = '', sub] = e.resource.split('/');
      const dot = base.indexOf('.');
      const group = dot < 0 ? '' : base.slice(dot + 1);
      const plural = dot < 0 ? base : base.slice(0, dot);
      used.add(key({ group, resource: sub ? `${plural}/${sub}` : plural, verb: e.verb }));
    }
    expect([...used].sort()).toEqual(rolePermissions(role.rules));
    // The ADD's one write went through: network-status lists the cluster network and macvlan-conf.
    const status = (await h.podAnnotations('default', 'rbac-pod'))['k8s.v1.cni.cncf.io/network-status'] ?? '';
    expect((JSON.parse(status) as { name: string }[]).map((n) => n.name)).toEqual([
      'cbr0',
      'default/macvlan-conf',
    ]);
  });
});
