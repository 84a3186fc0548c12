// multus-daemon's HTTP API on a unix socket (root only: the directory is 0700, the socket 0600).
// Paths, methods, status codes and bodies follow upstream's daemon so upstream's multus-shim works unchanged;
// our own shim asks (header X-Multus-Ts-Output: raw) for exactly the bytes it must print.
import { chmod, link, lstat, mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CniError } from '@multus-ts/cni';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { DAEMON_ERRORS } from '../catalogue.ts';
import { type CniCall, decodeCall } from './wire.ts';

export const RAW_OUTPUT_HEADER = 'x-multus-ts-output';
/** Bodies are UTF-8 JSON; anything else is refused (code 6) rather than decoded lossily into names and paths. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
export const DEFAULT_BODY_LIMIT = 8 * 1024 * 1024;

export interface CniReply {
  /** The cniVersion the caller's config asked for; errors are printed with it. */
  cniVersion: string;
  /** ADD's result, already in `cniVersion`; absent for the other commands. */
  result?: Record<string, unknown>;
}

export interface CniService {
  cni(call: CniCall): Promise<CniReply>;
  delegate(call: CniCall): Promise<CniReply>;
}

export type HandlerLabel = '/cni' | '/delegate' | '/healthz' | '/readyz' | 'NotFound';

export interface ServerOptions {
  socketPath: string;
  service: CniService;
  /** /readyz answers 200 only while this returns true. */
  isReady: () => boolean;
  bodyLimit?: number;
  /** Called once per answered request (metrics). */
  onResponse?: (handler: HandlerLabel, statusCode: number, method: string) => void;
}

/** Best effort: the cniVersion a failing request's config declares, so its error prints in that version. */
function sniffCniVersion(call: CniCall | undefined): string {
  if (!call) return '1.1.0';
  try {
    const v = (JSON.parse(Buffer.from(call.config).toString('utf8')) as { cniVersion?: unknown }).cniVersion;
    return typeof v === 'string' && /^\d+\.\d+\.\d+$/.test(v) ? v : '1.1.0';
  } catch {
    return '1.1.0';
  }
}

function wantsRaw(req: FastifyRequest): boolean {
  return req.headers[RAW_OUTPUT_HEADER] === 'raw';
}

function sendError(
  req: FastifyRequest,
  reply: FastifyReply,
  err: CniError,
  cniVersion: string,
): FastifyReply {
  const raw = wantsRaw(req);
  if (raw) reply.header(RAW_OUTPUT_HEADER, 'raw');
  return reply
    .code(400)
    .type('application/json')
    .send(JSON.stringify(err.toJSON(raw ? cniVersion : undefined)));
}

function methodNotAllowed(reply: FastifyReply): FastifyReply {
  return reply
    .code(405)
    .header('x-content-type-options', 'nosniff')
    .type('text/plain; charset=utf-8')
    .send('Method not allowed\n');
}

