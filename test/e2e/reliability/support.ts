// Shared pieces of the reliability suite: the soak switch, raw requests on the daemon's socket, the leak check every
// fault ends with, and waiting for delegate processes a killed daemon left behind.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join, relative } from 'node:path';
import { expect } from 'vitest';
import { NodeHarness, type SandboxRef, type ShimOutcome } from '../../support/daemon-harness.ts';
import { listLinks, netnsExists } from '../../support/netns.ts';

/** `make soak` sets RELIABILITY_SOAK=1: the same tests with counts (and timeouts) scaled up. */
export const SOAK = process.env['RELIABILITY_SOAK'] === '1';

/** `bounded` in `make test`, `soak` under `make soak`. */
export function scaled(bounded: number, soak: number): number {
  return SOAK ? soak : bounded;
}

export const NETWORKS = 'k8s.v1.cni.cncf.io/networks';

export interface RawReply {
  status: number;
  body: string;
  /** The body as JSON, when it is JSON. */
  json: Record<string, unknown> | undefined;
}

/** One request on the daemon's unix socket; the body is sent as given (bytes or text), nothing is encoded. */
export function postRaw(
  h: NodeHarness,
  path: string,
  body: string | Buffer,
  opts: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: join(h.socketDir, 'multus.sock'),
        method: opts.method ?? 'POST',
        path,
        headers: { 'content-type': 'application/json', host: 'localhost', ...opts.headers },
        timeout: opts.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Record<string, unknown> | undefined;
          try {
            const v: unknown = JSON.parse(text);
            json =
              typeof v === 'object' && v !== null && !Array.isArray(v)
                ? (v as Record<string, unknown>)
                : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`${path}: no answer within ${opts.timeoutMs ?? 30_000} ms`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A wire body in the daemon's format: `{"env":{...},"config":"<base64>"}`. */
export function wireBody(env: Record<string, string>, config: string | Buffer, extra: object = {}): string {
  return JSON.stringify({ env, config: Buffer.from(config).toString('base64'), ...extra });
}

/** The CNI environment the runtime would send for this sandbox. */
export function cniEnv(sb: SandboxRef, command: string, ifName = 'eth0'): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: sb.containerId,
    CNI_NETNS: sb.netns,
    CNI_IFNAME: ifName,
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${sb.namespace};K8S_POD_NAME=${sb.name};K8S_POD_INFRA_CONTAINER_ID=${sb.containerId};K8S_POD_UID=${sb.uid}`,
  };
}

/** The CNI error code a shim run printed (0 for success). */
export function shimCode(out: ShimOutcome): number {
  if (out.code === 0) return 0;
  const code = out.json?.['code'];
  return typeof code === 'number' ? code : -1;
}

/**
 * host-local keeps its leases in `<dataDir>/<network name>/<ip>`, one level deeper than h.leftovers() looks (it
 * lists `<ipamDir>/<net>/` only, so it never sees a lease): every file named like an IP, at any depth.
 */
async function leaseFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /^[0-9a-f.:]+$/i.test(e.name) && /[.:]/.test(e.name))
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** Everything a fully torn-down node must not have: h.leftovers() plus leases, result-cache entries, temp files. */
export async function leaks(h: NodeHarness): Promise<{
  links: string[];
  leases: string[];
  cache: string[];
  results: string[];
}> {
  const base = await h.leftovers();
  const resultsDir = join(h.cniDir, 'results');
  const results = existsSync(resultsDir) ? await readdir(resultsDir) : [];
  return { links: base.links, leases: await leaseFiles(h.ipamDir), cache: base.cache, results };
}

/** Asserts the node is clean, with the daemon's log tail in the message when it is not. */
export async function expectNoLeaks(h: NodeHarness, sandboxes: readonly SandboxRef[] = []): Promise<void> {
  const found = await leaks(h);
  expect(found, `leaks after teardown; daemon log tail:\n${h.daemonLog.slice(-3000)}`).toEqual({
    links: [],
    leases: [],
    cache: [],
    results: [],
  });
  for (const sb of sandboxes) {
    if (!netnsExists(sb.netnsName)) continue;
    const left = (await listLinks(sb.netnsName)).map((l) => l.ifname).filter((n) => n !== 'lo');
    expect(left, `interfaces left in the pod netns of ${sb.name}`).toEqual([]);
  }
}

/** After h.stop(): none of the pod network namespaces this file made may still exist. */
export function expectNetnsGone(sandboxes: readonly SandboxRef[]): void {
  expect(sandboxes.filter((sb) => netnsExists(sb.netnsName)).map((sb) => sb.netnsName)).toEqual([]);
}

/** Pids of CNI plugin processes (anything still running) whose environment names one of these containers. */
export function pluginProcessesFor(containerIds: readonly string[]): number[] {
  const wanted = new Set(containerIds.map((id) => `CNI_CONTAINERID=${id}`));
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${name}/environ`, 'latin1');
    } catch {
      continue;
    }
    if (environ.split('\0').some((kv) => wanted.has(kv))) pids.push(Number(name));
  }
  return pids.filter((p) => p !== process.pid);
}

/** Waits until no plugin process for these containers runs any more (orphans of a killed daemon finish). */
export async function waitForPluginsToFinish(
  containerIds: readonly string[],
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = pluginProcessesFor(containerIds);
    if (pids.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(`plugin processes still running after ${timeoutMs} ms: ${pids}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls `probe` until it returns true, or throws `what` after `timeoutMs`. */
export async function waitUntil(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The daemon process is still the one we started and has not exited. */
export function expectDaemonAlive(h: NodeHarness): void {
  expect(h.daemon, 'no daemon process').toBeDefined();
  expect(
    { exitCode: h.daemon?.exitCode ?? null, signal: h.daemon?.signalCode ?? null },
    `the daemon died; log tail:\n${h.daemonLog.slice(-3000)}`,
  ).toEqual({ exitCode: null, signal: null });
}

/**
 * The node most reliability tests run on: a daemon at cniVersion 1.0.0 and a macvlan NAD `mv` on `subnet`. With
 * `warmUp`, one pod is added and deleted first so the cluster bridge exists before a burst (the bridge plugin races
 * on creating it); that pod is returned so the caller can check its netns is gone at the end.
 */
export async function startMacvlanNode(
  subnet: string,
  warmUp: boolean,
): Promise<{ h: NodeHarness; warm?: SandboxRef }> {
  const h = await NodeHarness.start({ cniVersion: '1.0.0' });
  await h.createNad('default', 'mv', {
    cniVersion: '1.0.0',
    type: 'macvlan',
    master: 'eth0',
    mode: 'bridge',
    ipam: h.hostLocal('mv', { subnet }),
  });
  if (!warmUp) return { h };
  const warm = await h.createPod({ name: 'warm-up' });
  expect(shimCode(await h.shim('ADD', warm))).toBe(0);
  expect(shimCode(await h.shim('DEL', warm))).toBe(0);
  return { h, warm };
}
