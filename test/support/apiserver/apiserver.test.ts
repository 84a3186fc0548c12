// The real-apiserver support itself: the build script's checks and reuse, a server that listens on 127.0.0.1
// only and leaves nothing behind, the bootstrap from deployments/ (RBAC of the multus ServiceAccount, for real),
// down/up, start-up failures that name their step, the audit log reader, and the in-cluster launcher.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { netnsPath, TestScope } from '../netns.ts';
import { readAudit } from './audit.ts';
import { createObject, installMultus, loadDeployment, serviceAccountToken } from './bootstrap.ts';
import { inClusterLaunch, SERVICEACCOUNT_MOUNT } from './in-cluster.ts';
import { type RealApiServer, startApiServer } from './server.ts';

const run = promisify(execFile);
const BUILD = join(import.meta.dirname, 'build.sh');

/** Local addresses of the TCP sockets `pid` listens on (from /proc, no tools needed). */
function listening(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1] as string);
    } catch {
      // The fd closed while we looked.
    }
  }
  const out: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === '0A' && inodes.has(f[9] as string)) {
        const [hex, port] = (f[1] as string).split(':') as [string, string];
        const ip =
          hex.length === 8
            ? (hex.match(/../g) as string[])
                .reverse()
                .map((b) => Number.parseInt(b, 16))
                .join('.')
            : `[${hex}]`;
        out.push(`${ip}:${Number.parseInt(port, 16)}`);
      }
    }
  }
  return out.sort();
}

describe('build.sh', () => {
  it('names the step that fails: a missing tool', async () => {
    const err = await run('/bin/bash', [BUILD], { env: { PATH: '/nonexistent' } }).catch((e: unknown) => e);
    const { code, stderr } = err as { code: number; stderr: string };
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^apiserver: FAILED at step 'check tools': 'go' is not installed: run scripts\/deps\.sh/,
    );
  });

  it('reuses a cached binary whose stamp names this toolchain, without building or fetching', async () => {
    const cache = await mkdtemp(join(tmpdir(), 'multus-ts-apiserver-cache-'));
    try {
      const { stdout: goVersion } = await run('go', ['version']);
      const { stdout: reflect2 } = await run('dpkg-query', [
        '-W',
        // dpkg-query's own ${...} syntax, not a template literal.
        ['-f=$', '{Version}'].join(''),
        'golang-github-modern-go-reflect2-dev',
      ]);
      await mkdir(join(cache, 'bin'));
      await writeFile(join(cache, 'bin', 'kube-apiserver'), '#!/bin/sh\n');
      await chmod(join(cache, 'bin', 'kube-apiserver'), 0o755);
      const stamp = `kubernetes=test\ngo=${goVersion.split(' ')[2]} reflect2=${reflect2}\n`;
      await writeFile(join(cache, 'bin', 'stamp'), stamp);
      const { stdout } = await run('bash', [BUILD], {
        env: { ...process.env, MULTUS_TS_APISERVER_CACHE: cache },
      });
      expect(stdout).toContain(`apiserver: reusing ${join(cache, 'bin', 'kube-apiserver')}`);
      expect(existsSync(join(cache, 'src'))).toBe(false);
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });
});

