// Reading request bodies (with the server's size limit) and writing JSON and Status answers.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { goDecodeKindError } from './go-json.ts';
import { errors, type KubeError } from './status.ts';
import { isObject } from './types.ts';

/** kube-apiserver's default --max-request-bytes for a JSON body (3 MiB). */
export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;

/** Reads the body; past `limit` it keeps draining (so the client can read our 413) and then throws the 413. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  const drainCap = limit * 16;
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = Number.isFinite(declared) && declared > limit;
  if (tooLarge && declared > drainCap) throw errors.tooLarge(limit);
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) tooLarge = true;
    if (size > drainCap) break;
    if (!tooLarge) chunks.push(chunk);
  }
  if (tooLarge) throw errors.tooLarge(limit);
  return Buffer.concat(chunks);
}

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export { mediaType };

/**
 * Parses a create/update body: JSON (also when no Content-Type is given) or YAML; anything else is a 415. A
 * JSON body that is not an object is the decoder's 400 for `kind` (what the URL expects).
 */
export async function parseObjectBody(
  req: IncomingMessage,
  raw: Buffer,
  kind = 'Object',
): Promise<Record<string, unknown>> {
  const type = mediaType(req);
  let value: unknown;
  if (type === '' || type === 'application/json') {
    if (goDecodeKindError(raw.toString('utf8')) !== undefined) throw errors.unrecognizedBody(kind, raw);
    value = JSON.parse(raw.toString('utf8'));
  } else if (type === 'application/yaml') {
    const { loadYaml } = await import('@kubernetes/client-node');
    try {
      value = loadYaml(raw.toString('utf8'));
    } catch (err) {
      throw errors.badRequest(`error converting YAML to JSON: ${(err as Error).message}`);
    }
  } else {
    throw errors.unsupportedMediaType([
      'application/json',
      'application/yaml',
      'application/vnd.kubernetes.protobuf',
    ]);
  }
  if (!isObject(value))
    throw errors.badRequest("couldn't get version/kind; json parse error: body is not an object");
  if (value.metadata !== undefined && !isObject(value.metadata)) {
    throw errors.badRequest('json: cannot unmarshal into Go struct field .metadata of type v1.ObjectMeta');
  }
  return value;
}

function commonHeaders(): Record<string, string> {
  return { 'Audit-Id': randomUUID(), 'Cache-Control': 'no-cache, private' };
}

export function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(code, {
    ...commonHeaders(),
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendText(res: ServerResponse, code: number, text: string) {
  res.writeHead(code, {
    ...commonHeaders(),
    'Content-Type': 'text/plain; charset=utf-8',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: KubeError, extra: Record<string, string> = {}) {
  sendJson(res, err.code, err.status, { ...err.headers, ...extra });
}

/** Go's strconv.ParseBool, which the server uses for boolean query parameters. */
export function parseBool(v: string | null): boolean | undefined {
  if (v === null) return undefined;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  throw errors.badRequest(`strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

export function parseIntParam(name: string, v: string | null): number | undefined {
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v))
    throw errors.badRequest(
      `${name}: Invalid value: ${JSON.stringify(v)}: strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`,
    );
  return Number(v);
}
