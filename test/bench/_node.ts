// What the daemon benchmarks do to a harness node: the secondary networks they attach, warm pods, timed shim
// calls, the floor (the same delegate configurations run directly by CniRuntime), and API request accounting.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CniRuntime, HelperSpawner, parseNetworkConfig } from '@multus-ts/cni';
import { type NodeHarness, type SandboxRef, SHIM_BIN, SPAWN_HELPER_BIN } from '../support/daemon-harness.ts';
import { deleteNetns, inBatches, sleep } from './_lib.ts';

export const NETWORKS_ANNOTATION = 'k8s.v1.cni.cncf.io/networks';

/** Log level of the daemon under measurement: upstream's manifests ship `verbose`. */
export const BENCH_LOG_LEVEL = 'verbose';

/** A macvlan NAD on the node's eth0 with host-local addresses. */
export function macvlanNad(h: NodeHarness, name: string, subnet: string): Record<string, unknown> {
  return {
    cniVersion: '0.3.1',
    type: 'macvlan',
    master: 'eth0',
    mode: 'bridge',
    ipam: h.hostLocal(name, { subnet }),
  };
}

/** A bridge NAD (its own Linux bridge in the node namespace) with host-local addresses. */
export function bridgeNad(h: NodeHarness, name: string, bridge: string, subnet: string) {
  return {
    cniVersion: '0.3.1',
    type: 'bridge',
    bridge,
    ipam: h.hostLocal(name, { subnet }),
  };
}

/**
 * Creates pods (and their sandbox namespaces) `width` at a time, then waits `settleMs` so the daemon's pod
 * informer has every one of them before the first CNI call: the calls measured are warm ADDs.
 */
export async function createWarmPods(
  h: NodeHarness,
  names: readonly string[],
  networks: readonly string[],
  settleMs = 500,
  width = 16,
): Promise<SandboxRef[]> {
  const pods: SandboxRef[] = new Array(names.length);
  const annotations = networks.length > 0 ? { [NETWORKS_ANNOTATION]: networks.join(',') } : undefined;
  await inBatches(names, width, async (name, i) => {
    pods[i] = await h.createPod({ name, ...(annotations ? { annotations } : {}) });
  });
  await sleep(settleMs);
  return pods;
}

export interface TimedShim {
  ms: number;
  code: number | null;
  detail: string;
}

let spawner: HelperSpawner | undefined;

/**
 * How the benchmarks start processes, the shim as a container runtime would and the floor's plugins: through
 * multus-spawn, like the daemon. A runtime (Go: clone with CLONE_VFORK) pays next to nothing to start the shim, and
 * the floor is meant to be the plugins' own exec time; Node's child_process.spawn from this 200 MB benchmark process
 * costs ~6 ms of fork per process, which would be charged to the shim once and to the floor once per delegate.
 */
export function benchSpawner(): HelperSpawner {
  spawner ??= new HelperSpawner({
    helperPath: SPAWN_HELPER_BIN,
    onFallback: (reason) => {
      throw new Error(`bench: multus-spawn unusable (${reason}): run \`make build\` first`);
    },
  });
  return spawner;
}

/** One CNI call through the real shim, timed from the request to start it to its exit (what a runtime waits for). */
export async function timedShim(h: NodeHarness, command: 'ADD' | 'DEL', sb: SandboxRef): Promise<TimedShim> {
  const stdin = Buffer.from(await h.multusConf());
  const env = h.shimEnv(command, sb);
  const t = performance.now();
  const out = await benchSpawner().run({
    file: SHIM_BIN,
    args: [],
    env,
    stdin,
    timeoutMs: 300_000,
    maxStdout: 8 << 20,
    maxStderr: 1 << 20,
  });
  const ms = performance.now() - t;
  if (out instanceof Error) return { ms, code: null, detail: `cannot start the shim: ${out.message}` };
  return { ms, code: out.exitCode, detail: `${out.stdout}${out.stderr}`.slice(0, 400) };
}

/** Throws with the daemon's recent log when a call failed. */
export function mustSucceed(h: NodeHarness, what: string, r: TimedShim): number {
  if (r.code !== 0) {
    throw new Error(
      `${what} failed (exit ${r.code}): ${r.detail}\n--- daemon log ---\n${h.daemonLog.slice(-3000)}`,
    );
  }
  return r.ms;
}

