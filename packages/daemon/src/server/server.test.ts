import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniError } from '@multus-ts/cni';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildServer, type CniReply, listenOnSocket } from './server.ts';
import type { CniCall } from './wire.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(
  socketPath: string,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
) {
  return new Promise<Answer>((resolve, reject) => {
    const req = request(
      { socketPath, method, path, headers: { host: 'dummy', connection: 'close', ...headers } },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          data += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
      },
    );
    req.on('error', reject);
    if (body !== undefined) {
      req.setHeader('content-type', 'application/json');
      req.end(body);
    } else req.end();
  });
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const env = (extra: Record<string, string> = {}) => ({
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/var/run/netns/x',
  CNI_IFNAME: 'eth0',
  CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=p',
  ...extra,
});
const conf = '{"cniVersion":"0.3.1","name":"multus-cni-network","type":"multus-shim"}';

let dir: string;
let socketPath: string;
let app: FastifyInstance;
let ready: boolean;
let calls: CniCall[];
let next: (c: CniCall) => Promise<CniReply>;
const seen: [string, number, string][] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mts-srv-'));
  socketPath = join(dir, 'run', 'multus.sock');
  ready = true;
  calls = [];
  seen.length = 0;
  next = async (c) => ({
    cniVersion: '0.3.1',
    ...(c.command === 'ADD' ? { result: { cniVersion: '0.3.1', ips: [] } } : {}),
  });
  app = buildServer({
    socketPath,
    isReady: () => ready,
    bodyLimit: 64 * 1024,
    onResponse: (h, code, m) => seen.push([h, code, m]),
    service: {
      cni: async (c) => {
        calls.push(c);
        return next(c);
      },
      delegate: async (c) => {
        calls.push(c);
        return { cniVersion: '1.1.0' };
      },
    },
  });
  await listenOnSocket(app, socketPath);
});
afterEach(async () => {
  await app.close();
  await rm(dir, { recursive: true, force: true });
});

