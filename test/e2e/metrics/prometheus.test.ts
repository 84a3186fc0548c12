// A real Prometheus scrapes a real multus-daemon while pods are added and deleted through the real shim: the
// metrics an operator would alert on arrive with the labels docs/operations.md promises, the exposition passes
// `promtool check metrics`, the kubelet probe endpoints answer, and the daemon's log lines name their request.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeHarness, type SandboxRef } from '../../support/daemon-harness.ts';
import { TestScope } from '../../support/netns.ts';

const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';
const DASHBOARD = join(import.meta.dirname, '..', '..', '..', 'deployments', 'grafana-dashboard.json');

function requirePrometheus(): void {
  for (const bin of [PROMETHEUS, PROMTOOL]) {
    if (!existsSync(bin)) {
      throw new Error(
        `e2e: ${bin} is missing: install the Debian package "prometheus" (scripts/deps.sh does)`,
      );
    }
  }
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

const scope = new TestScope();
let h: NodeHarness;
let prom: ChildProcess | undefined;
let promLog = '';
let metricsPort: number;
let promPort: number;
let logFile: string;
const sandboxes: SandboxRef[] = [];

async function query(q: string): Promise<Sample[]> {
  const res = await httpGet(promPort, `/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = JSON.parse(res.body) as { status: string; data?: { result: Sample[] }; error?: string };
  if (body.status !== 'success') throw new Error(`query ${q}: ${body.error ?? res.body}`);
  return body.data!.result;
}

/** Waits until `q` returns series and `ok` accepts them (Prometheus scrapes once a second). */
function scraped(q: string, ok: (s: Sample[]) => boolean = (s) => s.length > 0): Promise<Sample[]> {
  return until(`Prometheus to see ${q}\n--- prometheus log ---\n${promLog.slice(-1500)}`, async () => {
    const s = await query(q);
    return ok(s) ? s : undefined;
  });
}

const num = (s: Sample | undefined) => Number(s?.value[1]);

beforeAll(async () => {
  requirePrometheus();
  metricsPort = await freePort();
  const dir = await scope.tempDir('mts-e2e-prom-');
  logFile = join(dir, 'log', 'multus.log');
  h = await NodeHarness.start({
    cniVersion: '1.0.0',
    daemonConfig: { metricsPort, metricsBindAddress: '127.0.0.1', logFile },
  });
  await h.createNad('default', 'mv', {
    cniVersion: '1.0.0',
    type: 'macvlan',
    master: 'eth0',
    mode: 'bridge',
    ipam: h.hostLocal('mv', { subnet: '10.7.1.0/24' }),
  });
  // A delegate that fails: macvlan on a parent the node does not have.
  await h.createNad('default', 'broken', {
    cniVersion: '1.0.0',
    type: 'macvlan',
    master: 'no-such-parent',
    ipam: h.hostLocal('broken', { subnet: '10.7.2.0/24' }),
  });

  promPort = await freePort();
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: multus',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${metricsPort}']`,
      '',
    ].join('\n'),
  );
  prom = spawn(
    PROMETHEUS,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const s of [prom.stdout, prom.stderr]) {
    s?.setEncoding('utf8').on('data', (d: string) => {
      promLog += d;
    });
  }
  scope.defer('prometheus', async () => {
    const p = prom;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  });
  await until(`prometheus to be ready\n${promLog}`, async () => {
    if (prom?.exitCode !== null) throw new Error(`prometheus exited with ${prom?.exitCode}:\n${promLog}`);
    return (await httpGet(promPort, '/-/ready')).status === 200 ? true : undefined;
  });
}, 90_000);

afterAll(async () => {
  for (const sb of sandboxes.splice(0)) await h?.shim('DEL', sb).catch(() => undefined);
  await h?.stop();
  await scope.cleanup().catch(() => undefined);
  await TestScope.cleanupAll();
});

