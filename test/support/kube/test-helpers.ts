// Helpers shared by the emulator's own tests (and usable by other tests): raw HTTP calls and Status extraction.
import { expect } from 'vitest';
import type { Status } from './status.ts';

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

/** One HTTP request to the emulator; `token: null` sends no Authorization header. */
export async function raw(
  emu: { url: string; token: string },
  method: string,
  path: string,
  opts: {
    body?: string | Uint8Array;
    contentType?: string;
    token?: string | null;
    headers?: Record<string, string>;
  } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  const token = opts.token === undefined ? emu.token : opts.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  if (opts.contentType) headers['Content-Type'] = opts.contentType;
  const res = await fetch(emu.url + path, {
    method,
    headers,
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Awaits a client-node call that must fail and returns the server's Status body. */
export async function apiStatus(call: Promise<unknown>): Promise<Status & { httpCode: number }> {
  try {
    await call;
  } catch (err) {
    const e = err as { code?: number; body?: unknown };
    expect(typeof e.code).toBe('number');
    const body = typeof e.body === 'string' ? (JSON.parse(e.body) as Status) : (e.body as Status);
    return { ...body, httpCode: e.code as number };
  }
  throw new Error('expected the API call to fail');
}

/** Polls `cond` until it holds (or fails the test after `timeoutMs`). */
export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const testPod = (name: string, nodeName?: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, ...extra },
  spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'alpine:3.19' }] },
});

export interface WatchEvent {
  type: string;
  object: {
    kind?: string;
    apiVersion?: string;
    metadata: { name?: string; resourceVersion?: string };
    [k: string]: unknown;
  };
}

/** A raw watch stream: events in arrival order, and whether the server ended it. */
export interface RawWatch {
  status: number;
  contentType: string | null;
  /** Resolves with the next event, or undefined once the stream has ended. */
  next(timeoutMs?: number): Promise<WatchEvent | undefined>;
  /** Resolves when the server ends the stream ('end') or it fails ('error'). */
  ended: Promise<'end' | 'error'>;
  close(): void;
}

export async function openWatch(emu: { url: string; token: string }, path: string): Promise<RawWatch> {
  const ac = new AbortController();
  const res = await fetch(emu.url + path, {
    headers: { Authorization: `Bearer ${emu.token}` },
    signal: ac.signal,
  });
  const queue: WatchEvent[] = [];
  const waiters: Array<() => void> = [];
  let done = false;
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  const ended = (async (): Promise<'end' | 'error'> => {
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const dec = new TextDecoder();
    let buf = '';
    try {
      for (;;) {
        const { value, done: finished } = await reader.read();
        if (finished) return 'end';
        buf += dec.decode(value, { stream: true });
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          queue.push(JSON.parse(buf.slice(0, nl)) as WatchEvent);
          buf = buf.slice(nl + 1);
          nl = buf.indexOf('\n');
        }
        wake();
      }
    } catch {
      return 'error';
    } finally {
      done = true;
      wake();
    }
  })();
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    ended,
    close: () => ac.abort(),
    next: async (timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs;
      while (queue.length === 0 && !done) {
        if (Date.now() > deadline) throw new Error(`no watch event within ${timeoutMs} ms`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
      return queue.shift();
    },
  };
}
