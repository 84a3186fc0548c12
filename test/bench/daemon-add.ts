// ADD and DEL latency through multus-shim and the real daemon for pods with 0, 1 and 3 secondary networks, against
// the floor: the same delegate configurations (read from the daemon's delegate cache) run directly by CniRuntime
// with the same launcher bin dir and the same kind of sandbox namespace. Shim and floor runs alternate, so drift
// hits both alike; the overhead is p50(shim) - p50(floor) and the ratio p50(shim) / p50(floor), both from the
// same run. Every measured ADD is warm (the pod was created, and reached the daemon's informer, well before) and
// its API requests are counted by the emulator. Prints one JSON document.
// Run: node test/bench/daemon-add.ts   (BENCH_ADD_RUNS sets the measured runs per case; default 40)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeHarness } from '../support/daemon-harness.ts';
import { TestScope } from '../support/netns.ts';
import {
  type Headline,
  procCpuMs,
  procMemory,
  requireBuild,
  round,
  runBench,
  sleep,
  summarize,
} from './_lib.ts';
import {
  BENCH_LOG_LEVEL,
  bridgeNad,
  createWarmPods,
  delegatesOf,
  dropSandboxes,
  Floor,
  macvlanNad,
  mustSucceed,
  RequestTally,
  timedShim,
} from './_node.ts';
import { onlyProfileIn, profileClockUs, summariseCpuProfile } from './_profile.ts';

const RUNS = Number(process.env['BENCH_ADD_RUNS'] ?? 40);
const WARMUP = 3;
const PROFILE_RUNS = 20;
const TARGET_OVERHEAD_MS = 3;

interface Case {
  label: string;
  networks: string[];
}

const CASES: Case[] = [
  { label: 'eth0 only', networks: [] },
  { label: 'eth0 + 1 macvlan', networks: ['bench-mv'] },
  { label: 'eth0 + 3 (macvlan, 2 bridges)', networks: ['bench-mv', 'bench-br1', 'bench-br2'] },
];

let h: NodeHarness | undefined;
let profileDir: string | undefined;

async function measureCase(node: NodeHarness, c: Case, index: number) {
  const total = WARMUP + RUNS;
  const pods = await createWarmPods(
    node,
    Array.from({ length: total }, (_, i) => `add-${index}-${i}`),
    c.networks,
  );
  const floorCache = await node.scope.tempDir('multus-ts-bench-floor-');
  const floorNs: string[] = [];
  for (let i = 0; i < total; i++) floorNs.push(await node.scope.netns('mts-floor'));

  const shimAdd: number[] = [];
  const shimDel: number[] = [];
  const floorAdd: number[] = [];
  const floorDel: number[] = [];
  const addRequests = new RequestTally();
  const delRequests = new RequestTally();
  let floor: Floor | undefined;
  const pid = node.daemon?.pid;
  if (pid === undefined) throw new Error('daemon-add: the daemon is not running');
  const cpu0 = procCpuMs(pid);
  for (const [i, pod] of pods.entries()) {
    const measured = i >= WARMUP;
    const floorId = `floor${index}x${i}x${process.pid}`;
    const ns = `/run/netns/${floorNs[i]}`;
    node.emulator.stats.reset();
    const add = mustSucceed(node, `ADD ${pod.name}`, await timedShim(node, 'ADD', pod));
    if (!floor) {
      floor = new Floor(node, floorCache, await delegatesOf(node, pod.containerId));
    }
    const fAdd = await floor.run('ADD', floorId, ns);
    // Events are sent after the reply: the floor run above gives them time to land in this window.
    const addWindow = node.emulator.stats.snapshot().byVerbResource;
    node.emulator.stats.reset();
    const del = mustSucceed(node, `DEL ${pod.name}`, await timedShim(node, 'DEL', pod));
    const fDel = await floor.run('DEL', floorId, ns);
    const delWindow = node.emulator.stats.snapshot().byVerbResource;
    if (measured) {
      shimAdd.push(add);
      shimDel.push(del);
      floorAdd.push(fAdd);
      floorDel.push(fDel);
      addRequests.add(addWindow);
      delRequests.add(delWindow);
    }
  }
  const daemonCpuMs = procCpuMs(pid) - cpu0;
  await dropSandboxes(pods);
  const report = (shim: number[], fl: number[]) => {
    const s = summarize(shim);
    const f = summarize(fl);
    const paired = summarize(shim.map((x, i) => x - (fl[i] ?? Number.NaN)));
    return {
      shim: s,
      floor: f,
      overheadMs: round(s.p50 - f.p50),
      ratio: round(s.p50 / f.p50),
      pairedOverheadMs: paired,
    };
  };
  return {
    case: c.label,
    secondaryNetworks: c.networks.length,
    runs: RUNS,
    warmupRuns: WARMUP,
    add: report(shimAdd, floorAdd),
    del: report(shimDel, floorDel),
    apiRequestsPerAdd: {
      byVerbResource: addRequests.perWindow(),
      get: addRequests.verb('get'),
      patch: addRequests.verb('patch'),
    },
    apiRequestsPerDel: { byVerbResource: delRequests.perWindow(), get: delRequests.verb('get') },
    daemonCpuMsPerAddAndDel: round(daemonCpuMs / total, 2),
  };
}

/**
 * Where the daemon spends its time on the warm path: a fresh daemon under --cpu-prof runs PROFILE_RUNS ADD+DEL
 * pairs of one case; only the samples between the first ADD and the last DEL count.
 */
