// A whole node on this machine for e2e tests: a Kubernetes API (the emulator, or with `backend: 'apiserver'` a
// real kube-apiserver from test/support/apiserver), a "node" network namespace with an
// `eth0` (one end of a veth pair) for macvlan parents, a primary CNI config (bridge + host-local), the real
// multus-daemon process, and the real multus-shim executed as a runtime would. Plugins run inside the node
// namespace through the launcher bin dir of netns.ts, so nothing touches this machine's own network; every
// directory lives in a temp dir.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import {
  type ApiServerOptions,
  type Backend,
  inClusterLaunch,
  type KubeBackend,
  startKubeBackend,
} from './apiserver/index.ts';
import type { KubeEmulator, KubeEmulatorOptions } from './kube/index.ts';
import { ipIn, listLinks, netnsPath, requireHostTools, TestScope, uniqueName } from './netns.ts';

export { BACKENDS, type Backend } from './apiserver/index.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const DAEMON_MAIN = join(REPO_ROOT, 'packages/daemon/dist/main.js');
export const SHIM_BIN = join(REPO_ROOT, 'packages/shim/multus-shim');
/** The daemon finds it beside its code (packages/shim from packages/daemon/dist); so do the benchmarks. */
export const SPAWN_HELPER_BIN = join(REPO_ROOT, 'packages/shim/multus-spawn');
export const NODE_NAME = 'node-1';

export interface HarnessOptions {
  /** Extra daemon-config.json keys. */
  daemonConfig?: Record<string, unknown>;
  /** The API server: the in-process emulator (default) or the real kube-apiserver (`make apiserver`). */
  backend?: Backend;
  emulator?: KubeEmulatorOptions;
  apiserver?: ApiServerOptions;
  /**
   * The daemon authenticates as a pod does: in-cluster credentials (KUBERNETES_SERVICE_HOST/PORT, token and
   * ca.crt at the service-account path, in a private mount namespace) of the deployment's multus
   * ServiceAccount, limited to its ClusterRole. Always on with the real apiserver; default off with the
   * emulator (the daemon then gets an unrestricted kubeconfig).
   */
  inCluster?: boolean;
  /** cniVersion of daemon-config (and so of 00-multus.conf). Default 0.3.1, as upstream's manifest. */
  cniVersion?: string;
  /** Extra arguments for the daemon's `node` (before the script), e.g. `--cpu-prof` for benchmarks. */
  nodeArgs?: string[];
  /** Extra environment for the daemon process (PATH and MULTUS_NODE_NAME are always set). */
  daemonEnv?: Record<string, string>;
  /** Leave the daemon stopped after start(); the caller starts it with startDaemon() (e.g. to time its sync). */
  deferDaemon?: boolean;
}

/** Per-start overrides of startDaemon(); unset fields fall back to the HarnessOptions. */
export interface DaemonStartOptions {
  nodeArgs?: string[];
  env?: Record<string, string>;
}

export interface ShimOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
  json: Record<string, unknown> | undefined;
}

export interface PodSpec {
  namespace?: string;
  name: string;
  annotations?: Record<string, string>;
}

export interface SandboxRef {
  containerId: string;
  netns: string;
  netnsName: string;
  namespace: string;
  name: string;
  uid: string;
}

function requireBuilt(): void {
  for (const [what, path] of [
    ['daemon bundle (make build)', DAEMON_MAIN],
    ['multus-shim (make build)', SHIM_BIN],
    ['multus-spawn (make build)', SPAWN_HELPER_BIN],
  ] as const) {
    if (!existsSync(path)) throw new Error(`e2e: the ${what} is missing at ${path}: run make build first`);
  }
}