describe('daemon HTTP API on the unix socket', () => {
  it('creates the socket 0600 in a 0700 directory', async () => {
    expect((await stat(join(dir, 'run'))).mode & 0o777).toBe(0o700);
    expect((await stat(socketPath)).mode & 0o777).toBe(0o600);
  });

  it('answers ADD in upstream format {"Result":...} and passes the decoded call on', async () => {
    const res = await call(socketPath, 'POST', '/cni', JSON.stringify({ env: env(), config: b64(conf) }));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ Result: { cniVersion: '0.3.1', ips: [] } });
    expect(calls[0]).toMatchObject({
      command: 'ADD',
      containerId: 'c1',
      ifName: 'eth0',
      netns: '/var/run/netns/x',
    });
    expect(Buffer.from(calls[0]!.config).toString()).toBe(conf);
    expect(seen).toEqual([['/cni', 200, 'POST']]);
  });

  it('answers with the exact bytes to print when our shim asks for raw output', async () => {
    const res = await call(socketPath, 'POST', '/cni', JSON.stringify({ env: env(), config: b64(conf) }), {
      'x-multus-ts-output': 'raw',
    });
    expect(res.headers['x-multus-ts-output']).toBe('raw');
    expect(res.body).toBe('{"cniVersion":"0.3.1","ips":[]}\n');
  });

  it('answers DEL with 200 and an empty body', async () => {
    const res = await call(
      socketPath,
      'POST',
      '/cni',
      JSON.stringify({ env: env({ CNI_COMMAND: 'DEL' }), config: b64(conf) }),
    );
    expect(res).toMatchObject({ status: 200, body: '' });
  });

  it('keeps a delegate error code and prints it in the config version in raw mode', async () => {
    next = async () => {
      throw new CniError(117, 'macvlan failed', 'master eth9 not found');
    };
    const body = JSON.stringify({ env: env(), config: b64(conf) });
    const up = await call(socketPath, 'POST', '/cni', body);
    expect(up.status).toBe(400);
    expect(JSON.parse(up.body)).toEqual({
      code: 117,
      msg: 'macvlan failed',
      details: 'master eth9 not found',
    });
    const raw = await call(socketPath, 'POST', '/cni', body, { 'x-multus-ts-output': 'raw' });
    expect(JSON.parse(raw.body)).toEqual({
      cniVersion: '0.3.1',
      code: 117,
      msg: 'macvlan failed',
      details: 'master eth9 not found',
    });
  });

  it.each([
    ['invalid JSON', '{"env":', 6],
    ['a JSON array', '[1,2]', 6],
    ['env values that are not strings', JSON.stringify({ env: { CNI_COMMAND: 5 } }), 6],
    ['config that is not base64', JSON.stringify({ env: env(), config: '%%%' }), 6],
    ['no CNI_COMMAND', JSON.stringify({ env: {}, config: b64(conf) }), 4],
    [
      'an unknown CNI_COMMAND',
      JSON.stringify({ env: env({ CNI_COMMAND: 'EXPLODE' }), config: b64(conf) }),
      4,
    ],
    ['ADD without CNI_NETNS', JSON.stringify({ env: env({ CNI_NETNS: '' }), config: b64(conf) }), 4],
    [
      'DEL without CNI_CONTAINERID',
      JSON.stringify({ env: env({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: '' }) }),
      4,
    ],
    ['an oversized body', JSON.stringify({ env: env(), config: b64('x'.repeat(100_000)) }), 7],
  ])('refuses %s with HTTP 400 and CNI code %i', async (_what, body, code) => {
    const res = await call(socketPath, 'POST', '/cni', body);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).code).toBe(code);
    expect(calls).toHaveLength(0);
  });

  it('names the missing variables', async () => {
    const res = await call(
      socketPath,
      'POST',
      '/cni',
      JSON.stringify({ env: { CNI_COMMAND: 'ADD' }, config: '' }),
    );
    expect(JSON.parse(res.body).msg).toBe('required env variables [CNI_CONTAINERID,CNI_NETNS] missing');
  });

  it('serves /delegate like /cni', async () => {
    const res = await call(
      socketPath,
      'POST',
      '/delegate',
      JSON.stringify({ env: env(), config: b64(conf), interfaceAttributes: { mac: 'aa', 'cni-args': null } }),
    );
    expect(res.status).toBe(200);
    expect(calls[0]!.interfaceAttributes).toEqual({ mac: 'aa', 'cni-args': null });
  });

  it.each(['/cni', '/delegate'])('answers 405 "Method not allowed" for GET %s', async (path) => {
    const res = await call(socketPath, 'GET', path);
    expect(res.status).toBe(405);
    expect(res.body).toBe('Method not allowed\n');
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
  });

  it('answers healthz always and readyz only while ready', async () => {
    expect((await call(socketPath, 'GET', '/healthz')).status).toBe(200);
    expect((await call(socketPath, 'POST', '/healthz', 'null')).status).toBe(200);
    expect((await call(socketPath, 'POST', '/readyz', 'null')).status).toBe(200);
    ready = false;
    expect((await call(socketPath, 'GET', '/readyz')).status).toBe(500);
    expect((await call(socketPath, 'PUT', '/readyz')).status).toBe(405);
    expect((await call(socketPath, 'DELETE', '/healthz')).status).toBe(405);
  });

  it('while draining, refuses our shim everything but DEL with an empty raw 503; upstream shims are served', async () => {
    ready = false;
    const raw = { 'x-multus-ts-output': 'raw' };
    for (const command of ['ADD', 'CHECK', 'GC', 'STATUS']) {
      const body = JSON.stringify({ env: env({ CNI_COMMAND: command }), config: b64(conf) });
      const res = await call(socketPath, 'POST', '/cni', body, raw);
      expect(res).toMatchObject({ status: 503, body: '' });
      expect(res.headers['x-multus-ts-output']).toBe('raw');
    }
    expect(calls).toEqual([]);
    const del = JSON.stringify({ env: env({ CNI_COMMAND: 'DEL' }), config: b64(conf) });
    expect(await call(socketPath, 'POST', '/cni', del, raw)).toMatchObject({ status: 200, body: '' });
    // upstream's shim waited on /readyz itself: whatever it sends is handled
    const add = await call(socketPath, 'POST', '/cni', JSON.stringify({ env: env(), config: b64(conf) }));
    expect(add.status).toBe(200);
    expect(calls.map((c) => c.command)).toEqual(['DEL', 'ADD']);
    // a malformed body is still a decode error, draining or not
    const bad = await call(socketPath, 'POST', '/cni', '{"env":', raw);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ code: 6 });
  });

  it('answers 404 with an empty body for unknown paths, labelled NotFound', async () => {
    const res = await call(socketPath, 'GET', '/nope');
    expect(res).toMatchObject({ status: 404, body: '' });
    expect(seen.at(-1)).toEqual(['NotFound', 404, 'GET']);
  });
});

describe('listenOnSocket', () => {
  it('replaces a stale socket and refuses to remove a regular file in its place', async () => {
    await app.close();
    const again = buildServer({
      socketPath,
      isReady: () => true,
      service: {
        cni: async () => ({ cniVersion: '1.1.0' }),
        delegate: async () => ({ cniVersion: '1.1.0' }),
      },
    });
    await listenOnSocket(again, socketPath);
    expect((await call(socketPath, 'GET', '/healthz')).status).toBe(200);
    await again.close();
    const filePath = join(dir, 'plain');
    await writeFile(filePath, 'do not delete');
    const third = buildServer({
      socketPath: filePath,
      isReady: () => true,
      service: {
        cni: async () => ({ cniVersion: '1.1.0' }),
        delegate: async () => ({ cniVersion: '1.1.0' }),
      },
    });
    await expect(listenOnSocket(third, filePath)).rejects.toThrow(/not a socket/);
    await third.close();
    app = buildServer({
      socketPath,
      isReady: () => true,
      service: {
        cni: async () => ({ cniVersion: '1.1.0' }),
        delegate: async () => ({ cniVersion: '1.1.0' }),
      },
    });
  });
});

describe('closeKeepingSocket', () => {
  it('leaves the socket path in place after the server is closed (so DEL is retried, not dropped)', async () => {
    const { closeKeepingSocket } = await import('./server.ts');
    await closeKeepingSocket(app, socketPath);
    const st = await stat(socketPath);
    expect(st.isSocket()).toBe(true);
    await expect(call(socketPath, 'GET', '/healthz')).rejects.toThrow(/ECONNREFUSED/);
  });
});
