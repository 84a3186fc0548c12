// A small Kubernetes API client on node:http/https: JSON requests and line-delimited watch streams, keep-alive
// connections, bearer tokens re-read as they rotate, TLS with the cluster's CA or a client certificate. It does
// only what the daemon needs (list, watch, get, merge patch, create) at a fraction of a general client's memory.
import http from 'node:http';
import https from 'node:https';
import type { KubeTarget } from './config.ts';

export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  /** HTTP status (numeric `code`, as the daemon's apiStatus() reads it). */
  readonly code: number;
  readonly reason: string | undefined;

  constructor(code: number, message: string, reason?: string) {
    super(message);
    this.code = code;
    this.reason = reason;
  }
}

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
}

export type WatchHandler = (type: string, object: Record<string, unknown>) => void;

const MAX_BODY_BYTES = 64 * 1024 * 1024;
const MAX_LINE_BYTES = 16 * 1024 * 1024;

function toPath(path: string, query: RequestOptions['query']): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') params.set(k, v);
  const q = params.toString();
  return q ? `${path}?${q}` : path;
}

function errorFrom(status: number, text: string): KubeApiError {
  try {
    const s = JSON.parse(text) as { message?: string; reason?: string };
    return new KubeApiError(status, s.message ?? `HTTP ${status}`, s.reason);
  } catch {
    return new KubeApiError(status, `HTTP ${status}: ${text.slice(0, 200)}`);
  }
}

/** How long an agent replaced by setTarget() keeps its connections: a watch's server timeout plus margin. */
const RETIRED_AGENT_GRACE_MS = 330_000;

export class KubeClient {
  #target: KubeTarget;
  #url: URL;
  #agent: http.Agent;
  #lib: typeof http | typeof https;
  readonly #timeoutMs: number;
  readonly #maxSockets: number;
  readonly #retired = new Set<{ agent: http.Agent; timer: NodeJS.Timeout }>();

  constructor(target: KubeTarget, opts: { timeoutMs?: number; maxSockets?: number } = {}) {
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#maxSockets = opts.maxSockets ?? 16;
    this.#target = target;
    this.#url = new URL(target.server);
    this.#lib = this.#url.protocol === 'https:' ? https : http;
    this.#agent = this.#makeAgent(target);
  }

  get target(): KubeTarget {
    return this.#target;
  }

  #makeAgent(target: KubeTarget): http.Agent {
    return this.#url.protocol === 'https:'
      ? new https.Agent({
          keepAlive: true,
          maxSockets: this.#maxSockets,
          ...(target.ca ? { ca: target.ca } : {}),
          ...(target.cert ? { cert: target.cert } : {}),
          ...(target.key ? { key: target.key } : {}),
          rejectUnauthorized: !target.insecureSkipTlsVerify,
        })
      : new http.Agent({ keepAlive: true, maxSockets: this.#maxSockets });
  }

  /**
   * Switches to new credentials (a rotated client certificate): every request from now on uses a new agent. The
   * old agent's requests in flight, watches included, go on and it is destroyed after a grace period (watches
   * still open then break and their informers re-watch from their resourceVersion), so a rotation never fails
   * a request.
   */
  setTarget(target: KubeTarget, graceMs = RETIRED_AGENT_GRACE_MS): void {
    const old = this.#agent;
    this.#target = target;
    this.#url = new URL(target.server);
    this.#lib = this.#url.protocol === 'https:' ? https : http;
    this.#agent = this.#makeAgent(target);
    const entry = {
      agent: old,
      timer: setTimeout(() => {
        this.#retired.delete(entry);
        old.destroy();
      }, graceMs),
    };
    entry.timer.unref();
    this.#retired.add(entry);
  }

  #headers(accept: string, contentType?: string): http.OutgoingHttpHeaders {
    const token = this.#target.token();
    return {
      accept,
      'user-agent': 'multus-ts',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(contentType ? { 'content-type': contentType } : {}),
    };
  }

  #base(): string {
    return this.#url.pathname.replace(/\/+$/, '');
  }

  /** One JSON request; resolves with the parsed body of a 2xx answer, rejects with KubeApiError otherwise. */
  request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const body = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    return new Promise<T>((resolve, reject) => {
      const req = this.#lib.request(
        {
          protocol: this.#url.protocol,
          hostname: this.#url.hostname,
          port: this.#url.port,
          method,
          path: this.#base() + toPath(path, opts.query),
          agent: this.#agent,
          headers: {
            ...this.#headers('application/json', body ? (opts.contentType ?? 'application/json') : undefined),
            ...(body ? { 'content-length': body.length } : {}),
          },
          timeout: opts.timeoutMs ?? this.#timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY_BYTES) req.destroy(new Error(`response larger than ${MAX_BODY_BYTES} bytes`));
            else chunks.push(c);
          });
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) return reject(errorFrom(status, text));
            try {
              resolve((text === '' ? {} : JSON.parse(text)) as T);
            } catch (err) {
              reject(err);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /**
   * Streams a watch: calls `onEvent` for each event until the server ends the stream (resolves) or the request
   * fails (rejects; a non-2xx answer as KubeApiError). `idleMs` bounds a silent connection.
   */
  watch(
    path: string,
    query: RequestOptions['query'],
    onEvent: WatchHandler,
    signal: AbortSignal,
    idleMs: number,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const req = this.#lib.request({
        protocol: this.#url.protocol,
        hostname: this.#url.hostname,
        port: this.#url.port,
        method: 'GET',
        path: this.#base() + toPath(path, { ...query, watch: 'true' }),
        agent: this.#agent,
        headers: this.#headers('application/json'),
        signal,
        timeout: idleMs,
      });
      req.on('timeout', () => req.destroy(new Error(`watch ${path}: no data for ${idleMs} ms`)));
      req.on('error', reject);
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          let text = '';
          res.setEncoding('utf8').on('data', (c: string) => {
            if (text.length < 65536) text += c;
          });
          res.on('end', () => reject(errorFrom(status, text)));
          return;
        }
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          pending += chunk;
          if (pending.length > MAX_LINE_BYTES)
            return req.destroy(new Error('watch event larger than the limit'));
          let nl = pending.indexOf('\n');
          while (nl >= 0) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (line !== '') {
              try {
                const ev = JSON.parse(line) as { type?: string; object?: Record<string, unknown> };
                if (ev.type && ev.object) onEvent(ev.type, ev.object);
              } catch (err) {
                return req.destroy(err as Error);
              }
            }
            nl = pending.indexOf('\n');
          }
        });
        res.on('end', () => resolve());
        res.on('error', reject);
      });
      req.end();
    });
  }

  close(): void {
    this.#agent.destroy();
    for (const r of this.#retired) {
      clearTimeout(r.timer);
      r.agent.destroy();
    }
    this.#retired.clear();
  }
}
