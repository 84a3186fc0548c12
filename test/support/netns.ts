// Network-namespace helpers for every e2e test: unique names, throwaway namespaces and veth pairs, `ip` inside a
// namespace, and a cleanup registry that removes everything a test made, also when the test fails.
//
// Where plugins run. A CNI plugin does its host-side work (bridges, macvlan parents, iptables rules, sysctls) in
// the network namespace it is *executed* in, which for a real daemon is the node's. Tests must not touch this
// machine's own network, so they give each test a "node" namespace and run every plugin inside it:
// `TestScope.nodeBinDir(node)` writes a bin dir of one-line launchers, `exec ip netns exec <node> <real plugin>`,
// one per plugin in /usr/lib/cni. A CniRuntime pointed at that dir finds, runs and chains the real plugins as
// usual; delegated IPAM (bridge -> host-local) goes through the same launchers because CNI_PATH is the runtime's
// bin dirs. `ip netns exec` (rather than `nsenter --net`) also remounts /sys for the namespace, so plugins that
// read /sys/class/net see the node's links. The container side is untouched: plugins still enter CNI_NETNS
// themselves.
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian's containernetworking-plugins package installs the real plugins. */
export const CNI_BIN_DIR = '/usr/lib/cni';

/** Plugins the e2e tests run; `requireHostTools` fails loudly when any is missing. */
export const REQUIRED_PLUGINS = [
  'bridge',
  'host-local',
  'loopback',
  'macvlan',
  'portmap',
  'ptp',
  'static',
  'tuning',
] as const;

function findIp(): string | undefined {
  for (const p of ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip']) {
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Absolute path of iproute2's `ip` (throws when it is not installed). */
export function ipPath(): string {
  const p = findIp();
  if (!p) throw new Error('iproute2 `ip` is not installed (make deps installs it)');
  return p;
}

/**
 * Throws (so the calling test FAILS, never skips) unless we are root, `ip` exists and every plugin in `plugins`
 * is an executable file in CNI_BIN_DIR.
 */
export function requireHostTools(plugins: readonly string[] = REQUIRED_PLUGINS): void {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root privileges');
  if (!findIp()) missing.push('iproute2 `ip`');
  for (const p of plugins) {
    try {
      accessSync(join(CNI_BIN_DIR, p), constants.X_OK);
    } catch {
      missing.push(`${CNI_BIN_DIR}/${p}`);
    }
  }
  if (missing.length > 0) {
    throw new Error(`e2e prerequisites missing: ${missing.join(', ')} (run make deps as root)`);
  }
}

let counter = 0;

/**
 * A name unique to this process and call: prefix + pid + counter (base 36). Capped at `max` characters (15 is the
 * kernel's limit for link names, IFNAMSIZ - 1); the prefix is shortened first.
 */
export function uniqueName(prefix: string, max = 15): string {
  counter += 1;
  const suffix = `${process.pid.toString(36)}${counter.toString(36)}`;
  const room = Math.max(1, max - suffix.length);
  return `${prefix.slice(0, room)}${suffix}`.slice(0, max);
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a command without a shell. Throws with its stderr on non-zero exit unless `allowFail`. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { allowFail?: boolean; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      [...args],
      { encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        if (err && !opts.allowFail) {
          reject(new Error(`${cmd} ${args.join(' ')} failed (${err.code ?? err.signal}): ${stderr.trim()}`));
          return;
        }
        resolve({ stdout, stderr, code });
      },
    );
  });
}

/** `ip -n <ns> <args>`; returns stdout. */
export async function ipIn(ns: string, ...args: string[]): Promise<string> {
  return (await run(ipPath(), ['-n', ns, ...args])).stdout;
}

/** Runs any command inside the namespace (`ip netns exec`). */
export function execIn(
  ns: string,
  cmd: string,
  args: readonly string[],
  allowFail = false,
): Promise<RunResult> {
  return run(ipPath(), ['netns', 'exec', ns, cmd, ...args], { allowFail });
}

