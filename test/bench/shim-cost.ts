// What one CNI call costs through multus-shim, against a daemon that answers at once, compared with `node`
// doing the same request (read stdin, POST /readyz, POST /cni with the environment and base64 config,
// print the reply). Prints one JSON document. Run: node test/bench/shim-cost.ts
//
// Wall time per call is measured the way a runtime pays it (fork + exec + the call): a bash loop runs the
// program N times and the mean is taken; CPU is the user+sys time of the loop's children (bash `times`).
// The same loop around a static no-op program is the fork/exec floor. Max RSS comes from GNU time (%M).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { rawReply, startFakeDaemon } from '../support/fake-daemon.ts';

const SHIM_DIR = resolve(import.meta.dirname, '../../packages/shim');
const SHIM = join(SHIM_DIR, 'multus-shim');
const GNU_TIME = '/usr/bin/time';
const SHIM_CALLS = 300;
const NODE_CALLS = 20;
const RSS_RUNS = 5;

// The same request in Node, with no dependencies, as a small client would do it.
const NODE_CLIENT = `
const http = require('node:http');
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c)).on('end', () => {
  const config = Buffer.concat(chunks);
  const socketPath = JSON.parse(config).daemonSocketDir + '/multus.sock';
  const post = (path, body, cb) => {
    const req = http.request({ socketPath, path, method: 'POST', headers: {
      'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Connection: 'close',
      'X-Multus-Ts-Output': 'raw' } }, (res) => {
      const got = []; res.on('data', (d) => got.push(d)).on('end', () => cb(res.statusCode, Buffer.concat(got)));
    });
    req.end(body);
  };
  post('/readyz', 'null', () => {
    const env = Object.fromEntries(Object.entries(process.env).sort(([a], [b]) => (a < b ? -1 : 1)));
    post('/cni', JSON.stringify({ env, config: config.toString('base64') }), (status, body) => {
      process.stdout.write(body);
      process.exitCode = status === 200 ? 0 : 1;
    });
  });
});`;