export function buildServer(opts: ServerOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // One request per connection, as upstream: the shim sends Connection: close.
    keepAliveTimeout: 1,
    return503OnClosing: true,
    // No route has a schema (bodies are decoded by wire.ts with zod): these stand-ins keep fastify from loading
    // ajv and fast-json-stringify at all (~1 MiB of the daemon's memory). They would only be called for a schema.
    schemaController: {
      compilersFactory: {
        buildValidator: () => () => {
          throw new Error('multus-daemon routes have no validation schemas');
        },
        buildSerializer: () => () => {
          throw new Error('multus-daemon routes have no serialization schemas');
        },
      },
    },
  });
  const labels = new WeakMap<FastifyRequest, HandlerLabel>();

  app.addHook('onResponse', async (req, reply) => {
    opts.onResponse?.(labels.get(req) ?? 'NotFound', reply.statusCode, req.method);
  });

  // Every body reaches the handlers as parsed JSON; malformed JSON becomes a CNI decode error (code 6).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => {
    let text: string;
    try {
      text = UTF8.decode(body as Buffer);
    } catch {
      return done(CniError.of(DAEMON_ERRORS, 'ERR_BODY_NOT_UTF8'), undefined);
    }
    if (text.trim() === '') return done(null, null);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(CniError.of(DAEMON_ERRORS, 'ERR_BODY_NOT_JSON'), undefined);
    }
  });

  app.setErrorHandler((error, req, reply) => {
    const e = error as { code?: unknown; statusCode?: number };
    const cniErr =
      error instanceof CniError
        ? error
        : e.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? CniError.of(DAEMON_ERRORS, 'ERR_BODY_TOO_LARGE', { max: opts.bodyLimit ?? DEFAULT_BODY_LIMIT })
          : e.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' || e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
            ? CniError.of(DAEMON_ERRORS, 'ERR_BODY_NOT_JSON')
            : CniError.of(DAEMON_ERRORS, 'ERR_INTERNAL', { message: (error as Error).message });
    return sendError(req, reply, cniErr, '1.1.0');
  });

  const cniRoute = (label: '/cni' | '/delegate', run: (call: CniCall) => Promise<CniReply>) =>
    app.all(label, async (req, reply) => {
      labels.set(req, label);
      if (req.method !== 'POST') return methodNotAllowed(reply);
      let call: CniCall | undefined;
      try {
        call = decodeCall(req.body);
        if (label === '/cni' && wantsRaw(req) && call.command !== 'DEL' && !opts.isReady()) {
          // Draining: our shim sends straight to /cni and, on this answer, waits on /readyz for the next daemon,
          // as upstream's shim waits before sending anything. DEL still goes through.
          return reply.code(503).header(RAW_OUTPUT_HEADER, 'raw').type('application/json').send('');
        }
        const out = await run(call);
        if (wantsRaw(req)) {
          reply.header(RAW_OUTPUT_HEADER, 'raw');
          return reply
            .code(200)
            .type('application/json')
            .send(out.result ? `${JSON.stringify(out.result)}\n` : '');
        }
        return reply
          .code(200)
          .type('application/json')
          .send(out.result ? JSON.stringify({ Result: out.result }) : '');
      } catch (err) {
        return sendError(req, reply, CniError.wrap(err), sniffCniVersion(call));
      }
    });
  cniRoute('/cni', (call) => opts.service.cni(call));
  cniRoute('/delegate', (call) => opts.service.delegate(call));

  app.all('/healthz', async (req, reply) => {
    labels.set(req, '/healthz');
    if (req.method !== 'GET' && req.method !== 'POST') return methodNotAllowed(reply);
    return reply.code(200).send('');
  });
  app.all('/readyz', async (req, reply) => {
    labels.set(req, '/readyz');
    if (req.method !== 'GET' && req.method !== 'POST') return methodNotAllowed(reply);
    return reply
      .code(opts.isReady() ? 200 : 500)
      .type('application/json')
      .send('');
  });
  app.setNotFoundHandler(async (req, reply) => {
    labels.set(req, 'NotFound');
    return reply.code(404).send('');
  });
  return app;
}

/**
 * Prepares the socket directory (0700, created if needed, never wiped: it may be a host path shared with other
 * files) and removes a stale socket left by a previous run, then listens and restricts the socket to 0600.
 */
export async function listenOnSocket(app: FastifyInstance, socketPath: string): Promise<void> {
  const dir = dirname(socketPath);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  try {
    const st = await lstat(socketPath);
    if (!st.isSocket()) throw new Error(`${socketPath} exists and is not a socket`);
    await rm(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await app.listen({ path: socketPath });
  await chmod(socketPath, 0o600);
}

/**
 * Closes the server but leaves the socket file in place (Node removes it on close). A shim that finds the socket
 * path but no daemon answers DEL with "try again later" (code 11) instead of "multus is gone, nothing to do":
 * during a restart or an upgrade, a DEL must be retried, not dropped. Uninstall removes the file instead.
 */
export async function closeKeepingSocket(app: FastifyInstance, socketPath: string): Promise<void> {
  const keep = `${socketPath}.keep-${process.pid}`;
  let kept = false;
  try {
    await link(socketPath, keep);
    kept = true;
  } catch {
    // No socket file (already gone): nothing to keep.
  }
  await app.close();
  if (kept) await rename(keep, socketPath);
}
