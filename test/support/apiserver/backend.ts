// The Kubernetes API behind a test node: the in-process emulator (test/support/kube) or the real kube-apiserver
// (this directory), behind one shape, so the daemon's e2e suite runs unchanged against both. Either way the
// harness gets an admin kubeconfig for its own calls and, when asked (always for the real server), in-cluster
// credentials for the daemon: a token of the deployment's multus ServiceAccount, limited to its ClusterRole.
import { join } from 'node:path';
import {
  type KubeEmulator,
  type KubeEmulatorOptions,
  type PolicyRule,
  SERVICEACCOUNT_DIR,
  startKubeEmulator,
  writeInClusterFiles,
  writeKubeconfig,
} from '../kube/index.ts';
import { readAudit } from './audit.ts';
import { installMultus, loadDeployment, serviceAccountToken } from './bootstrap.ts';
import { waitFor } from './process.ts';
import { type ApiServerOptions, type RealApiServer, startApiServer } from './server.ts';

export type Backend = 'emulator' | 'apiserver';
/** Every backend, in the order the parameterised suites run them. */
export const BACKENDS: readonly Backend[] = ['emulator', 'apiserver'];

export interface BackendOptions {
  /** Where the kubeconfig and the service-account files go (a temp dir the caller removes). */
  dir: string;
  emulator?: KubeEmulatorOptions;
  apiserver?: ApiServerOptions;
  /** Give the daemon in-cluster credentials of the multus ServiceAccount. Always on for the real server. */
  inCluster?: boolean;
}

export interface ServiceAccountCredentials {
  /** `system:serviceaccount:kube-system:multus` */
  user: string;
  token: string;
  /** Holds token, ca.crt, namespace: bind-mount it at /var/run/secrets/kubernetes.io/serviceaccount. */
  dir: string;
  env: { KUBERNETES_SERVICE_HOST: string; KUBERNETES_SERVICE_PORT: string };
}

/** From when the API server went down until it served the daemon's service account again (ms since the epoch). */
export interface RestartWindow {
  from: number;
  to: number;
}

/** One answered request, as either backend records it. */
export interface ApiCall {
  verb: string;
  /** `pods`, `pods/status`, `network-attachment-definitions.k8s.cni.cncf.io` (the emulator's stats keys). */
  resource: string;
  code: number;
  /** Only the real server knows who asked (its audit log); the emulator's counters say `?`. */
  user: string;
}

const DENIED = new Set([401, 403]);
/** How long up() waits for the service account to be authorised again after a restart. */
const REAUTHORISED_WITHIN_MS = 30_000;