interface Ran {
  code: number | null;
  ms: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Ran> {
  const started = process.hrtime.bigint();
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((res) =>
    child.on('close', (code) =>
      res({ code, ms: Number(process.hrtime.bigint() - started) / 1e6, stdout, stderr }),
    ),
  );
}

function seconds(t: string): number {
  const m = /^(\d+)m([\d.]+)s$/.exec(t);
  if (!m) throw new Error(`unexpected bash \`times\` output: ${t}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

interface CallCost {
  wallMs: number;
  cpuMs: number;
}

/** Mean wall and CPU (user+sys) time of one call over `calls` runs of `argv` in a bash loop. */
async function meanCall(
  argv: string[],
  calls: number,
  confFile: string,
  env: NodeJS.ProcessEnv,
): Promise<CallCost> {
  const loop =
    `for ((i=0;i<${calls};i++)); do "$@" <"$CONF" >/dev/null || { echo "call $i failed" >&2; exit 1; }; done; ` +
    'times';
  const r = await run('/bin/bash', ['-c', loop, 'loop', ...argv], { ...env, CONF: confFile });
  if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  const children = (r.stdout.trim().split('\n')[1] ?? '').split(' ');
  const cpu = seconds(children[0] ?? '') + seconds(children[1] ?? '');
  return { wallMs: r.ms / calls, cpuMs: (cpu * 1000) / calls };
}

/** Highest max RSS (KiB) over a few runs, as GNU time reports it. */
async function maxRssKiB(
  argv: string[],
  confFile: string,
  env: NodeJS.ProcessEnv,
  outFile: string,
): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < RSS_RUNS; i++) {
    const script = `"${GNU_TIME}" -f %M -o "${outFile}" "$@" <"$CONF" >/dev/null`;
    const r = await run('/bin/bash', ['-c', script, 'rss', ...argv], { ...env, CONF: confFile });
    if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
    samples.push(Number(readFileSync(outFile, 'utf8').trim().split('\n').pop()));
  }
  return Math.max(...samples);
}

const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

async function main(): Promise<void> {
  if (!existsSync(GNU_TIME))
    throw new Error(`${GNU_TIME} (GNU time) is needed for max RSS: apt-get install time`);
  execFileSync('make', ['-s', '-C', SHIM_DIR, 'multus-shim'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const daemon = await startFakeDaemon();
  const work = mkdtempSync(join(tmpdir(), 'shim-bench-'));
  try {
    const result = JSON.stringify({
      cniVersion: '1.0.0',
      interfaces: [{ name: 'eth0', sandbox: '/var/run/netns/bench' }],
      ips: [{ address: '10.1.1.5/24', gateway: '10.1.1.1', interface: 0 }],
    });
    const confFile = join(work, '00-multus.conf');
    writeFileSync(
      confFile,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'multus-cni-network',
        type: 'multus-shim',
        daemonSocketDir: daemon.dir,
        clusterNetwork: '/host/etc/cni/net.d/10-kindnet.conflist',
        capabilities: { portMappings: true },
      }),
    );
    const env: NodeJS.ProcessEnv = {
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'a51debf7e1eb0123456789abcdef0123456789abcdef0123456789abcdef01',
      CNI_NETNS: '/var/run/netns/cni-1234',
      CNI_IFNAME: 'eth0',
      CNI_ARGS:
        'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-a;K8S_POD_INFRA_CONTAINER_ID=a51d;K8S_POD_UID=1',
      CNI_PATH: '/opt/cni/bin',
    };
    // the fork/exec floor: a static do-nothing program built with the shim's compiler
    const noop = join(work, 'noop');
    writeFileSync(`${noop}.c`, 'int main(void) { return 0; }\n');
    const cc = execFileSync('make', ['-s', '-C', SHIM_DIR, '--no-print-directory', 'print-cc'], {
      encoding: 'utf8',
    });
    execFileSync(cc.trim(), ['-static', '-O2', '-s', `${noop}.c`, '-o', noop]);
    const shimArgv = [SHIM];
    const nodeArgv = [process.execPath, '-e', NODE_CLIENT];

    // warm the page cache and the daemon, then count only measured calls
    daemon.route('/cni', rawReply(200, result));
    await meanCall(shimArgv, 5, confFile, env);
    await meanCall(nodeArgv, 2, confFile, env);
    daemon.reset();
    daemon.route('/cni', rawReply(200, result));

    const floor = await meanCall([noop], SHIM_CALLS, confFile, env);
    const shim = await meanCall(shimArgv, SHIM_CALLS, confFile, env);
    const node = await meanCall(nodeArgv, NODE_CALLS, confFile, env);
    const served = daemon.requests.filter((r) => r.path === '/cni').length;
    if (served !== SHIM_CALLS + NODE_CALLS) throw new Error(`daemon served ${served} /cni requests`);
    const rssFile = join(work, 'rss');
    const shimRss = await maxRssKiB(shimArgv, confFile, env, rssFile);
    const nodeRss = await maxRssKiB(nodeArgv, confFile, env, rssFile);
    const floorRss = await maxRssKiB([noop], confFile, env, rssFile);
    const size = statSync(SHIM).size;

    const report = {
      binary: {
        path: 'packages/shim/multus-shim',
        sizeBytes: size,
        budgetBytes: 102_400,
        withinBudget: size <= 102_400,
      },
      shim: {
        calls: SHIM_CALLS,
        meanWallMs: round(shim.wallMs),
        meanWallMsAboveForkExecFloor: round(shim.wallMs - floor.wallMs),
        meanCpuMs: round(shim.cpuMs),
        maxRssKiB: shimRss,
        withinTargets: shim.wallMs <= 2 && shimRss <= 2048,
      },
      node: {
        version: process.version,
        calls: NODE_CALLS,
        meanWallMs: round(node.wallMs),
        meanCpuMs: round(node.cpuMs),
        maxRssKiB: nodeRss,
      },
      forkExecFloor: {
        program: 'static no-op built with the same compiler',
        meanWallMs: round(floor.wallMs),
        meanCpuMs: round(floor.cpuMs),
        maxRssKiB: floorRss,
      },
      ratioNodeToShim: {
        wall: round(node.wallMs / shim.wallMs, 1),
        cpu: round(node.cpuMs / Math.max(shim.cpuMs, 0.001), 1),
        maxRss: round(nodeRss / shimRss, 1),
      },
      targets: { meanWallMs: 2, maxRssKiB: 2048, sizeBytes: 102_400 },
      method:
        'mean of N sequential ADD calls in a bash loop (fork+exec included; CPU = user+sys of the children) ' +
        'against the in-process fake daemon (Node) answering /readyz and /cni at once, so the wall time ' +
        "includes two round trips through that daemon's event loop; max RSS by GNU time, highest of 5 runs",
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await daemon.close();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
