// The image's runtime stage, short of a container engine: the bundle alone under /usr/src/multus-ts/dist of a
// scratch root (no node_modules anywhere above it), started with the DaemonSet's command and args, the
// ConfigMap's daemon-config.json (its paths moved under the scratch root), MULTUS_NODE_NAME, and in-cluster
// credentials exactly as a pod has them: KUBERNETES_SERVICE_HOST/PORT and the service-account token and CA at
// /var/run/secrets/kubernetes.io/serviceaccount (bind-mounted in a private mount namespace), the token limited
// to the ClusterRole. Then the probes: the DaemonSet's HTTP ones on the metrics port and the metrics-off
// overlay's exec ones on the socket; and the two ways it stops (upgrade, uninstall).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAEMON_MAIN, NODE_NAME, SPAWN_HELPER_BIN } from '../../support/daemon-harness.ts';
import {
  type KubeEmulator,
  type PolicyRule,
  startKubeEmulator,
  writeInClusterFiles,
} from '../../support/kube/index.ts';
import { TestScope } from '../../support/netns.ts';
import { IMAGE_DAEMON_MAIN, mebibytes, probeTargets } from './_checks.ts';
import {
  daemonConfigOf,
  daemonContainer,
  findObject,
  kustomize,
  loadYamlObjects,
  OVERLAYS_DIR,
  PLAIN_MANIFEST,
  podSpecOf,
  requireKubectl,
} from './_manifests.ts';

const SA_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
const SA_TOKEN = 'multus-serviceaccount-token';
const manifest = loadYamlObjects(PLAIN_MANIFEST);
const daemon = daemonContainer(podSpecOf(manifest));
const role = findObject(manifest, 'ClusterRole', 'multus') as ReturnType<typeof findObject> & {
  rules: PolicyRule[];
};

const scope = new TestScope();
let root: string;
let emu: KubeEmulator;
let saDir: string;
let saEnv: Record<string, string>;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} within ${ms} ms (last error: ${String(last)})`);
}

interface RunningDaemon {
  child: ChildProcess;
  log: () => string;
  port: number;
  paths: { socket: string; multusConf: string };
}

/** Starts the bundle as the DaemonSet would, with `extraArgs` after the manifest's args. */
async function startLikeThePod(name: string, extraArgs: string[] = []): Promise<RunningDaemon> {
  const port = await freePort();
  const run = join(root, name);
  const under = (p: string) => join(run, p);
  // The ConfigMap's file, with each absolute path moved under this run's directory.
  const config = Object.fromEntries(
    Object.entries(daemonConfigOf(manifest).json).map(([k, v]) => [
      k,
      typeof v === 'string' && v.startsWith('/') ? under(v) : v,
    ]),
  );
  Object.assign(config, {
    metricsPort: port,
    // Defaults that would name host paths (/var/lib/cni/multus, /etc/cni/multus/net.d): kept in the scratch dir.
    cniDir: under('/var/lib/cni/multus'),
    confDir: under('/etc/cni/multus/net.d'),
  });
  const netDir = config['multusAutoconfigDir'] as string;
  await mkdir(netDir, { recursive: true });
  await writeFile(
    join(netDir, '10-primary.conflist'),
    JSON.stringify({
      cniVersion: '0.3.1',
      name: 'primary',
      plugins: [{ type: 'bridge', bridge: 'unused0' }],
    }),
  );
  const configPath = join(run, 'daemon-config.json');
  await writeFile(configPath, JSON.stringify(config));

  const [node, main, ...rest] = daemon.command ?? [];
  expect([node, main, ...rest]).toEqual(['node', IMAGE_DAEMON_MAIN]);
  const args = (daemon.args ?? []).map((a) => (a.endsWith('daemon-config.json') ? configPath : a));
  // A private mount namespace: a tmpfs on /run (= /var/run) holds the service-account mount point, so nothing
  // is created on this machine's /run.
  const script = `set -e; mount -t tmpfs tmpfs /run; mkdir -p ${SA_MOUNT}; mount --bind "$0" ${SA_MOUNT}; exec "$@"`;
  const child = spawn(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      '/bin/sh',
      '-c',
      script,
      saDir,
      process.execPath,
      join(root, main ?? ''),
      ...args,
      ...extraArgs,
    ],
    {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', MULTUS_NODE_NAME: NODE_NAME, ...saEnv },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    log += d;
  });
  scope.defer(`daemon ${name}`, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const socketDir = config['socketDir'] as string;
  return {
    child,
    log: () => log,
    port,
    paths: {
      socket: join(socketDir, 'multus.sock'),
      multusConf: join(config['cniConfigDir'] as string, '00-multus.conf'),
    },
  };
}

async function stop(d: RunningDaemon): Promise<number | null> {
  const exited = new Promise<number | null>((r) => d.child.once('exit', (code) => r(code)));
  d.child.kill('SIGTERM');
  return exited;
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('the image test needs root (mount namespace, the daemon)');
  if (!existsSync(DAEMON_MAIN))
    throw new Error(`the daemon bundle is missing at ${DAEMON_MAIN}: run make build`);
  for (const tool of ['unshare', 'openssl']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is required`);
  }
  root = await scope.tempDir('multus-ts-image-');
  // The runtime stage's layout: the bundle directory as make build leaves it (no compile cache of this machine's
  // runs), multus-spawn in bin/ beside it, and nothing to resolve packages from.
  await mkdir(join(root, 'usr/src/multus-ts/bin'), { recursive: true });
  cpSync(join(DAEMON_MAIN, '..'), join(root, 'usr/src/multus-ts/dist'), {
    recursive: true,
    filter: (src) => !src.includes('.compile-cache'),
  });
  copyFileSync(SPAWN_HELPER_BIN, join(root, 'usr/src/multus-ts/bin/multus-spawn'));
  chmodSync(join(root, 'usr/src/multus-ts/bin/multus-spawn'), 0o755);
  emu = await startKubeEmulator({
    tls: true,
    tokens: [{ token: SA_TOKEN, user: 'system:serviceaccount:kube-system:multus', rules: role.rules }],
  });
  scope.defer('kube emulator', () => emu.close());
  const files = await writeInClusterFiles(join(root, 'sa'), {
    url: emu.url,
    token: SA_TOKEN,
    caPem: emu.caPem,
  });
  saDir = join(files.pathPrefix, 'var/run/secrets/kubernetes.io/serviceaccount');
  saEnv = files.env;
});

