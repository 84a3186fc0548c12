// startApiServer: etcd and the real kube-apiserver (Debian's 1.20.2, built by build.sh) on 127.0.0.1 only, each
// with its data in a fresh temp dir: a self-signed CA (openssl), a static token file with one system:masters
// user, RBAC authorization, service-account signing keys (so TokenRequest hands out real service-account
// tokens), no insecure port, no anonymous requests, and an audit log of every request (user, verb, resource,
// code, RBAC decision). No controllers run: pods stay Pending, deleted namespaces stay Terminating.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateServingCert } from '../kube/tls.ts';
import { requireApiServerBinaries } from './paths.ts';
import { freePort, type ManagedProcess, startManaged, waitFor } from './process.ts';
import { type ApiResponse, apiRequest } from './request.ts';

export const HOST = '127.0.0.1';
export const ADMIN_USER = 'multus-ts-admin';
/** The namespaces the apiserver's own bootstrap creates; tests may rely on them once start() returns. */
export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export interface ApiServerOptions {
  /** More kube-apiserver flags (they come last, so they override). */
  extraArgs?: string[];
  /** For every wait (etcd health, /readyz, namespaces). Default 60 s: a cold start under load takes ~5-15 s. */
  readyTimeoutMs?: number;
}

export interface RealApiServer {
  url: string;
  host: string;
  port: number;
  /** The system:masters bearer token (static token file). */
  token: string;
  caPem: string;
  caFile: string;
  /** Everything lives below it; stop() removes it. */
  dir: string;
  /** JSON lines, one audit event per request stage (see audit.ts). */
  auditLogFile: string;
  /** `Kubernetes v1.20.2` and what build.sh built it from. */
  version: string;
  etcd: ManagedProcess;
  /** The running kube-apiserver process (a new one after down() and up()). */
  readonly apiserver: ManagedProcess;
  request(
    method: string,
    path: string,
    body?: unknown,
    opts?: { token?: string; contentType?: string },
  ): Promise<ApiResponse>;
  /** Kills kube-apiserver (SIGKILL: connections reset, then refused; etcd and its data stay). */
  down(): Promise<void>;
  /** Starts it again on the same port with the same flags and data; resolves once /readyz is 200. */
  up(): Promise<void>;
  /** Stops kube-apiserver, then etcd, and removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
`;

const APISERVER_GRACE_MS = 2000;

class StepError extends Error {}

/** Runs `fn` as the named start-up step; a failure names the step and carries the relevant log tails. */
async function step<T>(name: string, logs: () => string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof StepError) throw err;
    throw new StepError(`real apiserver: step "${name}" failed: ${(err as Error).message}${logs()}`);
  }
}