describe('Prometheus scraping multus-daemon', () => {
  it('sees the target up and the request, delegate and state metrics of an ADD and a DEL', async () => {
    await scraped('up{job="multus"} == 1');

    const sb = await h.createPod({ name: 'scraped', annotations: { 'k8s.v1.cni.cncf.io/networks': 'mv' } });
    sandboxes.push(sb);
    const add = await h.shim('ADD', sb);
    expect(add.code, `${add.stdout}\n${h.daemonLog.slice(-3000)}`).toBe(0);
    const del = await h.shim('DEL', sb);
    expect(del.code, del.stdout).toBe(0);
    sandboxes.splice(sandboxes.indexOf(sb), 1);

    const requests = await scraped(
      'multus_server_request_total{handler="/cni",code="200",method="post"}',
      (s) => num(s[0]) >= 2,
    );
    expect(requests).toHaveLength(1);

    for (const command of ['ADD', 'DEL']) {
      const cni = await scraped(
        `multus_cni_request_duration_seconds_count{command="${command}",result="success"}`,
      );
      expect(num(cni[0])).toBeGreaterThanOrEqual(1);
      // the cluster network (bridge) and the macvlan attachment, per plugin type (IPAM runs inside them)
      for (const plugin of ['bridge', 'macvlan']) {
        const d = await scraped(
          `multus_delegate_duration_seconds_count{plugin="${plugin}",command="${command}",result="success"}`,
        );
        expect(num(d[0])).toBeGreaterThanOrEqual(1);
      }
    }
    const buckets = await scraped('multus_delegate_duration_seconds_bucket{plugin="macvlan",command="ADD"}');
    expect(buckets.map((b) => b.metric['le'])).toContain('+Inf');
    // the dashboard's latency query (rate needs two scrapes of the series, so this may take a second)
    const p99 = await scraped(
      'histogram_quantile(0.99, sum by (le, plugin) (rate(multus_delegate_duration_seconds_bucket[1m])))',
      (s) => s.some((x) => x.metric['plugin'] === 'macvlan'),
    );
    expect(p99.map((s) => s.metric['plugin']).sort()).toEqual(['bridge', 'macvlan']);

    const synced = await scraped('multus_informer_synced == 1', (s) => s.length === 2);
    expect(synced.map((s) => s.metric['informer']).sort()).toEqual([
      'network-attachment-definitions',
      'pods',
    ]);
    const nads = await scraped('multus_informer_cached_objects{informer="network-attachment-definitions"}');
    expect(num(nads[0])).toBe(2);
    await scraped('multus_kube_api_requests_total{verb="patch",resource="pods/status",code="200"}');
    await scraped('multus_kube_api_requests_total{verb="list",resource="pods",code="200"}');
    const ready = await scraped('multus_ready');
    expect(num(ready[0])).toBe(1);
    await scraped('multus_delegate_cache_entries == 0');
    await scraped('multus_delegate_queue_depth == 0');
    await scraped('process_resident_memory_bytes > 0');
    await scraped('nodejs_heap_size_used_bytes > 0');
  });

  it('counts a failing delegate by plugin type and CNI code', async () => {
    const sb = await h.createPod({
      name: 'broken-pod',
      annotations: { 'k8s.v1.cni.cncf.io/networks': 'broken' },
    });
    sandboxes.push(sb);
    const add = await h.shim('ADD', sb);
    expect(add.code).not.toBe(0);
    const errors = await scraped('multus_delegate_errors_total{plugin="macvlan",command="ADD"}');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.metric['code']).toMatch(/^(\d+|plugin|other)$/);
    await scraped('multus_cni_request_duration_seconds_count{command="ADD",result="error"} >= 1');
    await scraped('multus_server_request_total{handler="/cni",code="400",method="post"} >= 1');
  });

  it('every query of the Grafana dashboard is valid and finds data', async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      panels: { title: string; targets?: { expr: string }[] }[];
    };
    const exprs = dashboard.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })),
    );
    expect(exprs.length).toBeGreaterThan(15);
    for (const { panel, expr } of exprs) {
      const q = expr.replaceAll('$instance', '.*').replaceAll('$__rate_interval', '1m');
      const result = await scraped(q);
      expect(result.length, `${panel}: ${q}`).toBeGreaterThan(0);
    }
  });

  it('serves an exposition that promtool accepts, and probe endpoints on the same port', async () => {
    const res = await httpGet(metricsPort, '/metrics');
    expect(res.status).toBe(200);
    const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: res.body, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`).toBe('');
    expect(check.status).toBe(0);
    expect(await httpGet(metricsPort, '/healthz')).toMatchObject({ status: 200 });
    expect(await httpGet(metricsPort, '/readyz')).toMatchObject({ status: 200 });
  });

  it("logs every request's lines with its container, pod, command, ifname and network, and no credentials", () => {
    const lines = readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const scrapedPod = lines.filter((l) => l['pod'] === 'default/scraped');
    const commands = new Set(scrapedPod.map((l) => l['command']));
    expect(commands).toEqual(new Set(['ADD', 'DEL']));
    const first = scrapedPod.find((l) => l['command'] === 'ADD')!;
    for (const l of lines.filter((x) => x['containerID'] === first['containerID'])) {
      expect(l, JSON.stringify(l)).toMatchObject({
        pod: 'default/scraped',
        command: expect.any(String),
        ifname: expect.any(String),
        network: expect.any(String),
      });
    }
    // the macvlan plugin's own run names its interface, not the request's eth0
    const macvlanRuns = scrapedPod.filter((l) => l['plugin'] === 'macvlan');
    expect(macvlanRuns.map((l) => [l['command'], l['ifname'], l['network']])).toEqual([
      ['ADD', 'net1', 'mv'],
      ['DEL', 'net1', 'mv'],
    ]);
    const text = readFileSync(logFile, 'utf8');
    expect(text).not.toContain(h.emulator.token);
  });
});

describe('without metricsPort', () => {
  it('the daemon opens no TCP port at all (upstream: no metrics server)', async () => {
    const plain = await NodeHarness.start({ cniVersion: '1.0.0' });
    try {
      const pid = plain.daemon!.pid!;
      const inodes = new Set<string>();
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        let target: string;
        try {
          target = readlinkSync(`/proc/${pid}/fd/${fd}`, { encoding: 'utf8' });
        } catch {
          continue; // closed between the listing and the read
        }
        const m = /^socket:\[(\d+)\]$/.exec(target);
        if (m) inodes.add(m[1]!);
      }
      const listening: string[] = [];
      for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
        for (const row of readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
          const cols = row.trim().split(/\s+/);
          if (cols[3] === '0A' && inodes.has(cols[9]!)) listening.push(`${table} ${cols[1]}`);
        }
      }
      expect(inodes.size).toBeGreaterThan(0); // the unix socket at least: the probe does see the daemon's sockets
      expect(listening).toEqual([]);
    } finally {
      await plain.stop();
    }
  });
});
