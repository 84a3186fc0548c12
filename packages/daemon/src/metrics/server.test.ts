import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonMetrics } from './registry.ts';
import { type MetricsServer, metricsBindAddress, startMetricsServer } from './server.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(
  port: number,
  path: string,
  method = 'GET',
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends raw bytes and returns whatever the server answered before closing. */
function raw(port: number, data: string): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1', () => sock.write(data));
    let got = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      got += d;
    });
    sock.on('close', () => resolve(got));
    sock.on('error', () => resolve(got));
  });
}

const started: MetricsServer[] = [];
const blockers: Server[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) await s.close();
  for (const b of blockers.splice(0)) await new Promise((r) => b.close(r));
});

async function start(
  opts: { port?: number; notReady?: () => string | undefined; metrics?: DaemonMetrics } = {},
) {
  const logs: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const metrics = opts.metrics ?? new DaemonMetrics({ defaultMetrics: false });
  const srv = startMetricsServer({
    port: opts.port ?? 0,
    host: '127.0.0.1',
    metrics,
    notReadyReason: opts.notReady ?? (() => undefined),
    log: (level, msg, fields) => logs.push({ level, msg, fields }),
    maxRetryDelayMs: 100,
  });
  started.push(srv);
  return { srv, logs, metrics };
}

describe('metrics HTTP server', () => {
  it('serves the exposition on /metrics in the Prometheus text format', async () => {
    const { srv, metrics } = await start();
    await srv.listening();
    metrics.onServerResponse('/cni', 200, 'POST');
    const port = srv.address()!.port;
    const res = await get(port, '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toContain('multus_server_request_total{handler="/cni",code="200",method="post"} 1');
    const head = await get(port, '/metrics', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect((await get(port, '/metrics?x=1')).status).toBe(200);
  });

  it('answers kubelet probes: /healthz always, /readyz 500 with the reason while not ready', async () => {
    let why: string | undefined = 'pod informer not synced';
    const { srv } = await start({ notReady: () => why });
    await srv.listening();
    const port = srv.address()!.port;
    expect(await get(port, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    expect(await get(port, '/readyz')).toMatchObject({
      status: 500,
      body: 'not ready: pod informer not synced\n',
    });
    why = 'shutting down';
    expect((await get(port, '/readyz')).status).toBe(500);
    why = undefined;
    expect(await get(port, '/readyz')).toMatchObject({ status: 200, body: 'ok\n' });
  });

  it('refuses other methods and paths', async () => {
    const { srv } = await start();
    await srv.listening();
    const port = srv.address()!.port;
    const post = await get(port, '/metrics', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers['allow']).toBe('GET, HEAD');
    expect((await get(port, '/readyz', 'DELETE')).status).toBe(405);
    expect((await get(port, '/')).status).toBe(404);
    expect((await get(port, '/metrics/../debug/pprof')).status).toBe(404);
    expect((await get(port, '/debug/pprof/')).status).toBe(404);
  });

  it('rejects oversized headers and garbage without affecting the next scrape', async () => {
    const { srv } = await start();
    await srv.listening();
    const port = srv.address()!.port;
    const huge = await raw(
      port,
      `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`,
    );
    expect(huge).toMatch(/^HTTP\/1\.1 431/);
    const garbage = await raw(port, '\x00\x01NOT HTTP AT ALL\r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1\.1 400/);
    expect((await get(port, '/metrics')).status).toBe(200);
  });

  it('keeps retrying a port in use, without failing, and listens once it is free', async () => {
    const blocker = createServer();
    blockers.push(blocker);
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as AddressInfo).port;
    const { srv, logs } = await start({ port });
    const waitFor = async (what: () => boolean) => {
      for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 10));
    };
    await waitFor(() => logs.length >= 2);
    expect(srv.address()).toBeUndefined();
    expect(
      logs.filter((l) => l.level === 'error' && l.fields['code'] === 'EADDRINUSE').length,
    ).toBeGreaterThan(1);
    await new Promise((r) => blocker.close(r));
    blockers.splice(0);
    await srv.listening();
    expect(srv.address()?.port).toBe(port);
    expect((await get(port, '/healthz')).status).toBe(200);
  });

  it('close stops a server that never managed to listen', async () => {
    const blocker = createServer();
    blockers.push(blocker);
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const { srv } = await start({ port: (blocker.address() as AddressInfo).port });
    await srv.close();
    expect(srv.address()).toBeUndefined();
  });
});

describe('metricsBindAddress', () => {
  it('accepts IP literals and "" (every interface); absent means every interface', () => {
    expect(metricsBindAddress({})).toBeUndefined();
    expect(metricsBindAddress({ metricsBindAddress: null })).toBeUndefined();
    expect(metricsBindAddress({ metricsBindAddress: '' })).toBeUndefined();
    expect(metricsBindAddress({ metricsBindAddress: '127.0.0.1' })).toBe('127.0.0.1');
    expect(metricsBindAddress({ metricsBindAddress: '0.0.0.0' })).toBe('0.0.0.0');
    expect(metricsBindAddress({ metricsBindAddress: '::1' })).toBe('::1');
    expect(metricsBindAddress({ metricsBindAddress: 'fd00::10' })).toBe('fd00::10');
  });

  it('rejects anything else with a message naming the key', () => {
    for (const bad of [
      'localhost',
      '127.0.0.1:9091',
      '256.1.1.1',
      ' 127.0.0.1',
      '[::1]',
      9091,
      true,
      {},
      ['::1'],
    ]) {
      expect(() => metricsBindAddress({ metricsBindAddress: bad }), String(bad)).toThrow(
        /metricsBindAddress/,
      );
    }
  });
});