async function profileCase(node: NodeHarness, c: Case) {
  profileDir = mkdtempSync(join(tmpdir(), 'multus-ts-bench-prof-'));
  await node.stopDaemon('SIGTERM');
  await node.startDaemon({ nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] });
  const pods = await createWarmPods(
    node,
    Array.from({ length: PROFILE_RUNS }, (_, i) => `add-prof-${i}`),
    c.networks,
  );
  const fromUs = profileClockUs();
  for (const pod of pods) {
    mustSucceed(node, `ADD ${pod.name}`, await timedShim(node, 'ADD', pod));
    mustSucceed(node, `DEL ${pod.name}`, await timedShim(node, 'DEL', pod));
  }
  const toUs = profileClockUs();
  await dropSandboxes(pods);
  await node.stopDaemon('SIGTERM');
  const summary = summariseCpuProfile(onlyProfileIn(profileDir), 15, { fromUs, toUs });
  return {
    case: c.label,
    addDelPairs: PROFILE_RUNS,
    daemonBusyMsPerAddAndDel: round(summary.busyMs / PROFILE_RUNS, 2),
    ...summary,
  };
}

async function body() {
  requireBuild();
  const node = await NodeHarness.start({ daemonConfig: { logLevel: BENCH_LOG_LEVEL } });
  h = node;
  await node.createNad('default', 'bench-mv', macvlanNad(node, 'bench-mv', '192.168.50.0/24'));
  await node.createNad('default', 'bench-br1', bridgeNad(node, 'bench-br1', 'benchbr1', '192.168.51.0/24'));
  await node.createNad('default', 'bench-br2', bridgeNad(node, 'bench-br2', 'benchbr2', '192.168.52.0/24'));
  await sleep(300);

  const cases = [];
  for (const [i, c] of CASES.entries()) {
    process.stderr.write(`daemon-add: ${c.label} (${WARMUP}+${RUNS} runs)\n`);
    cases.push(await measureCase(node, c, i));
  }
  const pid = node.daemon?.pid;
  if (pid === undefined) throw new Error('daemon-add: the daemon is not running');
  const memory = procMemory(pid);
  process.stderr.write(`daemon-add: CPU profile of ${CASES[1]!.label} (${PROFILE_RUNS} runs)\n`);
  const profile = await profileCase(node, CASES[1]!);
  const left = await node.leftovers();
  const links = left.links.filter((l) => !['benchbr1', 'benchbr2'].includes(l));
  if (links.length + left.leases.length + left.cache.length > 0)
    throw new Error(`daemon-add: leftovers after DEL: ${JSON.stringify({ ...left, links })}`);

  const one = cases[1]!;
  const headline: Headline[] = [
    {
      name: 'warm ADD overhead, eth0 + 1 macvlan (p50)',
      value: round(one.add.overheadMs, 1),
      unit: 'ms',
      target: `<= ${TARGET_OVERHEAD_MS} ms`,
      met: one.add.overheadMs <= TARGET_OVERHEAD_MS,
    },
    {
      name: 'warm ADD, eth0 + 1 macvlan: shim vs floor (p50)',
      value: `${round(one.add.shim.p50, 1)} ms vs ${round(one.add.floor.p50, 1)} ms (x${round(one.add.ratio, 2)})`,
      unit: '',
    },
    {
      name: 'DEL overhead, eth0 + 1 macvlan (p50)',
      value: round(one.del.overheadMs, 1),
      unit: 'ms',
    },
    {
      name: 'daemon CPU per warm ADD+DEL, eth0 + 1 macvlan (profile)',
      value: `${round(profile.daemonBusyMsPerAddAndDel, 1)} ms, ${profile.top
        .slice(0, 2)
        .map((t) => `${t.function} ${t.selfPct}%`)
        .join(', ')}`,
      unit: '',
    },
    {
      name: 'API requests per warm ADD (GET / PATCH)',
      value: `${one.apiRequestsPerAdd.get} / ${one.apiRequestsPerAdd.patch}`,
      unit: 'requests',
      target: '0 / 1',
      met: cases.every((c) => c.apiRequestsPerAdd.get === 0 && c.apiRequestsPerAdd.patch === 1),
    },
  ];
  return {
    name: 'daemon-add: ADD/DEL latency at the shim vs the delegates run directly',
    headline,
    cases,
    target: { warmAddOverheadP50Ms: TARGET_OVERHEAD_MS, getPerAdd: 0, patchPerAdd: 1 },
    daemonMemoryAfterKiB: memory,
    cpuProfile: profile,
    method:
      'per case: WARMUP+RUNS pods created up front (informer-warm); for each: shim ADD, floor ADD, shim DEL, ' +
      'floor DEL (ms from spawn to exit / around the CniRuntime calls); floor = the delegate configs from the ' +
      "daemon's delegate cache run in order by CniRuntime with the same launcher bin dir (plugins run in the " +
      "node netns via `ip netns exec`); API counts from the emulator's stats per ADD and per DEL window; " +
      `daemon logLevel ${BENCH_LOG_LEVEL}; then a fresh daemon under --cpu-prof runs ${PROFILE_RUNS} ADD+DEL ` +
      'pairs of the eth0 + 1 macvlan case (not timed), summarised to the top 15 functions by self time',
  };
}

await runBench('daemon-add', 4 * 60_000, body, async () => {
  await h?.stop();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  await TestScope.cleanupAll();
});
