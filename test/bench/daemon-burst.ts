// Bursts: 50, 100 and 200 pods whose sandboxes all start at once (every ADD in flight together, then every DEL),
// each pod with eth0 from the cluster network and net1 from a bridge NAD. Reports wall time, failures, per-call
// latency, the daemon's peak RSS and CPU time, and the API requests of the burst. The daemon is restarted for each
// size so its VmHWM belongs to that burst; the 100-pod burst runs under `--cpu-prof` and the profile is summarised
// to the functions with the most self time. Prints one JSON document.
// Run: node test/bench/daemon-burst.ts   (BENCH_BURST_SIZES=50,100,200 by default)
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NodeHarness, type SandboxRef } from '../support/daemon-harness.ts';
import { TestScope } from '../support/netns.ts';
import {
  type Headline,
  procCpuMs,
  procMemory,
  RssSampler,
  requireBuild,
  round,
  runBench,
  summarize,
} from './_lib.ts';
import {
  BENCH_LOG_LEVEL,
  bridgeNad,
  createWarmPods,
  dropSandboxes,
  type TimedShim,
  timedShim,
} from './_node.ts';
import { onlyProfileIn, profileClockUs, summariseCpuProfile } from './_profile.ts';

const SIZES = (process.env['BENCH_BURST_SIZES'] ?? '50,100,200').split(',').map(Number);
const PROFILED_SIZE = 100;
const TARGET_PEAK_RSS_MIB = 200;

const QUEUE_POLL_MS = 100;
const QUEUE_GAUGE = 'multus_delegate_queue_depth';

let h: NodeHarness | undefined;
let profileDir: string | undefined;

/** A free TCP port on the loopback address for the daemon's metrics server. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  await new Promise<void>((r) => srv.close(() => r()));
  if (addr === null || typeof addr === 'string') throw new Error('daemon-burst: no free port');
  return addr.port;
}

/**
 * Polls the daemon's /metrics for the delegate queue gauge (requests waiting for an execution slot) and keeps the
 * peak. A daemon without the endpoint or the gauge leaves `observed` at 0 and the first error in `error`.
 */
class QueueSampler {
  peak = 0;
  observed = 0;
  error: string | undefined;
  #timer: NodeJS.Timeout;
  #busy = false;

  constructor(port: number) {
    this.#timer = setInterval(() => void this.#poll(port), QUEUE_POLL_MS);
  }