afterAll(async () => {
  await scope.cleanup();
});

describe('the bundle, run as the DaemonSet runs it', () => {
  it('comes up with in-cluster credentials and answers the probes; an ordinary stop keeps conf and socket', async () => {
    const d = await startLikeThePod('upgrade');
    const fail = () => `daemon log:\n${d.log().slice(-3000)}`;
    const { readiness, liveness } = probeTargets(daemon);
    expect([readiness, liveness]).toEqual(['http 9091/readyz', 'http 9091/healthz']);
    const path = (t: string) => t.slice(t.indexOf('/'));

    await until(`liveness ${path(liveness)} 200. ${fail()}`, async () =>
      (await get(d.port, path(liveness))).status === 200 ? true : undefined,
    );
    await until(`readiness ${path(readiness)} 200. ${fail()}`, async () =>
      (await get(d.port, path(readiness))).status === 200 ? true : undefined,
    );
    const metrics = await get(d.port, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('# HELP');
    expect(existsSync(d.paths.multusConf)).toBe(true);

    // The service-account token did everything the daemon needed (informers listed and watched).
    const snap = emu.stats.snapshot();
    expect(snap.entries.filter((e) => e.code === 401 || e.code === 403)).toEqual([]);
    expect(snap.byVerbResource['list pods']).toBeGreaterThan(0);
    expect(snap.byVerbResource['watch network-attachment-definitions.k8s.cni.cncf.io']).toBeGreaterThan(0);

    // Well within the container's memory request while idle.
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${d.child.pid}/status`, 'utf8'))?.[1]);
    console.log(`daemon RSS when ready: ${(rssKiB / 1024).toFixed(1)} MiB`);
    expect(rssKiB / 1024).toBeLessThan(mebibytes(daemon.resources?.requests?.['memory']));

    expect(await stop(d), fail()).toBe(0);
    // An upgrade: the next daemon takes over; meanwhile the runtime keeps calling the shim, which waits.
    expect(existsSync(d.paths.multusConf)).toBe(true);
    expect(existsSync(d.paths.socket)).toBe(true);
  });

  it("the metrics-off overlay's exec probes pass against the daemon's socket and fail without one", async () => {
    requireKubectl();
    const c = daemonContainer(podSpecOf(kustomize(join(OVERLAYS_DIR, 'metrics-off'))));
    const d = await startLikeThePod('exec-probes');
    const probe = (which: 'readinessProbe' | 'livenessProbe', socket: string) => {
      const cmd = c[which]?.exec?.command ?? [];
      expect(cmd.slice(0, 2)).toEqual(['node', '-e']);
      const script = (cmd[2] ?? '').replace('/host/run/multus/multus.sock', socket);
      return spawnSync(process.execPath, ['-e', script], { timeout: 10_000 }).status;
    };
    await until(`the exec readiness probe passes. ${d.log().slice(-2000)}`, async () =>
      probe('readinessProbe', d.paths.socket) === 0 ? true : undefined,
    );
    expect(probe('livenessProbe', d.paths.socket)).toBe(0);
    expect(await stop(d)).toBe(0);
    expect(probe('livenessProbe', join(root, 'no-such.sock'))).toBe(1);
    // The socket file survives an ordinary stop, but nothing answers on it any more.
    expect(probe('readinessProbe', d.paths.socket)).toBe(1);
  });

  it('with -cleanup-config-on-exit (docs/quickstart.md, uninstall) a stop removes 00-multus.conf and the socket', async () => {
    const d = await startLikeThePod('uninstall', ['-cleanup-config-on-exit']);
    await until(`ready. ${d.log().slice(-2000)}`, async () =>
      (await get(d.port, '/readyz')).status === 200 ? true : undefined,
    );
    expect(existsSync(d.paths.multusConf)).toBe(true);
    expect(await stop(d)).toBe(0);
    expect(existsSync(d.paths.multusConf)).toBe(false);
    expect(existsSync(d.paths.socket)).toBe(false);
  });
});