/** Whether a daemon answers GET /healthz on `socket` right now. */
function healthz(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { socketPath: socket, path: '/healthz', headers: { host: 'dummy' }, timeout: 1000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export class NodeHarness {
  readonly scope = new TestScope();
  /** The API behind this node; `kube.kind` says which. */
  kube!: KubeBackend;
  /** The admin kubeconfig the harness's own client uses. */
  kubeconfig!: string;
  core!: k8s.CoreV1Api;
  custom!: k8s.CustomObjectsApi;
  node!: string;
  root!: string;
  binDir!: string;
  netDir!: string;
  cniDir!: string;
  socketDir!: string;
  ipamDir!: string;
  daemonConfigPath!: string;
  daemon: ChildProcess | undefined;
  daemonLog = '';
  #counter = 0;
  #nodeArgs: string[] = [];
  #daemonEnv: Record<string, string> = {};

  /** The emulator, for fault injection and request counters: there is none with the real apiserver. */
  get emulator(): KubeEmulator {
    if (!this.kube?.emulator) {
      throw new Error(
        `h.emulator: this node runs on the ${this.kube?.kind ?? 'unstarted'} backend, not the emulator`,
      );
    }
    return this.kube.emulator;
  }

  static async start(opts: HarnessOptions = {}): Promise<NodeHarness> {
    const h = new NodeHarness();
    try {
      await h.#setup(opts);
    } catch (err) {
      await h.stop();
      throw err;
    }
    return h;
  }

  async #setup(opts: HarnessOptions): Promise<void> {
    if (process.getuid?.() !== 0) throw new Error('e2e: the daemon tests need root (network namespaces)');
    requireHostTools();
    requireBuilt();
    this.#nodeArgs = opts.nodeArgs ?? [];
    this.#daemonEnv = opts.daemonEnv ?? {};
    this.root = await this.scope.tempDir('multus-ts-node-');
    this.netDir = join(this.root, 'net.d');
    this.cniDir = join(this.root, 'cni-multus');
    this.socketDir = join(this.root, 'run-multus');
    this.ipamDir = join(this.root, 'ipam');
    for (const d of [this.netDir, this.cniDir, this.ipamDir]) await mkdir(d, { recursive: true });

    this.node = await this.scope.netns('mts-node');
    await ipIn(this.node, 'link', 'set', 'lo', 'up');
    await this.scope.veth({ ns: this.node, name: 'eth0', peerName: 'eth0-peer' });
    this.binDir = await this.scope.nodeBinDir(this.node);

    const backend = opts.backend ?? 'emulator';
    this.kube = await startKubeBackend(backend, {
      dir: this.root,
      ...(opts.emulator ? { emulator: opts.emulator } : {}),
      ...(opts.apiserver ? { apiserver: opts.apiserver } : {}),
      inCluster: backend === 'apiserver' || opts.inCluster === true,
    });
    this.scope.defer(`kube backend ${backend}`, () => this.kube.close());
    const kubeconfig = this.kube.adminKubeconfig;
    this.kubeconfig = kubeconfig;
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);

    await writeFile(
      join(this.netDir, '10-cbr0.conflist'),
      JSON.stringify(this.primaryConfig(opts.cniVersion ?? '0.3.1')),
    );
    this.daemonConfigPath = join(this.root, 'daemon-config.json');
    await writeFile(
      this.daemonConfigPath,
      JSON.stringify({
        cniVersion: opts.cniVersion ?? '0.3.1',
        logLevel: 'debug',
        logToStderr: true,
        cniConfigDir: this.netDir,
        multusAutoconfigDir: this.netDir,
        multusConfigFile: 'auto',
        socketDir: this.socketDir,
        daemonSocketDir: this.socketDir,
        binDir: this.binDir,
        cniDir: this.cniDir,
        confDir: join(this.root, 'multus-net.d'),
        // Without a kubeconfig the daemon uses in-cluster credentials (see startDaemon).
        ...(this.kube.serviceAccount ? {} : { kubeconfig }),
        ...opts.daemonConfig,
      }),
    );
    if (!opts.deferDaemon) await this.startDaemon();
  }

  /** The cluster network: a bridge in the node namespace with host-local addresses from 10.244.1.0/24. */
  primaryConfig(cniVersion = '0.3.1'): Record<string, unknown> {
    return {
      cniVersion,
      name: 'cbr0',
      plugins: [
        {
          type: 'bridge',
          bridge: 'cbr0',
          isGateway: true,
          ipam: {
            type: 'host-local',
            subnet: '10.244.1.0/24',
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: join(this.ipamDir, 'cbr0'),
          },
        },
      ],
    };
  }

  /**
   * Starts multus-daemon and waits until it listens and has written 00-multus.conf. Only this start's log lines
   * count, so a restart waits for the new process rather than the previous one's "listening" line.
   */
  async startDaemon(opts: DaemonStartOptions = {}): Promise<void> {
    const nodeArgs = opts.nodeArgs ?? this.#nodeArgs;
    const argv = [...nodeArgs, DAEMON_MAIN, '-config', this.daemonConfigPath];
    const sa = this.kube.serviceAccount;
    const launch = sa
      ? await inClusterLaunch(sa.dir, this.root, process.execPath, argv)
      : { command: process.execPath, args: argv };
    const child = spawn(launch.command, launch.args, {
      env: {
        ...(opts.env ?? this.#daemonEnv),
        ...(sa ? sa.env : {}),
        PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        MULTUS_NODE_NAME: NODE_NAME,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.daemon = child;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      this.daemonLog += d;
    });
    const socket = join(this.socketDir, 'multus.sock');
    const confPath = join(this.netDir, '00-multus.conf');
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null)
        throw new Error(`multus-daemon exited with ${child.exitCode}:\n${this.daemonLog}`);
      // Up means: this process answers on the socket (a previous daemon leaves its socket file behind, dead).
      if (existsSync(confPath) && (await healthz(socket))) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`multus-daemon did not come up in 20 s:\n${this.daemonLog}`);
  }

  /** SIGTERM (default) or SIGKILL; waits for the exit. */
  async stopDaemon(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const child = this.daemon;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill(signal);
    const code = await exited;
    this.daemon = undefined;
    return code;
  }

  async stop(): Promise<void> {
    await this.stopDaemon('SIGKILL').catch(() => undefined);
    await this.scope.cleanup();
  }

  async multusConf(): Promise<string> {
    return readFile(join(this.netDir, '00-multus.conf'), 'utf8');
  }

  async createNad(
    namespace: string,
    name: string,
    config: Record<string, unknown> | undefined,
    annotations?: Record<string, string>,
  ) {
    await this.custom.createNamespacedCustomObject({
      group: 'k8s.cni.cncf.io',
      version: 'v1',
      namespace,
      plural: 'network-attachment-definitions',
      body: {
        apiVersion: 'k8s.cni.cncf.io/v1',
        kind: 'NetworkAttachmentDefinition',
        metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
        spec: config === undefined ? {} : { config: JSON.stringify(config) },
      },
    });
  }

  async deleteNad(namespace: string, name: string): Promise<void> {
    await this.custom.deleteNamespacedCustomObject({
      group: 'k8s.cni.cncf.io',
      version: 'v1',
      namespace,
      plural: 'network-attachment-definitions',
      name,
    });
  }

  /** host-local with its data in this harness's temp dir (never /var/lib/cni). */
  hostLocal(net: string, ipam: Record<string, unknown>): Record<string, unknown> {
    return { type: 'host-local', ...ipam, dataDir: join(this.ipamDir, net) };
  }

  /** Creates the pod on this node and a netns for its sandbox, as the kubelet and the runtime would. */
  async createPod(spec: PodSpec): Promise<SandboxRef> {
    const namespace = spec.namespace ?? 'default';
    const pod = await this.core.createNamespacedPod({
      namespace,
      body: {
        metadata: {
          name: spec.name,
          namespace,
          ...(spec.annotations ? { annotations: spec.annotations } : {}),
        },
        spec: { nodeName: NODE_NAME, containers: [{ name: 'app', image: 'busybox' }] },
      },
    });
    const netnsName = await this.scope.netns('mts-pod');
    this.#counter++;
    return {
      containerId: uniqueName(`c${this.#counter}x`, 60).replace(/-/g, ''),
      netns: netnsPath(netnsName),
      netnsName,
      namespace,
      name: spec.name,
      uid: pod.metadata?.uid ?? '',
    };
  }

  async podAnnotations(namespace: string, name: string): Promise<Record<string, string>> {
    const pod = await this.core.readNamespacedPod({ namespace, name });
    return pod.metadata?.annotations ?? {};
  }

  /**
   * The pod's network-status annotation once it is there. The daemon writes it right after ADD's reply, so a
   * caller that has just seen ADD succeed may be a few milliseconds early; this waits (bounded) instead.
   */
  async networkStatus(namespace: string, name: string, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = (await this.podAnnotations(namespace, name))['k8s.v1.cni.cncf.io/network-status'];
      if (value !== undefined) return value;
      if (Date.now() > deadline)
        throw new Error(`no network-status on ${namespace}/${name} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The environment a runtime gives multus-shim for `command` on the sandbox `sb`. */
  shimEnv(
    command: string,
    sb: SandboxRef,
    opts: { ifName?: string; env?: Record<string, string> } = {},
  ): Record<string, string> {
    return {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      CNI_COMMAND: command,
      CNI_CONTAINERID: sb.containerId,
      CNI_NETNS: sb.netns,
      CNI_IFNAME: opts.ifName ?? 'eth0',
      CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${sb.namespace};K8S_POD_NAME=${sb.name};K8S_POD_INFRA_CONTAINER_ID=${sb.containerId};K8S_POD_UID=${sb.uid}`,
      CNI_PATH: this.binDir,
      MULTUS_SHIM_READY_TIMEOUT_MS: '20000',
      ...opts.env,
    };
  }

  /** Runs multus-shim as the runtime would, with 00-multus.conf (or `stdin`: text, or bytes as they are) on stdin. */
  async shim(
    command: string,
    sb: SandboxRef,
    opts: { ifName?: string; stdin?: string | Buffer; env?: Record<string, string> } = {},
  ): Promise<ShimOutcome> {
    const stdin = opts.stdin ?? (await this.multusConf());
    const env = this.shimEnv(command, sb, opts);
    const child = spawn(SHIM_BIN, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.stdin.end(stdin);
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    let json: Record<string, unknown> | undefined;
    try {
      json = stdout.trim() === '' ? undefined : (JSON.parse(stdout) as Record<string, unknown>);
    } catch {
      json = undefined;
    }
    return { code, stdout, stderr, json };
  }

  /** Leak check: what a torn-down node must not have any more. */
  async leftovers(): Promise<{ links: string[]; leases: string[]; cache: string[] }> {
    const { readdir } = await import('node:fs/promises');
    // Bridges stay by design (the bridge plugin never deletes one); what must not stay is a pod's link.
    const links = (await listLinks(this.node))
      .filter((l) => l.linkinfo?.info_kind !== 'bridge')
      .map((l) => l.ifname)
      .filter((n) => !['lo', 'eth0', 'eth0-peer'].includes(n));
    // host-local keeps one file per leased address in <dataDir>/<network name>/ (named after the address).
    const leases: string[] = [];
    for (const dataDir of existsSync(this.ipamDir) ? await readdir(this.ipamDir) : []) {
      for (const network of await readdir(join(this.ipamDir, dataDir), { withFileTypes: true })) {
        if (!network.isDirectory()) continue;
        for (const f of await readdir(join(this.ipamDir, dataDir, network.name))) {
          if (/^[0-9a-f.:]+$/i.test(f) && f.includes('.') !== f.includes(':'))
            leases.push(`${dataDir}/${network.name}/${f}`);
        }
      }
    }
    const cache = (existsSync(this.cniDir) ? await readdir(this.cniDir) : []).filter((f) => f !== 'results');
    return { links, leases, cache };
  }
}