export async function startApiServer(opts: ApiServerOptions = {}): Promise<RealApiServer> {
  const timeoutMs = opts.readyTimeoutMs ?? 60_000;
  const bins = requireApiServerBinaries();
  const dir = await mkdtemp(join(tmpdir(), 'multus-ts-apiserver-'));
  const token = randomBytes(24).toString('hex');
  let etcd: ManagedProcess | undefined;
  let apiserver: ManagedProcess | undefined;
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      // kube-apiserver's graceful shutdown waits on open watches for a long time; its data is thrown away anyway.
      await apiserver?.stop(APISERVER_GRACE_MS);
      await etcd?.stop();
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  const logs = () =>
    [etcd, apiserver]
      .filter((p): p is ManagedProcess => p !== undefined)
      .map((p) => `\n--- ${p.name} (${p.state()}), ${p.logFile} ---\n${p.tail()}`)
      .join('');
  try {
    const pki = await step('make the CA, serving certificate and service-account keys', logs, async () => {
      const serving = await generateServingCert(dir);
      const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
      await writeFile(join(dir, 'sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), {
        mode: 0o600,
      });
      await writeFile(join(dir, 'sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));
      await writeFile(join(dir, 'tokens.csv'), `${token},${ADMIN_USER},${ADMIN_USER},"system:masters"\n`, {
        mode: 0o600,
      });
      await writeFile(join(dir, 'audit-policy.yaml'), AUDIT_POLICY);
      return serving;
    });

    const [etcdClient, etcdPeer, port] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://${HOST}:${etcdClient}`;
    const etcdProc = await step(`start etcd on ${etcdUrl}`, logs, async () => {
      const peer = `http://${HOST}:${etcdPeer}`;
      const proc = startManaged(
        'etcd',
        bins.etcd,
        [
          '--name=multus-ts',
          `--data-dir=${join(dir, 'etcd')}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=${peer}`,
          `--initial-advertise-peer-urls=${peer}`,
          `--initial-cluster=multus-ts=${peer}`,
          '--listen-metrics-urls=',
          '--log-level=warn',
          '--logger=zap',
        ],
        join(dir, 'etcd.log'),
      );
      etcd = proc;
      await waitFor(
        'etcd /health',
        async () => {
          const res = await fetch(`${etcdUrl}/health`);
          return res.ok && ((await res.json()) as { health?: string }).health === 'true';
        },
        { timeoutMs, proc },
      );
      return proc;
    });

    const url = `https://${HOST}:${port}`;
    const args = [
      `--etcd-servers=${etcdUrl}`,
      `--bind-address=${HOST}`,
      `--advertise-address=${HOST}`,
      `--secure-port=${port}`,
      '--insecure-port=0',
      `--cert-dir=${join(dir, 'certs')}`,
      `--tls-cert-file=${pki.certFile}`,
      `--tls-private-key-file=${pki.keyFile}`,
      `--client-ca-file=${pki.caFile}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--anonymous-auth=false',
      '--authorization-mode=RBAC',
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      '--disable-admission-plugins=ServiceAccount',
      // The DaemonSet in deployments/ is privileged, as every CNI installer is.
      '--allow-privileged=true',
      '--service-cluster-ip-range=10.96.0.0/24',
      `--audit-log-path=${join(dir, 'audit.log')}`,
      `--audit-policy-file=${join(dir, 'audit-policy.yaml')}`,
      '--profiling=false',
      ...(opts.extraArgs ?? []),
    ];
    const target = { url, caPem: pki.caPem, token };
    /** Starts kube-apiserver (again: the same flags, port and etcd) and waits for /readyz. */
    const launch = async (): Promise<ManagedProcess> => {
      const proc = await step(`start kube-apiserver on ${url}`, logs, async () => {
        apiserver = startManaged('kube-apiserver', bins.apiserver, args, join(dir, 'kube-apiserver.log'));
        return apiserver;
      });
      await step('wait for kube-apiserver /readyz', logs, () =>
        waitFor('200 from /readyz', async () => (await apiRequest(target, 'GET', '/readyz')).status === 200, {
          timeoutMs,
          everyMs: 200,
          proc,
        }),
      );
      return proc;
    };
    const proc = await launch();
    await step(`wait for the namespaces ${SYSTEM_NAMESPACES.join(', ')}`, logs, () =>
      waitFor(
        'system namespaces',
        async () => {
          const res = await apiRequest(target, 'GET', '/api/v1/namespaces');
          const names = ((res.json as { items?: { metadata: { name: string } }[] })?.items ?? []).map(
            (n) => n.metadata.name,
          );
          return SYSTEM_NAMESPACES.every((n) => names.includes(n));
        },
        { timeoutMs, proc },
      ),
    );
    const version = await step('read /version', logs, async () => {
      const res = await apiRequest(target, 'GET', '/version');
      return `Kubernetes ${(res.json as { gitVersion?: string })?.gitVersion ?? '?'} (${bins.built})`;
    });
    return {
      url,
      host: HOST,
      port,
      token,
      caPem: pki.caPem,
      caFile: pki.caFile,
      dir,
      auditLogFile: join(dir, 'audit.log'),
      version,
      etcd: etcdProc,
      get apiserver() {
        return apiserver ?? proc;
      },
      request: (method, path, body, o) => apiRequest(target, method, path, body, o),
      down: async () => {
        // As a crash: no graceful shutdown, every connection reset, the port closed at once.
        await apiserver?.stop(0);
      },
      up: async () => {
        if (!apiserver?.exited()) return;
        await launch();
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
