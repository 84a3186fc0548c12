// Library overhead of a CNI ADD: loopback ADD in a throwaway namespace through CniRuntime (find, inject, exec,
// decode, convert, cache write) versus spawning the same plugin binary by hand with the same environment and
// stdin. Runs alternate between the two so drift hits both alike. Prints one JSON document on stdout:
//   {name, n, p50, min, max, ratio, target, direct: {p50, min, max}, exec: {p50, min, max}, execRatio}
// (milliseconds; ratio = p50 / direct.p50). `exec` is execPlugin alone with the same inputs, i.e. the whole
// runtime minus lookup, result conversion and the durable cache write, to show where the overhead lives.
// `helper` is that same execPlugin call with the multus-spawn helper doing the fork/exec (HelperSpawner), and
// helperRatio its p50 / direct.p50. The fork this saves grows with the size of the forking process: this
// benchmark's Node is small, the daemon is 2-3 times larger, so the gain here is a lower bound.
// Target: ratio <= 1.2 (reported, not asserted). `node test/bench/cni-overhead.ts [runs]`.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  buildPluginEnv,
  CniRuntime,
  execPlugin,
  HelperSpawner,
  parseNetworkConfig,
  pluginConfigBytes,
} from '@multus-ts/cni';
import { CNI_BIN_DIR, netnsPath, requireHostTools, TestScope } from '../support/netns.ts';

const runs = Number(process.argv[2] ?? process.env['BENCH_RUNS'] ?? 200);
const SPAWN_HELPER = join(import.meta.dirname, '../../packages/shim/multus-spawn');
const warmup = 10;

interface Stats {
  p50: number;
  min: number;
  max: number;
}

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    p50: round(sorted[Math.floor(sorted.length / 2)] ?? Number.NaN),
    min: round(sorted[0] ?? Number.NaN),
    max: round(sorted.at(-1) ?? Number.NaN),
  };
}

/** The plugin run by hand: spawn, write stdin, read stdout to the end, check the exit status. */
function byHand(path: string, env: Record<string, string>, stdin: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`loopback exited ${code}: ${Buffer.concat(out).toString()}`));
      else {
        JSON.parse(Buffer.concat(out).toString('utf8'));
        resolve();
      }
    });
    child.stdin.end(stdin);
  });
}

async function main(): Promise<void> {
  requireHostTools(['loopback']);
  if (!existsSync(SPAWN_HELPER)) {
    throw new Error(`cni-overhead: multus-spawn is missing at ${SPAWN_HELPER}: run \`make build\` first`);
  }
  const helper = new HelperSpawner({
    helperPath: SPAWN_HELPER,
    onFallback: (reason) => {
      throw new Error(`cni-overhead: HelperSpawner fell back to direct spawning: ${reason}`);
    },
  });
  const scope = new TestScope();
  scope.defer('spawn helper', () => helper.close());
  try {
    const ns = await scope.netns('bench');
    const cacheDir = await scope.tempDir('multus-ts-bench-cache-');
    const list = parseNetworkConfig(
      JSON.stringify({ cniVersion: '1.0.0', name: 'bench-lo', plugins: [{ type: 'loopback' }] }),
    );
    const rt = { containerId: 'bench-c1', netns: netnsPath(ns), ifName: 'lo' };
    const runtime = new CniRuntime({ binDirs: [CNI_BIN_DIR], cacheDir, timeoutMs: 30_000 });

    // Exactly what CniRuntime hands the plugin.
    const plugin = list.plugins[0]!;
    const stdin = pluginConfigBytes(plugin, { name: list.name, cniVersion: list.cniVersion });
    const env = buildPluginEnv({
      command: 'ADD',
      containerId: rt.containerId,
      netns: rt.netns,
      ifName: rt.ifName,
      path: [CNI_BIN_DIR],
    });
    const loopback = `${CNI_BIN_DIR}/loopback`;

    const viaRuntime: number[] = [];
    const direct: number[] = [];
    const viaExec: number[] = [];
    const viaHelper: number[] = [];
    for (let i = 0; i < warmup + runs; i++) {
      let t = performance.now();
      await runtime.addNetworkList(list, rt);
      const a = performance.now() - t;
      t = performance.now();
      await byHand(loopback, env, stdin);
      const b = performance.now() - t;
      t = performance.now();
      await execPlugin({ pluginPath: loopback, command: 'ADD', ...rt, path: [CNI_BIN_DIR], stdin });
      const c = performance.now() - t;
      t = performance.now();
      await execPlugin({
        pluginPath: loopback,
        command: 'ADD',
        ...rt,
        path: [CNI_BIN_DIR],
        stdin,
        spawner: helper,
      });
      const h = performance.now() - t;
      if (i >= warmup) {
        viaRuntime.push(a);
        direct.push(b);
        viaExec.push(c);
        viaHelper.push(h);
      }
    }
    await runtime.delNetworkList(list, rt);
    const r = stats(viaRuntime);
    const d = stats(direct);
    const e = stats(viaExec);
    const ratio = Math.round((r.p50 / d.p50) * 1000) / 1000;
    const execRatio = Math.round((e.p50 / d.p50) * 1000) / 1000;
    const h = stats(viaHelper);
    const helperRatio = Math.round((h.p50 / d.p50) * 1000) / 1000;
    process.stderr.write(
      `cni-overhead: runtime p50 ${r.p50} ms, by hand ${d.p50} ms, execPlugin ${e.p50} ms, ` +
        `execPlugin via HelperSpawner ${h.p50} ms, ratio ${ratio}, helper ratio ${helperRatio}\n`,
    );
    process.stdout.write(
      `${JSON.stringify({ name: 'cni-overhead: loopback ADD via CniRuntime vs by hand', n: runs, ...r, ratio, target: 1.2, direct: d, exec: e, execRatio, helper: { name: 'execPlugin via HelperSpawner', ...h }, helperRatio })}\n`,
    );
  } finally {
    await scope.cleanup();
  }
}

await main();