export function netnsPath(name: string): string {
  return `/run/netns/${name}`;
}

export function netnsExists(name: string): boolean {
  return existsSync(netnsPath(name));
}

export interface LinkInfo {
  ifname: string;
  ifindex: number;
  address?: string;
  mtu?: number;
  flags?: string[];
  operstate?: string;
  /** `ip -d`: the link kind (veth, bridge, macvlan, ...), absent for loopback and physical links. */
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
  master?: string;
  link?: string;
}

/** Every link in the namespace, with details (`ip -j -d link show`). */
export async function listLinks(ns: string): Promise<LinkInfo[]> {
  return JSON.parse(await ipIn(ns, '-j', '-d', 'link', 'show')) as LinkInfo[];
}

export async function findLink(ns: string, ifname: string): Promise<LinkInfo | undefined> {
  return (await listLinks(ns)).find((l) => l.ifname === ifname);
}

/** The addresses (CIDR strings) on one link of the namespace; empty when the link does not exist. */
export async function linkAddresses(ns: string, ifname: string): Promise<string[]> {
  const out = JSON.parse(await ipIn(ns, '-j', 'addr', 'show')) as {
    ifname: string;
    addr_info?: { local: string; prefixlen: number; scope?: string }[];
  }[];
  const link = out.find((l) => l.ifname === ifname);
  return (link?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`);
}

/** Routes of the namespace (`ip -j route show`), IPv4 by default. */
export async function listRoutes(
  ns: string,
  family: '-4' | '-6' = '-4',
): Promise<{ dst: string; gateway?: string; dev?: string }[]> {
  return JSON.parse(await ipIn(ns, family, '-j', 'route', 'show')) as {
    dst: string;
    gateway?: string;
    dev?: string;
  }[];
}

/**
 * Whether this kernel can create links of `kind` (ipvlan, vlan, dummy, ...). Probes in a throwaway namespace
 * (never in the host's), on a veth parent for the kinds that need one.
 */
export async function probeLinkKind(kind: string): Promise<boolean> {
  const ns = uniqueName('mtprobe', 40);
  await run(ipPath(), ['netns', 'add', ns]);
  try {
    await ipIn(ns, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1');
    const args =
      kind === 'vlan'
        ? ['link', 'add', 'link', 'p0', 'name', 'probe0', 'type', 'vlan', 'id', '10']
        : kind === 'ipvlan' || kind === 'macvlan'
          ? ['link', 'add', 'probe0', 'link', 'p0', 'type', kind]
          : ['link', 'add', 'probe0', 'type', kind];
    const r = await run(ipPath(), ['-n', ns, ...args], { allowFail: true });
    return r.code === 0;
  } finally {
    await run(ipPath(), ['netns', 'delete', ns], { allowFail: true });
  }
}

export interface VethSpec {
  /** Namespace of the first end. */
  ns: string;
  name: string;
  /** Namespace of the peer end (defaults to `ns`). */
  peerNs?: string;
  peerName: string;
  /** Bring both ends up (default true). */
  up?: boolean;
}

type Cleanup = { label: string; fn: () => Promise<unknown> | unknown };

/**
 * A cleanup registry. Everything made through it (namespaces, veth pairs, temp dirs, deferred callbacks) is undone
 * by `cleanup()`, newest first; every step runs even when an earlier one fails, and the failures are thrown
 * together at the end. Create one per test (or per file) and call `cleanup()` in afterEach/afterAll or finally.
 */
export class TestScope {
  /** Every scope of this process that still has undo steps (see cleanupAll). */
  static readonly #live = new Set<TestScope>();
  #steps: Cleanup[] = [];

  constructor() {
    TestScope.#live.add(this);
  }

  /**
   * Cleans every scope of this process that has not been cleaned yet. A safety net for afterAll: vitest skips a
   * test's afterEach hooks when the test's own failure cannot be reported (e.g. a failing toMatchObject with a
   * nested asymmetric matcher overflows the stack in vitest 5.1), and nothing a test made may outlive the file.
   */
  static async cleanupAll(): Promise<void> {
    const failures: unknown[] = [];
    for (const scope of [...TestScope.#live]) {
      await scope.cleanup().catch((err: unknown) => failures.push(err));
    }
    if (failures.length > 0) throw new AggregateError(failures, 'cleanup of leftover test scopes failed');
  }

  /** Registers an undo step. */
  defer(label: string, fn: () => Promise<unknown> | unknown): void {
    this.#steps.push({ label, fn });
  }

  /** A fresh, empty network namespace (only `lo`, down), deleted on cleanup. */
  async netns(prefix = 'mt'): Promise<string> {
    const name = uniqueName(`${prefix}-`, 40);
    await run(ipPath(), ['netns', 'add', name]);
    this.defer(`netns ${name}`, async () => {
      if (netnsExists(name)) await run(ipPath(), ['netns', 'delete', name]);
    });
    return name;
  }

  /**
   * A veth pair created directly inside the given namespaces (never in the host's), so the ends can carry any
   * name, `eth0` included. Deleting either namespace removes the pair; the undo step also deletes it explicitly.
   */
  async veth(spec: VethSpec): Promise<void> {
    const peerNs = spec.peerNs ?? spec.ns;
    await ipIn(
      spec.ns,
      'link',
      'add',
      spec.name,
      'type',
      'veth',
      'peer',
      'name',
      spec.peerName,
      'netns',
      peerNs,
    );
    this.defer(`veth ${spec.ns}/${spec.name}`, async () => {
      if (netnsExists(spec.ns)) {
        await run(ipPath(), ['-n', spec.ns, 'link', 'delete', spec.name], { allowFail: true });
      }
    });
    if (spec.up ?? true) {
      await ipIn(spec.ns, 'link', 'set', spec.name, 'up');
      await ipIn(peerNs, 'link', 'set', spec.peerName, 'up');
    }
  }

  /** A private temp dir (mode 0700), removed recursively on cleanup. */
  async tempDir(prefix = 'multus-ts-'): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.defer(`dir ${dir}`, () => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  /**
   * A bin dir whose every entry runs the real plugin of the same name inside the `node` namespace (see the top of
   * this file for why). Extra executables can be dropped into the returned dir afterwards (fake plugins).
   */
  async nodeBinDir(node: string, pluginDir = CNI_BIN_DIR): Promise<string> {
    const dir = await this.tempDir('multus-ts-bin-');
    const ip = ipPath();
    for (const name of await readdir(pluginDir)) {
      if (!/^[A-Za-z0-9._-]+$/.test(name)) continue;
      const launcher = join(dir, name);
      await writeFile(
        launcher,
        `#!/bin/sh\nexec ${ip} netns exec '${node}' '${join(pluginDir, name)}' "$@"\n`,
      );
      await chmod(launcher, 0o755);
    }
    return dir;
  }

  /** Runs every undo step, newest first; throws an AggregateError naming the steps that failed. */
  async cleanup(): Promise<void> {
    TestScope.#live.delete(this);
    const failures: Error[] = [];
    while (this.#steps.length > 0) {
      const step = this.#steps.pop()!;
      try {
        await step.fn();
      } catch (err) {
        failures.push(new Error(`cleanup of ${step.label} failed: ${(err as Error).message}`));
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, failures.map((f) => f.message).join('; '));
  }
}

/** Moves a link into another namespace under a new name (e.g. a veth end becoming a container's `eth0`). */
export async function moveLink(fromNs: string, name: string, toNs: string, newName = name): Promise<void> {
  await ipIn(fromNs, 'link', 'set', name, 'netns', toNs);
  if (newName !== name) await ipIn(toNs, 'link', 'set', name, 'name', newName);
}
