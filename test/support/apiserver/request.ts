// One HTTPS request to the real API server, trusting its test CA: what the helpers use for readiness checks and
// bootstrap objects (no discovery, no client library in the way, every status code visible).
import { request as httpsRequest } from 'node:https';

export interface ApiTarget {
  url: string;
  caPem: string;
  token: string;
}

export interface ApiResponse {
  status: number;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export function apiRequest(
  target: ApiTarget,
  method: string,
  path: string,
  body?: unknown,
  opts: { token?: string; contentType?: string; timeoutMs?: number } = {},
): Promise<ApiResponse> {
  const url = new URL(path, target.url);
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method,
        ca: target.caPem,
        headers: {
          accept: 'application/json',
          authorization: `Bearer ${opts.token ?? target.token}`,
          ...(payload === undefined
            ? {}
            : {
                'content-type': opts.contentType ?? 'application/json',
                'content-length': Buffer.byteLength(payload),
              }),
        },
        timeout: opts.timeoutMs ?? 10_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`${method} ${path}: no answer in ${opts.timeoutMs ?? 10_000} ms`)),
    );
    req.on('error', reject);
    req.end(payload);
  });
}
