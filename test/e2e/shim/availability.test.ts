// multus-shim when the daemon is missing, starting, draining, stuck or slow. The request goes straight to /cni;
// when nobody answers, or the daemon says it is draining (503), ADD/CHECK/GC/STATUS wait for /readyz within a
// bound and DEL for /healthz; DEL succeeds when multus is gone from the node (no socket) and asks the runtime
// to retry (code 11) when a socket is there but nobody answers; everything is bounded by the overall limit.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type FakeDaemon,
  leaveStaleSocket,
  rawReply,
  startFakeDaemon,
  upstreamReply,
} from '../../support/fake-daemon.ts';
import { buildShim, cniEnv, runShim, SHIM_BINARIES, shimConfig } from './harness.ts';

const NOT_READY = 'multus daemon is not ready, try again later';
const NOT_ANSWERING = 'multus daemon is not answering, try again later';

describe.each(SHIM_BINARIES)('multus-shim ($name) daemon availability', (shim) => {
  const cleanups: (() => Promise<void> | void)[] = [];
  const tempDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'shim-avail-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  const daemonIn = async (dir?: string): Promise<FakeDaemon> => {
    const d = await startFakeDaemon(dir ? { dir } : {});
    cleanups.push(() => d.close());
    return d;
  };
  const parse = (stdout: Buffer): Record<string, unknown> => JSON.parse(stdout.toString());

  beforeAll(() => buildShim(shim));
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  describe('ADD, CHECK, GC, STATUS', () => {
    it.each(['ADD', 'CHECK', 'GC', 'STATUS'])(
      '%s without a socket waits the ready timeout, then 11',
      async (command) => {
        const dir = tempDir();
        const env = cniEnv(command, { MULTUS_SHIM_READY_TIMEOUT_MS: '400' });
        const r = await runShim(shim, { env, stdin: shimConfig(dir, '1.1.0') });
        expect(r.code).toBe(1);
        expect(parse(r.stdout)).toEqual({
          cniVersion: '1.1.0',
          code: 11,
          msg: NOT_READY,
          details: `connect ${join(dir, 'multus.sock')}: No such file or directory`,
        });
        expect(r.ms).toBeGreaterThanOrEqual(350); // it did wait, rather than failing at once
      },
    );

    it('gets through once a daemon starts listening while it waits', async () => {
      const dir = tempDir();
      const started = new Promise<FakeDaemon>((resolve) => setTimeout(() => resolve(daemonIn(dir)), 300));
      const r = await runShim(shim, { env: cniEnv('ADD'), stdin: shimConfig(dir) });
      const daemon = await started;
      expect(r.code).toBe(0);
      expect(daemon.requests.map((q) => q.path)).toEqual(['/readyz', '/cni']);
    });

    it('on a draining daemon (503), polls /readyz every 100 ms until it answers 200, then sends again', async () => {
      const daemon = await daemonIn();
      let calls = 0;
      let cniCalls = 0;
      daemon.route('/readyz', () => ({ kind: 'http', status: ++calls <= 3 ? 500 : 200 }));
      daemon.route('/cni', () => (++cniCalls === 1 ? rawReply(503, '') : rawReply(200, 'ok')));
      const r = await runShim(shim, { env: cniEnv('ADD'), stdin: shimConfig(daemon.dir) });
      expect(r.code).toBe(0);
      expect(r.stdout.toString()).toBe('ok');
      expect(daemon.requests.map((q) => q.path)).toEqual([
        '/cni',
        '/readyz',
        '/readyz',
        '/readyz',
        '/readyz',
        '/cni',
      ]);
      const [first, , , , , again] = daemon.requests;
      expect(again?.body.equals(first!.body)).toBe(true); // the same request, sent once more
      expect(r.ms).toBeGreaterThanOrEqual(250); // three pauses between four probes
    });

    it.each(['ADD', 'CHECK', 'GC', 'STATUS'])(
      '%s: a daemon that stays draining (503, /readyz 500) is code 11 after the ready timeout',
      async (command) => {
        const daemon = await daemonIn();
        daemon.route('/readyz', { kind: 'http', status: 500 });
        daemon.route('/cni', rawReply(503, ''));
        const env = cniEnv(command, { MULTUS_SHIM_READY_TIMEOUT_MS: '400' });
        const r = await runShim(shim, { env, stdin: shimConfig(daemon.dir) });
        expect(r.code).toBe(1);
        expect(parse(r.stdout)).toEqual({
          cniVersion: '0.4.0',
          code: 11,
          msg: NOT_READY,
          details: 'POST /readyz answered HTTP 500',
        });
        const paths = daemon.requests.map((q) => q.path);
        expect(paths[0]).toBe('/cni');
        expect(paths.slice(1).every((p) => p === '/readyz')).toBe(true);
        expect(paths.length).toBeGreaterThanOrEqual(3);
      },
    );

    it('a 503 from a server that is closing (not our raw answer) is waited out the same way', async () => {
      const daemon = await daemonIn();
      let cniCalls = 0;
      daemon.route('/cni', () =>
        ++cniCalls === 1 ? upstreamReply(503, 'Service Unavailable', 'text/plain') : rawReply(200, 'ok'),
      );
      const r = await runShim(shim, { env: cniEnv('ADD'), stdin: shimConfig(daemon.dir) });
      expect(r.code).toBe(0);
      expect(daemon.requests.map((q) => q.path)).toEqual(['/cni', '/readyz', '/cni']);
    });

    it('does not resend after a daemon that fails the request itself (any other status)', async () => {
      const daemon = await daemonIn();
      daemon.route('/cni', rawReply(400, '{"cniVersion":"0.4.0","code":7,"msg":"bad"}'));
      const r = await runShim(shim, { env: cniEnv('ADD'), stdin: shimConfig(daemon.dir) });
      expect(r.code).toBe(1);
      expect(parse(r.stdout)).toMatchObject({ code: 7, msg: 'bad' });
      expect(daemon.requests.map((q) => q.path)).toEqual(['/cni']);
    });

    it('bounds a /readyz that never answers by the ready timeout', async () => {
      const daemon = await daemonIn();
      daemon.route('/cni', rawReply(503, ''));
      daemon.route('/readyz', { kind: 'hang' });
      const env = cniEnv('ADD', { MULTUS_SHIM_READY_TIMEOUT_MS: '400' });
      const r = await runShim(shim, { env, stdin: shimConfig(daemon.dir) });
      expect(r.code).toBe(1);
      expect(parse(r.stdout)).toMatchObject({ code: 11, msg: NOT_READY });
      expect(String(parse(r.stdout).details)).toContain('no complete reply to POST /readyz');
    });

    it('bounds the wait for readiness by the overall timeout too', async () => {
      const dir = tempDir();
      const env = cniEnv('ADD', { MULTUS_SHIM_READY_TIMEOUT_MS: '60000', MULTUS_SHIM_TIMEOUT_MS: '400' });
      const r = await runShim(shim, { env, stdin: shimConfig(dir) });
      expect(r.code).toBe(1);
      expect(parse(r.stdout)).toMatchObject({ code: 11, msg: NOT_READY });
      expect(r.ms).toBeLessThan(10_000);
    });

    it('treats a socket nobody listens on (a crashed daemon) as not ready', async () => {
      const dir = tempDir();
      await leaveStaleSocket(join(dir, 'multus.sock'));
      const env = cniEnv('ADD', { MULTUS_SHIM_READY_TIMEOUT_MS: '300' });
      const r = await runShim(shim, { env, stdin: shimConfig(dir) });
      expect(parse(r.stdout)).toMatchObject({ code: 11, msg: NOT_READY });
      expect(String(parse(r.stdout).details)).toContain('Connection refused');
    });

    it('waits for a slow daemon', async () => {
      const daemon = await daemonIn();
      daemon.route('/cni', { ...rawReply(200, 'slow but fine'), delayMs: 500 });
      const r = await runShim(shim, { env: cniEnv('ADD'), stdin: shimConfig(daemon.dir) });
      expect(r.code).toBe(0);
      expect(r.stdout.toString()).toBe('slow but fine');
    });

    it('gives up on a daemon that never answers /cni at the overall timeout (11)', async () => {
      const daemon = await daemonIn();
      daemon.route('/cni', { kind: 'hang' });
      const env = cniEnv('ADD', { MULTUS_SHIM_TIMEOUT_MS: '600' });
      const r = await runShim(shim, { env, stdin: shimConfig(daemon.dir) });
      expect(r.code).toBe(1);
      expect(parse(r.stdout)).toEqual({
        cniVersion: '0.4.0',
        code: 11,
        msg: 'timed out waiting for the multus daemon',
        details: `no complete reply to POST /cni from ${daemon.socketPath} in time`,
      });
    });
  });

  describe('DEL', () => {
    it('succeeds silently when the socket dir does not exist (multus removed)', async () => {
      const dir = join(tempDir(), 'gone', 'deeper');
      const r = await runShim(shim, { env: cniEnv('DEL'), stdin: shimConfig(dir) });
      expect(r.code).toBe(0);
      expect(r.stdout.length).toBe(0);
    });

    it('succeeds silently when the dir exists but holds no socket', async () => {
      const dir = tempDir();
      const r = await runShim(shim, { env: cniEnv('DEL'), stdin: shimConfig(dir) });
      expect(r.code).toBe(0);
      expect(r.stdout.length).toBe(0);
    });

    it('asks for a retry (11) when a socket is there but nobody listens', async () => {
      const dir = tempDir();
      await leaveStaleSocket(join(dir, 'multus.sock'));
      const env = cniEnv('DEL', { MULTUS_SHIM_DEL_WAIT_MS: '300' });
      const r = await runShim(shim, { env, stdin: shimConfig(dir) });
      expect(r.code).toBe(1);
      expect(parse(r.stdout)).toEqual({
        cniVersion: '0.4.0',
        code: 11,
        msg: NOT_ANSWERING,
        details: `connect ${join(dir, 'multus.sock')}: Connection refused`,
      });
    });

    it('asks for a retry (11) when the path is something other than a socket', async () => {
      const dir = tempDir();
      writeFileSync(join(dir, 'multus.sock'), 'not a socket');
      mkdirSync(join(dir, 'sockdir'));
      mkdirSync(join(dir, 'sockdir', 'multus.sock'));
      for (const socketDir of [dir, join(dir, 'sockdir')]) {
        const env = cniEnv('DEL', { MULTUS_SHIM_DEL_WAIT_MS: '200' });
        const r = await runShim(shim, { env, stdin: shimConfig(socketDir) });
        expect(r.code).toBe(1);
        expect(parse(r.stdout)).toMatchObject({ code: 11, msg: NOT_ANSWERING });
      }
    });

    it('asks for a retry (11) when the daemon is closing (503) and then does not answer /healthz', async () => {
      const daemon = await daemonIn();
      daemon.route('/cni', rawReply(503, ''));
      daemon.route('/healthz', { kind: 'hang' });
      const env = cniEnv('DEL', { MULTUS_SHIM_DEL_WAIT_MS: '400' });
      const r = await runShim(shim, { env, stdin: shimConfig(daemon.dir) });
      expect(r.code).toBe(1);
      expect(parse(r.stdout)).toMatchObject({ code: 11, msg: NOT_ANSWERING });
      expect(daemon.requests.map((q) => q.path)).toEqual(['/cni', '/healthz']);
    });

    it('a DEL that met a closing daemon (503) goes through once /healthz answers again', async () => {
      const daemon = await daemonIn();
      let cniCalls = 0;
      daemon.route('/cni', () => (++cniCalls === 1 ? rawReply(503, '') : rawReply(200, '')));
      const r = await runShim(shim, { env: cniEnv('DEL'), stdin: shimConfig(daemon.dir) });
      expect(r.code).toBe(0);
      expect(daemon.requests.map((q) => q.path)).toEqual(['/cni', '/healthz', '/cni']);
    });

    it('reports the daemon errors instead of swallowing them (upstream always exits 0)', async () => {
      const daemon = await daemonIn();
      const error = '{"cniVersion":"0.4.0","code":7,"msg":"delegate DEL failed"}';
      daemon.route('/cni', rawReply(400, error));
      const r = await runShim(shim, { env: cniEnv('DEL'), stdin: shimConfig(daemon.dir) });
      expect(r.code).toBe(1);
      expect(r.stdout.toString()).toBe(error);
    });

    it('does not need CNI_NETNS, and gives a slow teardown the overall timeout', async () => {
      const daemon = await daemonIn();
      daemon.route('/cni', { ...rawReply(200, ''), delayMs: 700 });
      const env = cniEnv('DEL', { MULTUS_SHIM_DEL_WAIT_MS: '200' });
      delete env.CNI_NETNS;
      const r = await runShim(shim, { env, stdin: shimConfig(daemon.dir) });
      expect(r.code).toBe(0);
      expect(r.stdout.length).toBe(0);
    });
  });
});