  async #poll(port: number): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
      const text = await res.text();
      const m = new RegExp(`^${QUEUE_GAUGE}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
      if (!m) throw new Error(`/metrics (HTTP ${res.status}) has no ${QUEUE_GAUGE}`);
      this.peak = Math.max(this.peak, Number(m[1]));
      this.observed++;
    } catch (err) {
      this.error ??= (err as Error).message;
    } finally {
      this.#busy = false;
    }
  }

  stop() {
    clearInterval(this.#timer);
    return this.observed > 0
      ? { observable: true as const, peak: this.peak, samples: this.observed }
      : { observable: false as const, why: this.error ?? 'no sample taken' };
  }
}

/** Starts every call at once and tracks how many are outstanding at the same time. */
async function fire(node: NodeHarness, command: 'ADD' | 'DEL', pods: readonly SandboxRef[]) {
  let outstanding = 0;
  let peakOutstanding = 0;
  const t = performance.now();
  const results: TimedShim[] = await Promise.all(
    pods.map(async (p) => {
      outstanding++;
      peakOutstanding = Math.max(peakOutstanding, outstanding);
      try {
        return await timedShim(node, command, p);
      } finally {
        outstanding--;
      }
    }),
  );
  const wallMs = performance.now() - t;
  const failures = results.filter((r) => r.code !== 0);
  return {
    wallMs: round(wallMs, 1),
    failures: failures.length,
    firstFailures: failures.slice(0, 3).map((f) => `exit ${f.code}: ${f.detail}`),
    perCallMs: summarize(results.map((r) => r.ms)),
    peakOutstandingCalls: peakOutstanding,
  };
}

async function burst(node: NodeHarness, size: number, metricsPort: number) {
  const profiled = size === PROFILED_SIZE;
  if (profiled) profileDir = mkdtempSync(join(tmpdir(), 'multus-ts-bench-prof-'));
  await node.startDaemon({
    nodeArgs: profiled && profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  });
  const pid = node.daemon?.pid;
  if (pid === undefined) throw new Error('daemon-burst: the daemon did not start');
  const idle = procMemory(pid);
  const pods = await createWarmPods(
    node,
    Array.from({ length: size }, (_, i) => `burst-${size}-${i}`),
    ['bench-burst'],
    1000,
  );
  const sampler = new RssSampler(pid);
  const queue = new QueueSampler(metricsPort);
  const cpu0 = procCpuMs(pid);
  const fromUs = profileClockUs();
  node.emulator.stats.reset();
  const add = await fire(node, 'ADD', pods);
  const addRequests = node.emulator.stats.snapshot().byVerbResource;
  node.emulator.stats.reset();
  const del = await fire(node, 'DEL', pods);
  const delRequests = node.emulator.stats.snapshot().byVerbResource;
  const toUs = profileClockUs();
  const cpuMs = procCpuMs(pid) - cpu0;
  const peakSampledKiB = sampler.stop();
  const queueDepth = queue.stop();
  const after = procMemory(pid);
  const left = await node.leftovers();
  await dropSandboxes(pods);
  await node.stopDaemon('SIGTERM');
  let profile: ReturnType<typeof summariseCpuProfile> | undefined;
  if (profiled && profileDir) profile = summariseCpuProfile(onlyProfileIn(profileDir), 15, { fromUs, toUs });
  process.stderr.write(
    `daemon-burst: ${size} pods: ADD ${add.wallMs} ms (${add.failures} failed), DEL ${del.wallMs} ms ` +
      `(${del.failures} failed), peak RSS ${Math.round(after.vmHwmKiB / 1024)} MiB\n`,
  );
  return {
    pods: size,
    add,
    del,
    failures: add.failures + del.failures,
    daemon: {
      idleRssBeforeKiB: idle.vmRssKiB,
      peakRssKiB: after.vmHwmKiB,
      peakRssSampledKiB: peakSampledKiB,
      rssAfterKiB: after.vmRssKiB,
      cpuMs,
      cpuMsPerPod: round(cpuMs / size, 2),
    },
    queueDepth,
    apiRequests: { add: addRequests, del: delRequests },
    leftovers: {
      links: left.links.filter((l) => l !== 'benchbrb'),
      leases: left.leases.length,
      cacheFiles: left.cache.length,
    },
    ...(profile ? { cpuProfile: profile } : {}),
  };
}

async function body() {
  requireBuild();
  const metricsPort = await freePort();
  const node = await NodeHarness.start({
    daemonConfig: { logLevel: BENCH_LOG_LEVEL, metricsPort, metricsBindAddress: '127.0.0.1' },
    deferDaemon: true,
  });
  h = node;
  await node.createNad(
    'default',
    'bench-burst',
    bridgeNad(node, 'bench-burst', 'benchbrb', '192.168.60.0/23'),
  );
  const bursts = [];
  for (const size of SIZES) bursts.push(await burst(node, size, metricsPort));
  const biggest = bursts.at(-1)!;
  const peakMiB = round(biggest.daemon.peakRssKiB / 1024, 1);
  const profile = bursts.find((b) => b.cpuProfile)?.cpuProfile;
  const headline: Headline[] = [
    {
      name: `${biggest.pods}-pod burst: failures (ADD + DEL)`,
      value: biggest.failures,
      unit: '',
      target: '0',
      met: biggest.failures === 0,
    },
    {
      name: `${biggest.pods}-pod burst: daemon peak RSS`,
      value: peakMiB,
      unit: 'MiB',
      target: `<= ${TARGET_PEAK_RSS_MIB} MiB`,
      met: peakMiB <= TARGET_PEAK_RSS_MIB,
    },
    {
      name: `${biggest.pods}-pod burst: wall time ADD / DEL`,
      value: `${round(biggest.add.wallMs / 1000, 2)} / ${round(biggest.del.wallMs / 1000, 2)}`,
      unit: 's',
    },
    {
      name: `${biggest.pods}-pod burst: delegate queue depth peak`,
      value: biggest.queueDepth.observable ? biggest.queueDepth.peak : 'not observable',
      unit: biggest.queueDepth.observable ? 'requests' : '',
    },
    ...(profile
      ? [
          {
            name: `${PROFILED_SIZE}-pod burst: top functions by self time (CPU profile, share of busy)`,
            value: profile.top
              .slice(0, 3)
              .map((t) => `${t.function} ${t.selfPct}%`)
              .join(', '),
            unit: '',
          },
        ]
      : []),
  ];
  return {
    name: 'daemon-burst: many pods at once, ADD then DEL',
    headline,
    bursts,
    queueDepthNote:
      `${QUEUE_GAUGE} polled every ${QUEUE_POLL_MS} ms from the daemon's /metrics during each burst (peak of ` +
      'the samples); it counts requests waiting for one of the maxConcurrentDelegates execution slots ' +
      `(default max(4, 2 x CPUs) = ${Math.max(4, 2 * availableParallelism())} here); peakOutstandingCalls is ` +
      'the client-side number of shim calls in flight at once',
    target: { failures: 0, peakRssMiB: TARGET_PEAK_RSS_MIB },
    method:
      'per size: fresh daemon (metricsPort set, so /metrics is served); pods created and informer-warm first; every shim ADD spawned at once, then every ' +
      'DEL; peak RSS = VmHWM of the daemon (also VmRSS polled every 20 ms); CPU = utime+stime from /proc; ' +
      `the ${PROFILED_SIZE}-pod run under --cpu-prof (1 ms sampling), samples from the first ADD to the last ` +
      "DEL only, top 15 functions by self time mapped through the bundle's source map (`spawn` self time is " +
      "the synchronous fork+exec of each delegate, which grows with the daemon's RSS); " +
      `logLevel ${BENCH_LOG_LEVEL}`,
  };
}

await runBench('daemon-burst', 4 * 60_000, body, async () => {
  await h?.stop();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  await TestScope.cleanupAll();
});