export interface KubeBackend {
  kind: Backend;
  url: string;
  caPem?: string;
  adminToken: string;
  /** For the test's own calls (client-node): unrestricted. */
  adminKubeconfig: string;
  emulator?: KubeEmulator;
  apiserver?: RealApiServer;
  serviceAccount?: ServiceAccountCredentials;
  /**
   * Every request answered 401 or 403 so far, except while the server was restarting: a kube-apiserver that is
   * starting serves requests before its RBAC caches are filled, and refuses them (clients retry).
   */
  denials(): Promise<ApiCall[]>;
  /** The down()/up() windows so far. */
  readonly restarts: readonly RestartWindow[];
  /** The API server stops answering (connection refused) until up(): the emulator's switch, or the real process stopped and restarted. */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

function multusRbac(): { user: string; rules: PolicyRule[] } {
  const objects = loadDeployment();
  const sa = objects.find((o) => o.kind === 'ServiceAccount');
  const role = objects.find((o) => o.kind === 'ClusterRole') as { rules?: PolicyRule[] } | undefined;
  if (!sa || !role?.rules) throw new Error('deployments/: no ServiceAccount or ClusterRole with rules');
  return {
    user: `system:serviceaccount:${sa.metadata.namespace ?? 'default'}:${sa.metadata.name}`,
    rules: role.rules,
  };
}

async function serviceAccountFiles(
  dir: string,
  server: { url: string; caPem?: string },
  user: string,
  token: string,
): Promise<ServiceAccountCredentials> {
  const files = await writeInClusterFiles(join(dir, 'in-cluster'), {
    url: server.url,
    token,
    ...(server.caPem ? { caPem: server.caPem } : {}),
  });
  return { user, token, dir: join(files.pathPrefix, SERVICEACCOUNT_DIR), env: files.env };
}

/** Records down()/up() windows; `settled` runs after the server is up and ends the window when it resolves. */
function restartTracker(down: () => Promise<void>, up: () => Promise<void>, settled: () => Promise<void>) {
  const restarts: RestartWindow[] = [];
  let from: number | undefined;
  return {
    restarts: restarts as readonly RestartWindow[],
    down: async () => {
      from ??= Date.now();
      await down();
    },
    up: async () => {
      await up();
      await settled();
      if (from !== undefined) restarts.push({ from, to: Date.now() });
      from = undefined;
    },
  };
}

async function startEmulatorBackend(opts: BackendOptions): Promise<KubeBackend> {
  const rbac = opts.inCluster ? multusRbac() : undefined;
  const saToken = `multus-sa-${process.pid}-${Date.now()}`;
  const emu = await startKubeEmulator({
    ...opts.emulator,
    ...(rbac
      ? {
          tls: true,
          tokens: [...(opts.emulator?.tokens ?? []), { token: saToken, user: rbac.user, rules: rbac.rules }],
        }
      : {}),
  });
  try {
    const adminKubeconfig = await writeKubeconfig(
      opts.dir,
      emu.url,
      emu.token,
      emu.caPem ? { caPem: emu.caPem } : {},
    );
    // The emulator refuses connections while down and authorises at once when up: nothing to wait for.
    const tracker = restartTracker(
      () => emu.faults.down(),
      () => emu.faults.up(),
      async () => undefined,
    );
    return {
      kind: 'emulator',
      url: emu.url,
      ...(emu.caPem ? { caPem: emu.caPem } : {}),
      adminToken: emu.token,
      adminKubeconfig,
      emulator: emu,
      ...(rbac ? { serviceAccount: await serviceAccountFiles(opts.dir, emu, rbac.user, saToken) } : {}),
      denials: async () =>
        emu.stats
          .snapshot()
          .entries.filter((e) => DENIED.has(e.code))
          .map((e) => ({ verb: e.verb, resource: e.resource, code: e.code, user: '?' })),
      restarts: tracker.restarts,
      down: tracker.down,
      up: tracker.up,
      close: () => emu.close(),
    };
  } catch (err) {
    await emu.close();
    throw err;
  }
}

async function startApiServerBackend(opts: BackendOptions): Promise<KubeBackend> {
  const server = await startApiServer(opts.apiserver);
  try {
    const install = await installMultus(server);
    const token = await serviceAccountToken(server, install.serviceAccount);
    const adminKubeconfig = await writeKubeconfig(opts.dir, server.url, server.token, {
      caPem: server.caPem,
    });
    // A restarted kube-apiserver answers (and refuses, 403) before its RBAC caches are filled: the window ends
    // when the service account is authorised again.
    const tracker = restartTracker(
      () => server.down(),
      () => server.up(),
      () =>
        waitFor(
          'the service account authorised again after the restart',
          async () =>
            (await server.request('GET', '/api/v1/namespaces/default/pods?limit=1', undefined, { token }))
              .status === 200,
          { timeoutMs: REAUTHORISED_WITHIN_MS, proc: server.apiserver },
        ),
    );
    const inWindow = (at: number) => tracker.restarts.some((w) => at >= w.from && at <= w.to);
    return {
      kind: 'apiserver',
      url: server.url,
      caPem: server.caPem,
      adminToken: server.token,
      adminKubeconfig,
      apiserver: server,
      serviceAccount: await serviceAccountFiles(opts.dir, server, install.serviceAccount.user, token),
      denials: async () =>
        (await readAudit(server.auditLogFile))
          .filter((r) => DENIED.has(r.code) && !inWindow(r.at))
          .map((r) => ({
            verb: r.verb,
            resource: r.group && !r.resource.includes('/') ? `${r.resource}.${r.group}` : r.resource,
            code: r.code,
            user: r.user,
          })),
      restarts: tracker.restarts,
      down: tracker.down,
      up: tracker.up,
      close: () => server.stop(),
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

export function startKubeBackend(kind: Backend, opts: BackendOptions): Promise<KubeBackend> {
  return kind === 'apiserver' ? startApiServerBackend(opts) : startEmulatorBackend(opts);
}