export interface FloorDelegate {
  configBytes: Buffer;
  ifName: string;
  cniArgs: [string, string][];
  capabilityArgs: Record<string, unknown>;
}

/**
 * The delegates exactly as the daemon executed them for one container: read from its delegate cache
 * (`<cniDir>/<containerID>`), which holds the configuration bytes, interface names and CNI_ARGS of each.
 */
export async function delegatesOf(h: NodeHarness, containerId: string): Promise<FloorDelegate[]> {
  const path = join(h.cniDir, containerId);
  const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
  if (!Array.isArray(parsed)) throw new Error(`${path}: not a delegate cache (expected an array)`);
  return parsed.map((el: unknown, i) => {
    // zod is not a dependency of the test tree: check by hand the few fields the floor needs.
    const e = el as { Bytes?: unknown; multusTs?: Record<string, unknown> };
    const x = e.multusTs;
    if (
      typeof e.Bytes !== 'string' ||
      typeof x?.['ifName'] !== 'string' ||
      !Array.isArray(x['cniArgs']) ||
      typeof x['capabilityArgs'] !== 'object'
    )
      throw new Error(`${path}: delegate ${i} lacks Bytes or multusTs.{ifName,cniArgs,capabilityArgs}`);
    return {
      configBytes: Buffer.from(e.Bytes, 'base64'),
      ifName: x['ifName'],
      cniArgs: x['cniArgs'] as [string, string][],
      capabilityArgs: (x['capabilityArgs'] ?? {}) as Record<string, unknown>,
    };
  });
}

/**
 * The floor: the same delegates run in order by CniRuntime (same bin dir of node-namespace launchers, same kind of
 * sandbox namespace, started through multus-spawn as the daemon starts them), with nothing of multus around them. DEL runs them in reverse, as the daemon does.
 */
export class Floor {
  readonly #runtime: CniRuntime;
  readonly #delegates: FloorDelegate[];

  constructor(h: NodeHarness, cacheDir: string, delegates: FloorDelegate[]) {
    this.#runtime = new CniRuntime({
      binDirs: [h.binDir],
      cacheDir,
      passEnv: ['PATH'],
      spawner: benchSpawner(),
    });
    this.#delegates = delegates;
  }

  async run(command: 'ADD' | 'DEL', containerId: string, netns: string): Promise<number> {
    const order = command === 'ADD' ? this.#delegates : [...this.#delegates].reverse();
    const t = performance.now();
    for (const d of order) {
      const list = parseNetworkConfig(d.configBytes);
      const rt = {
        containerId,
        netns,
        ifName: d.ifName,
        args: d.cniArgs.map(([k, v]): [string, string] => [
          k,
          k === 'K8S_POD_INFRA_CONTAINER_ID' ? containerId : v,
        ]),
        capabilityArgs: d.capabilityArgs,
      };
      if (command === 'ADD') await this.#runtime.addNetworkList(list, rt);
      else await this.#runtime.delNetworkList(list, rt);
    }
    return performance.now() - t;
  }
}

/** Sums request counters (`"<verb> <resource>"` -> count) over several windows. */
export class RequestTally {
  readonly #totals = new Map<string, number>();
  windows = 0;

  add(byVerbResource: Record<string, number>): void {
    this.windows++;
    for (const [k, n] of Object.entries(byVerbResource)) this.#totals.set(k, (this.#totals.get(k) ?? 0) + n);
  }

  /** Mean requests per window, by verb and resource. */
  perWindow(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, n] of [...this.#totals].sort(([a], [b]) => (a < b ? -1 : 1)))
      out[k] = Number((n / Math.max(1, this.windows)).toFixed(3));
    return out;
  }

  /** Mean requests per window of one verb, over every resource. */
  verb(verb: string): number {
    let n = 0;
    for (const [k, c] of this.#totals) if (k.startsWith(`${verb} `)) n += c;
    return Number((n / Math.max(1, this.windows)).toFixed(3));
  }
}

/** Removes the sandbox namespaces of finished pods right away, so a long run does not pile them up. */
export async function dropSandboxes(pods: readonly SandboxRef[], width = 16): Promise<void> {
  await inBatches(pods, width, (p) => deleteNetns(p.netnsName));
}
