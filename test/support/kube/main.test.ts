// The emulator as a child process (main.ts): ready line, seeding, https with kubeconfig and in-cluster files,
// the control endpoint, SIGTERM, and bad arguments.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMULATOR_MAIN, type SpawnedEmulator, spawnKubeEmulator } from './spawn.ts';

let dir: string;
const NAD_YAML = `apiVersion: "k8s.cni.cncf.io/v1"
kind: NetworkAttachmentDefinition
metadata:
  name: macvlan-conf
spec:
  config: '{ "cniVersion": "0.3.0", "type": "macvlan", "master": "eth0" }'
---
apiVersion: v1
kind: Pod
metadata:
  name: samplepod
  annotations:
    k8s.v1.cni.cncf.io/networks: macvlan-conf
spec:
  nodeName: node-1
  containers:
  - name: samplepod
    image: alpine
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kube-emu-main-'));
  await writeFile(join(dir, 'seed.yaml'), NAD_YAML);
  await writeFile(
    join(dir, 'node.json'),
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [{ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' } }],
    }),
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function withEmulator(args: string[], fn: (e: SpawnedEmulator) => Promise<void>): Promise<void> {
  const e = await spawnKubeEmulator(args);
  try {
    await fn(e);
  } finally {
    await e.stop();
  }
}

describe('main.ts child process', () => {
  it('prints its URL, serves seeded objects over http via a kubeconfig, and exits 0 on SIGTERM', async () => {
    const kdir = await mkdtemp(join(dir, 'kc-'));
    const e = await spawnKubeEmulator([
      '--port',
      '0',
      '--token',
      'T0',
      '--seed',
      join(dir, 'seed.yaml'),
      '--seed',
      join(dir, 'node.json'),
      '--kubeconfig-dir',
      kdir,
    ]);
    try {
      expect(e.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(e.token).toBe('T0');
      expect(e.kubeconfig).toBe(join(kdir, 'kubeconfig'));
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(e.kubeconfig as string);
      const custom = kc.makeApiClient(k8s.CustomObjectsApi);
      const nads = await custom.listClusterCustomObject({
        group: 'k8s.cni.cncf.io',
        version: 'v1',
        plural: 'network-attachment-definitions',
      });
      expect(
        nads.items.map(
          (n: { metadata: { namespace: string; name: string } }) =>
            `${n.metadata.namespace}/${n.metadata.name}`,
        ),
      ).toEqual(['default/macvlan-conf']);
      const core = kc.makeApiClient(k8s.CoreV1Api);
      const pods = await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=node-1' });
      expect(pods.items.map((p) => p.metadata?.annotations?.['k8s.v1.cni.cncf.io/networks'])).toEqual([
        'macvlan-conf',
      ]);
      expect((await core.readNode({ name: 'node-1' })).metadata?.name).toBe('node-1');
    } finally {
      expect(await e.stop()).toBe(0);
    }
  });

  it('serves https with a generated CA, usable through in-cluster files and KUBERNETES_SERVICE_HOST/PORT', async () => {
    const icdir = await mkdtemp(join(dir, 'ic-'));
    const kdir = await mkdtemp(join(dir, 'kc-'));
    await withEmulator(['--tls', '--in-cluster-dir', icdir, '--kubeconfig-dir', kdir], async (e) => {
      expect(e.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(await readFile(e.caFile as string, 'utf8')).toContain('BEGIN CERTIFICATE');
      const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
      const ic = e.inCluster;
      expect(ic?.env).toEqual({
        KUBERNETES_SERVICE_HOST: '127.0.0.1',
        KUBERNETES_SERVICE_PORT: String(e.port),
      });
      expect(await readFile(ic?.tokenFile as string, 'utf8')).toBe(e.token);
      Object.assign(process.env, ic?.env);
      try {
        const kc = new k8s.KubeConfig();
        kc.loadFromCluster(ic?.pathPrefix);
        const core = kc.makeApiClient(k8s.CoreV1Api);
        expect((await core.listNamespace()).items.map((n) => n.metadata?.name)).toContain('kube-system');
      } finally {
        for (const [k, v] of [
          ['KUBERNETES_SERVICE_HOST', saved.host],
          ['KUBERNETES_SERVICE_PORT', saved.port],
        ] as const) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
      const viaKubeconfig = new k8s.KubeConfig();
      viaKubeconfig.loadFromFile(join(kdir, 'kubeconfig'));
      expect((await viaKubeconfig.makeApiClient(k8s.VersionApi).getCode()).major).toBe('1');
      const untrusted = new k8s.KubeConfig();
      untrusted.loadFromClusterAndUser(
        { name: 'c', server: e.url, skipTLSVerify: false },
        { name: 'u', token: e.token },
      );
      await expect(untrusted.makeApiClient(k8s.VersionApi).getCode()).rejects.toThrow();
    });
  });

  it('is driven through its control endpoint', async () => {
    await withEmulator([], async (e) => {
      const ctl = e.control;
      await ctl.failNext(1, { code: 500, match: { verb: 'list' } });
      const auth = { headers: { Authorization: `Bearer ${e.token}` } };
      expect((await fetch(`${e.url}/api/v1/pods`, auth)).status).toBe(500);
      expect((await fetch(`${e.url}/api/v1/pods`, auth)).status).toBe(200);
      expect((await ctl.stats()).byVerbResource['list pods']).toBe(2);
      const [seeded] = await ctl.seed([
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'x' },
          spec: { containers: [{ name: 'c', image: 'i' }] },
        },
      ]);
      expect(seeded?.metadata.resourceVersion).toBeTruthy();
      expect((await ctl.getObject('v1', 'Pod', 'default', 'x'))?.metadata.uid).toBe(seeded?.metadata.uid);
      expect((await ctl.listObjects('v1', 'Pod')).map((p) => p.metadata.name)).toEqual(['x']);
      await ctl.down();
      await expect(fetch(`${e.url}/api/v1/pods`, auth)).rejects.toThrow();
      expect((await ctl.faultState()).down).toBe(true);
      await ctl.up();
      expect((await fetch(`${e.url}/api/v1/pods`, auth)).status).toBe(200);
      await ctl.addToken({ token: 'ro', rules: [{ resources: ['pods'], verbs: ['get'] }] });
      expect((await fetch(`${e.url}/api/v1/pods`, { headers: { Authorization: 'Bearer ro' } })).status).toBe(
        403,
      );
      const denied = await fetch(`${ctl.url}/faults`, { headers: { Authorization: 'Bearer nope' } });
      expect(denied.status).toBe(401);
      const bad = await fetch(`${ctl.url}/faults/latency`, {
        method: 'POST',
        headers: auth.headers,
        body: '{"ms":"soon"}',
      });
      expect(bad.status).toBe(400);
      const garbage = await fetch(`${ctl.url}/faults/latency`, {
        method: 'POST',
        headers: auth.headers,
        body: '{',
      });
      expect(garbage.status).toBe(400);
    });
  });

  it('exits 2 with usage on bad arguments and 1 when a seed file is unusable', async () => {
    const run = async (args: string[]) => {
      const child = spawn(process.execPath, [EMULATOR_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        err += d;
      });
      const [code] = (await once(child, 'exit')) as [number];
      return { code, err };
    };
    const unknown = await run(['--frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('usage:');
    expect((await run(['--port', 'http'])).code).toBe(2);
    await writeFile(join(dir, 'bad.yaml'), 'just: a map\n');
    const badSeed = await run(['--seed', join(dir, 'bad.yaml')]);
    expect(badSeed.code).toBe(1);
    expect(badSeed.err).toContain('must be a Kubernetes object with a kind');
  });
});
