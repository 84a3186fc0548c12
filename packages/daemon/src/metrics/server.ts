// The metrics HTTP server on `metricsPort`: /metrics for Prometheus, /healthz and /readyz for kubelet probes.
// Upstream binds ":<port>" (every interface) and retries a failed listen forever in a busy loop; here a failed
// listen (port in use) is retried with backoff and never stops the daemon: CNI keeps working without metrics.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { DaemonMetrics } from './registry.ts';

/** `metricsBindAddress` (ours): an IP literal; "" or absent means every interface, as upstream. */
export const MetricsBindAddressSchema = z.union([z.literal(''), z.ipv4(), z.ipv6()], {
  error: 'metricsBindAddress must be an IPv4 or IPv6 address (or "" for every interface)',
});

/** Reads and checks `metricsBindAddress` from the raw daemon-config object (undefined: every interface). */
export function metricsBindAddress(raw: Readonly<Record<string, unknown>>): string | undefined {
  const v = raw['metricsBindAddress'];
  if (v === undefined || v === null) return undefined;
  const parsed = MetricsBindAddressSchema.safeParse(v);
  if (!parsed.success) throw new Error(parsed.error.issues[0]?.message ?? 'invalid metricsBindAddress');
  return parsed.data === '' ? undefined : parsed.data;
}

export interface MetricsServerOptions {
  port: number;
  /** undefined: every interface. */
  host?: string | undefined;
  metrics: DaemonMetrics;
  /** /readyz answers 200 only while this returns undefined; otherwise 500 with the reason. */
  notReadyReason: () => string | undefined;
  log?: (level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>) => void;
  maxRetryDelayMs?: number;
}

export interface MetricsServer {
  /** The bound address once listening (port 0 picks a free port). */
  address(): AddressInfo | undefined;
  /** Resolves once listening (it keeps retrying until then, or until close). */
  listening(): Promise<void>;
  close(): Promise<void>;
}

const TEXT = 'text/plain; charset=utf-8';

function reply(res: ServerResponse, code: number, body: string, type = TEXT): void {
  res.writeHead(code, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function handle(opts: MetricsServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const known = path === '/metrics' || path === '/healthz' || path === '/readyz';
  if (!known) return reply(res, 404, '404 page not found\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return reply(res, 405, 'Method not allowed\n');
  }
  if (path === '/healthz') return reply(res, 200, 'ok\n');
  if (path === '/readyz') {
    const why = opts.notReadyReason();
    return why === undefined ? reply(res, 200, 'ok\n') : reply(res, 500, `not ready: ${why}\n`);
  }
  try {
    reply(res, 200, await opts.metrics.exposition(), opts.metrics.contentType);
  } catch (err) {
    opts.log?.('error', 'metrics collection failed', { err: (err as Error).message });
    reply(res, 500, 'metrics collection failed\n');
  }
}

export function startMetricsServer(opts: MetricsServerOptions): MetricsServer {
  const server: Server = createServer((req, res) => {
    void handle(opts, req, res);
  });
  // Scrapes and probes are tiny: bound what a client can make the server hold on to.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.maxHeadersCount = 64;
  server.keepAliveTimeout = 5_000;

  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let delay = 500;
  let resolveListening!: () => void;
  const listening = new Promise<void>((r) => {
    resolveListening = r;
  });

  const attempt = () => {
    if (closed) return;
    server.once('error', onError);
    server.listen({ port: opts.port, ...(opts.host ? { host: opts.host } : {}) }, () => {
      server.off('error', onError);
      const a = server.address() as AddressInfo;
      opts.log?.('info', 'metrics server listening', { address: a.address, port: a.port });
      resolveListening();
    });
  };
  const onError = (err: NodeJS.ErrnoException) => {
    opts.log?.('error', 'metrics server cannot listen: retrying', {
      err: err.message,
      code: err.code,
      retryInMs: delay,
    });
    timer = setTimeout(attempt, delay);
    timer.unref();
    delay = Math.min(delay * 2, opts.maxRetryDelayMs ?? 30_000);
  };
  attempt();

  return {
    address: () => (server.listening ? (server.address() as AddressInfo) : undefined),
    listening: () => listening,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      server.off('error', onError);
      if (!server.listening) return;
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
