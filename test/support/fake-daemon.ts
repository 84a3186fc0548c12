// A fake multus daemon on a unix socket, for testing multus-shim without the real daemon.
// It speaks just enough HTTP/1.1 to read one request per connection (the shim always sends
// `Connection: close`), records it, and answers with whatever the test configured: a normal reply
// (Content-Length, chunked, or until-close framing), raw bytes (garbage), a delay, a hang, or a close.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RecordedRequest {
  method: string;
  path: string;
  httpVersion: string;
  /** Header names lower-cased; a repeated header keeps its last value. */
  headers: Record<string, string>;
  /** The request head exactly as received, for byte-level checks. */
  head: string;
  body: Buffer;
}

export interface HttpReply {
  kind: 'http';
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** How the body is framed: Content-Length (default), chunked (chunks of `chunkSize`), or until close. */
  framing?: 'length' | 'chunked' | 'close';
  chunkSize?: number;
  delayMs?: number;
}

export type Reply =
  | HttpReply
  /** Bytes written as they are, then the connection is closed. */
  | { kind: 'bytes'; bytes: string | Buffer; delayMs?: number }
  /** Never answer (the connection stays open until the daemon is stopped). */
  | { kind: 'hang' }
  /** Close the connection without answering. */
  | { kind: 'close'; delayMs?: number };

export type Route = Reply | ((req: RecordedRequest) => Reply);

export interface FakeDaemon {
  dir: string;
  socketPath: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** Connections accepted (including ones that never completed a request). */
  connections: number;
  route(path: string, route: Route): void;
  /** Forgets recorded requests and restores the default routes (/readyz, /healthz: 200; /cni: raw 200 ''). */
  reset(): void;
  /** Stops listening, drops every connection and removes the socket file. */
  stop(): Promise<void>;
  /** stop() and remove the temporary directory. */
  close(): Promise<void>;
}

/** Our daemon's reply: the body is exactly what the shim must print. */
export function rawReply(status: number, body: string | Buffer): HttpReply {
  return {
    kind: 'http',
    status,
    headers: { 'Content-Type': 'application/json', 'X-Multus-Ts-Output': 'raw' },
    body,
  };
}

/** An upstream (Go) daemon's reply: `{"Result":...}`, a CNI error JSON, or plain text. */
export function upstreamReply(status: number, body: string, contentType = 'application/json'): HttpReply {
  return { kind: 'http', status, headers: { 'Content-Type': contentType }, body };
}

const REASONS: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  404: 'Not Found',
  500: 'Internal Server Error',
};
const MAX_REQUEST = 64 * 1024 * 1024;

function parseHead(head: string): Omit<RecordedRequest, 'body'> | undefined {
  const lines = head.split('\r\n');
  const [method, path, httpVersion] = (lines[0] ?? '').split(' ');
  if (!method || !path || !httpVersion) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { method, path, httpVersion, headers, head };
}

function encodeReply(reply: HttpReply): Buffer {
  const body = typeof reply.body === 'string' ? Buffer.from(reply.body) : (reply.body ?? Buffer.alloc(0));
  const framing = reply.framing ?? 'length';
  const lines = [`HTTP/1.1 ${reply.status} ${REASONS[reply.status] ?? 'Status'}`];
  for (const [k, v] of Object.entries(reply.headers ?? {})) lines.push(`${k}: ${v}`);
  if (framing === 'length') lines.push(`Content-Length: ${body.length}`);
  if (framing === 'chunked') lines.push('Transfer-Encoding: chunked');
  lines.push('Connection: close', '', '');
  const head = Buffer.from(lines.join('\r\n'));
  if (framing !== 'chunked') return Buffer.concat([head, body]);
  const size = Math.max(1, reply.chunkSize ?? 1000);
  const parts: Buffer[] = [head];
  for (let off = 0; off < body.length; off += size) {
    const chunk = body.subarray(off, off + size);
    parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

function defaultRoutes(): Map<string, Route> {
  return new Map<string, Route>([
    ['/readyz', { kind: 'http', status: 200, headers: { 'Content-Type': 'application/json' } }],
    ['/healthz', { kind: 'http', status: 200 }],
    ['/cni', rawReply(200, '')],
  ]);
}

export async function startFakeDaemon(options: { dir?: string } = {}): Promise<FakeDaemon> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'fake-multus-'));
  const socketPath = join(dir, 'multus.sock');
  const routes = defaultRoutes();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const daemon: FakeDaemon = {
    dir,
    socketPath,
    requests: [],
    connections: 0,
    route: (path, route) => routes.set(path, route),
    reset: () => {
      daemon.requests.length = 0;
      daemon.connections = 0;
      routes.clear();
      for (const [path, route] of defaultRoutes()) routes.set(path, route);
    },
    stop: () => stop(),
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };

  const later = (ms: number | undefined, fn: () => void): void => {
    if (!ms) {
      fn();
      return;
    }
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const answer = (socket: Socket, req: RecordedRequest): void => {
    const route = routes.get(req.path) ?? { kind: 'http', status: 404 };
    const reply = typeof route === 'function' ? route(req) : route;
    if (reply.kind === 'hang') return;
    if (reply.kind === 'close') {
      later(reply.delayMs, () => socket.destroy());
      return;
    }
    const bytes = reply.kind === 'bytes' ? Buffer.from(reply.bytes) : encodeReply(reply);
    later(reply.delayMs, () => socket.end(bytes));
  };

  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    daemon.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    let done = false;
    socket.on('data', (data: Buffer) => {
      if (done) return;
      buffered = Buffer.concat([buffered, data]);
      if (buffered.length > MAX_REQUEST) return socket.destroy();
      const headEnd = buffered.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = parseHead(buffered.subarray(0, headEnd).toString('latin1'));
      if (!head) return socket.destroy();
      const length = Number(head.headers['content-length'] ?? '0');
      if (!Number.isSafeInteger(length) || length < 0) return socket.destroy();
      if (buffered.length < headEnd + 4 + length) return;
      done = true;
      const req = { ...head, body: buffered.subarray(headEnd + 4, headEnd + 4 + length) };
      daemon.requests.push(req);
      answer(socket, req);
    });
  });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const t of timers) clearTimeout(t);
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(socketPath, { force: true });
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return daemon;
}

/**
 * Leaves a socket file at `socketPath` that nobody listens on, the way a crashed daemon does: a child
 * process binds it and is killed with SIGKILL, so connect() gets ECONNREFUSED.
 */
export async function leaveStaleSocket(socketPath: string): Promise<void> {
  const script =
    "const s=require('node:net').createServer();s.listen(process.argv[1],()=>process.stdout.write('up'));";
  const child = spawn(process.execPath, ['-e', script, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`stale-socket helper exited early (${code})`)));
    child.stdout.once('data', () => resolve());
  });
  child.removeAllListeners('exit');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}