describe('a real kube-apiserver on 127.0.0.1', () => {
  let server: RealApiServer;

  beforeAll(async () => {
    server = await startApiServer();
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('listens on 127.0.0.1 only: one secure port, etcd client and peer, no insecure or metrics port', () => {
    expect(listening(server.apiserver.child.pid as number)).toEqual([`127.0.0.1:${server.port}`]);
    const etcd = listening(server.etcd.child.pid as number);
    expect(etcd).toHaveLength(2);
    for (const a of etcd) expect(a).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(server.version).toMatch(/^Kubernetes v1\.20\./);
  });

  it('refuses requests without a valid token and authorises by RBAC', async () => {
    expect((await server.request('GET', '/api/v1/pods', undefined, { token: 'nope' })).status).toBe(401);
    expect((await server.request('GET', '/api/v1/pods')).status).toBe(200);
  });

  it("installs the deployment's CRD and RBAC; the service account gets exactly the ClusterRole", async () => {
    const install = await installMultus(server);
    expect(install.serviceAccount).toEqual({
      namespace: 'kube-system',
      name: 'multus',
      user: 'system:serviceaccount:kube-system:multus',
    });
    const token = await serviceAccountToken(server, install.serviceAccount);
    const as = (method: string, path: string, body?: unknown) =>
      server.request(method, path, body, { token, contentType: 'application/merge-patch+json' });
    expect((await as('GET', '/api/v1/pods')).status).toBe(200);
    expect((await as('GET', '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions')).status).toBe(200);
    const nodes = await as('GET', '/api/v1/nodes');
    expect(nodes.json).toMatchObject({
      code: 403,
      message:
        'nodes is forbidden: User "system:serviceaccount:kube-system:multus" cannot list resource "nodes" in API group "" at the cluster scope',
    });
    expect((await as('PATCH', '/api/v1/namespaces/default/pods/x', { metadata: {} })).status).toBe(403);
    // The whole manifest is valid for a 1.20 server (the DaemonSet, ConfigMap too: server-side dry run).
    for (const obj of loadDeployment()) {
      const res = await createObject(server, obj, { dryRun: true });
      expect([201, 409], `${obj.kind} ${obj.metadata.name}: ${res.text}`).toContain(res.status);
    }
  });

  it('records every request in the audit log with its user, resource, code and RBAC reason', async () => {
    const entries = await readAudit(server.auditLogFile);
    const denied = entries.find((e) => e.resource === 'nodes' && e.code === 403);
    expect(denied).toMatchObject({
      user: 'system:serviceaccount:kube-system:multus',
      verb: 'list',
      group: '',
    });
    const allowed = entries.find(
      (e) => e.user.endsWith(':multus') && e.resource === 'pods' && e.code === 200,
    );
    expect(allowed?.reason).toContain('allowed by ClusterRoleBinding "multus" of ClusterRole "multus"');
    expect(entries.some((e) => e.code === 401 && e.user === '')).toBe(true);
  });

  it('goes down (connections refused) and comes back on the same port with its data', async () => {
    await server.request('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'survives' },
    });
    await server.down();
    const refused = await server.request('GET', '/readyz').catch((e: NodeJS.ErrnoException) => e.code);
    expect(refused).toBe('ECONNREFUSED');
    await server.up();
    expect((await server.request('GET', '/api/v1/namespaces/survives')).status).toBe(200);
  }, 90_000);

  it('stop() ends both processes and removes everything', async () => {
    const other = await startApiServer();
    const pids = [other.apiserver.child.pid, other.etcd.child.pid] as number[];
    await other.stop();
    expect(existsSync(other.dir)).toBe(false);
    for (const pid of pids) expect(existsSync(`/proc/${pid}`)).toBe(false);
  }, 90_000);
});

describe('start-up failures', () => {
  it('name the step and show the log tail, and leave nothing behind', async () => {
    const err = await startApiServer({ extraArgs: ['--no-such-flag'] }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(
      /^real apiserver: step "wait for kube-apiserver \/readyz" failed: kube-apiserver ended \(exit 1\) before 200 from \/readyz/,
    );
    expect((err as Error).message).toContain('unknown flag: --no-such-flag');
    // The message names the log file; its directory is gone, and so are etcd and kube-apiserver.
    const dir = /--- kube-apiserver \(exit 1\), (\S+)\/kube-apiserver\.log ---/.exec(
      (err as Error).message,
    )?.[1];
    expect(dir).toMatch(/multus-ts-apiserver-/);
    expect(existsSync(dir as string)).toBe(false);
  }, 60_000);
});

describe('readAudit', () => {
  it('keeps the last stage of each request, ignores a line still being written, and refuses garbage', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'multus-ts-audit-'));
    try {
      const ev = (id: string, stage: string, code: number) =>
        JSON.stringify({
          kind: 'Event',
          auditID: id,
          stage,
          verb: 'watch',
          requestURI: '/api/v1/pods?watch=1',
          user: { username: 'u' },
          requestReceivedTimestamp: '2026-01-02T03:04:05.678901Z',
          objectRef: { resource: 'pods', apiVersion: 'v1' },
          responseStatus: { code },
        });
      const file = join(dir, 'audit.log');
      await writeFile(
        file,
        `${ev('a', 'ResponseStarted', 200)}\n${ev('a', 'ResponseComplete', 500)}\n{"kind":"Ev`,
      );
      expect(await readAudit(file)).toEqual([
        {
          user: 'u',
          verb: 'watch',
          group: '',
          resource: 'pods',
          namespace: '',
          uri: '/api/v1/pods?watch=1',
          code: 500,
          reason: '',
          at: Date.parse('2026-01-02T03:04:05.678Z'),
        },
      ]);
      await writeFile(file, '{"kind":"NotAnEvent"}\n');
      await expect(readAudit(file)).rejects.toThrow(/unexpected event/);
      expect(await readAudit(join(dir, 'missing.log'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('inClusterLaunch', () => {
  const scope = new TestScope();
  afterAll(() => scope.cleanup());

  it('shows the service-account files at the fixed path, keeps /run/netns live, and leaves the host /run alone', async () => {
    if (process.getuid?.() !== 0) throw new Error('inClusterLaunch needs root (mount namespaces)');
    const first = await scope.netns('mts-ic');
    const dir = await scope.tempDir('multus-ts-incluster-');
    const sa = join(dir, 'sa');
    await mkdir(sa);
    await writeFile(join(sa, 'token'), 'sa-token');
    const marker = join(dir, 'go');
    // The program waits for a namespace made after it started, then reports what it sees.
    const script = `while [ ! -e ${marker} ]; do sleep 0.05; done; cat ${SERVICEACCOUNT_MOUNT}/token; echo; ls /run/netns`;
    const launch = await inClusterLaunch(sa, dir, '/bin/sh', ['-c', script]);
    const child = run(launch.command, launch.args);
    await new Promise((r) => setTimeout(r, 300));
    const later = await scope.netns('mts-ic');
    await writeFile(marker, '');
    const { stdout } = await child;
    const [token, ...netns] = stdout.trim().split('\n');
    expect(token).toBe('sa-token');
    expect(netns).toEqual(expect.arrayContaining([first, later]));
    expect(existsSync(netnsPath(later))).toBe(true);
    expect(existsSync('/run/secrets/kubernetes.io')).toBe(false);
  });
});
