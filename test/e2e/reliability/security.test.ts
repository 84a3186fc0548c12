// Who may talk to the daemon, where it listens, and what it gives away. The socket is root's alone (0600 in a 0700
// directory owned by root, tightened at start and kept so when someone loosens the socket itself); a non-root
// user cannot connect, directly or through the shim; a file squatting on the socket path stops the start; the
// metrics server binds where `metricsBindAddress` says; and the API token never shows up in logs, replies or
// metrics, whatever goes wrong with the API server.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, lstat, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DAEMON_MAIN,
  NODE_NAME,
  NodeHarness,
  type SandboxRef,
  SHIM_BIN,
} from '../../support/daemon-harness.ts';
import { run, TestScope } from '../../support/netns.ts';
import {
  cniEnv,
  expectDaemonAlive,
  expectNetnsGone,
  expectNoLeaks,
  NETWORKS,
  postRaw,
  shimCode,
  wireBody,
} from './support.ts';

const TOKEN = `mts-secret-${randomBytes(24).toString('hex')}`;
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];

let h: NodeHarness;
let socket: string;
const all: SandboxRef[] = [];

beforeAll(async () => {
  h = await NodeHarness.start({ cniVersion: '1.0.0', emulator: { token: TOKEN } });
  socket = join(h.socketDir, 'multus.sock');
});
afterAll(async () => {
  await h?.stop();
  await TestScope.cleanupAll();
  expectNetnsGone(all);
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Restarts the daemon with extra daemon-config.json keys (undefined removes a key). */
async function restartWith(extra: Record<string, unknown>): Promise<void> {
  await h.stopDaemon();
  const cfg = JSON.parse(await readFile(h.daemonConfigPath, 'utf8')) as Record<string, unknown>;
  await writeFile(h.daemonConfigPath, JSON.stringify({ ...cfg, ...extra }));
  await h.startDaemon();
}

/**
 * Starts the daemon (not through the harness, which waits 20 s for it to listen) when it is expected to refuse to
 * start, and reports how it ended within 5 s; a daemon still running then is killed.
 */
async function startExpectingRefusal(): Promise<{ exit: number | string | null; log: string }> {
  await h.stopDaemon();
  const child = spawn(process.execPath, [DAEMON_MAIN, '-config', h.daemonConfigPath], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', MULTUS_NODE_NAME: NODE_NAME },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    log += d;
  });
  const exit = await Promise.race([
    new Promise<number | string | null>((r) => child.once('exit', (code, signal) => r(code ?? signal))),
    new Promise<string>((r) => setTimeout(() => r('still running after 5 s'), 5000)),
  ]);
  if (child.exitCode === null && child.signalCode === null) {
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  }
  return { exit, log };
}

/** Local addresses (hex, as /proc/net/tcp{,6} print them) listening on `port`. */
function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const out: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [, local, , st] = line.trim().split(/\s+/);
      if (st === '0A' && local?.endsWith(`:${hexPort}`)) out.push(local);
    }
  }
  return out.sort();
}

/** Runs node as uid/gid 65534 to connect to the daemon socket; returns the error code it got, or 'connected'. */
async function connectAsNobody(): Promise<string> {
  const script = `require('node:net').connect(${JSON.stringify(socket)}).on('connect',()=>{console.log('connected');process.exit(0)}).on('error',e=>{console.log(e.code);process.exit(0)})`;
  const r = await run('setpriv', [...NOBODY, process.execPath, '-e', script], { allowFail: true });
  return r.stdout.trim() || `no output: ${r.stderr}`;
}

describe('the socket', () => {
  it('is a socket with mode 0600 in a 0700 directory, both owned by root', async () => {
    const [dir, sock] = [await stat(h.socketDir), await lstat(socket)];
    expect({ mode: (dir.mode & 0o7777).toString(8), uid: dir.uid, gid: dir.gid }).toEqual({
      mode: '700',
      uid: 0,
      gid: 0,
    });
    expect(sock.isSocket()).toBe(true);
    expect({ mode: (sock.mode & 0o7777).toString(8), uid: sock.uid }).toEqual({ mode: '600', uid: 0 });
  });

  it('a non-root user cannot connect, even when the socket file itself has been loosened to 0666', async () => {
    expect(await connectAsNobody()).toBe('EACCES');
    await chmod(socket, 0o666);
    try {
      expect(await connectAsNobody()).toBe('EACCES');
    } finally {
      await chmod(socket, 0o600);
    }
    expect(await connectAsNobody()).toBe('EACCES');
  });

  it('the shim run by a non-root user gets no answer: code 11, and the daemon never sees the request', async () => {
    const sb = await h.createPod({ name: 'nobody-pod' });
    all.push(sb);
    const env = {
      ...cniEnv(sb, 'ADD'),
      PATH: '/usr/bin:/bin',
      CNI_PATH: h.binDir,
      MULTUS_SHIM_READY_TIMEOUT_MS: '500',
    };
    const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    const conf = join(h.root, 'multus-conf-copy');
    await writeFile(conf, await h.multusConf(), { mode: 0o644 });
    const r = await run(
      'sh',
      [
        '-c',
        `exec setpriv ${NOBODY.join(' ')} env -i ${envArgs.map((a) => `'${a}'`).join(' ')} ${SHIM_BIN} < ${conf}`,
      ],
      {
        allowFail: true,
      },
    );
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ code: 11 });
    expect(h.daemonLog).not.toContain(sb.containerId);
  });

  it('a loosened socket directory is tightened to 0700 at the next start', async () => {
    await h.stopDaemon();
    await chmod(h.socketDir, 0o777);
    await h.startDaemon();
    expect(((await stat(h.socketDir)).mode & 0o7777).toString(8)).toBe('700');
    expect(await connectAsNobody()).toBe('EACCES');
  });

  for (const squatter of ['a regular file', 'a symlink']) {
    it(`${squatter} on the socket path stops the start (it is never replaced or followed)`, async () => {
      await h.stopDaemon();
      await rm(socket, { force: true });
      const target = join(h.root, 'squat-target');
      await writeFile(target, 'keep me');
      if (squatter === 'a symlink') await symlink(target, socket);
      else await writeFile(socket, 'keep me');
      try {
        const { exit, log } = await startExpectingRefusal();
        expect(await readFile(target, 'utf8')).toBe('keep me');
        expect({ exit, said: /exists and is not a socket/.test(log) }, log).toEqual({ exit: 3, said: true });
      } finally {
        await rm(socket, { force: true });
        await h.startDaemon();
      }
      expectDaemonAlive(h);
    });
  }
});

describe('the metrics server', () => {
  it('binds to metricsBindAddress only; without it, to every interface; a bad value stops the start', async () => {
    const port = await freePort();
    await restartWith({ metricsPort: port, metricsBindAddress: '127.0.0.1' });
    await expect
      .poll(() => listeners(port))
      .toEqual([`0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`]);
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(metrics.status).toBe(200);

    await restartWith({ metricsBindAddress: undefined });
    await expect.poll(() => listeners(port).length).toBeGreaterThan(0);
    expect(listeners(port).every((l) => /^0+:/.test(l))).toBe(true);

    await h.stopDaemon();
    const cfg = JSON.parse(await readFile(h.daemonConfigPath, 'utf8')) as Record<string, unknown>;
    await writeFile(h.daemonConfigPath, JSON.stringify({ ...cfg, metricsBindAddress: 'every-interface' }));
    try {
      const { exit, log } = await startExpectingRefusal();
      expect({ exit, said: /metricsBindAddress/.test(log) }, log).toEqual({
        exit: expect.any(Number),
        said: true,
      });
      expect(exit).not.toBe(0);
    } finally {
      await restartWith({ metricsBindAddress: '127.0.0.1' });
    }
    expectDaemonAlive(h);
  });
});

describe('secrets', () => {
  it('the API token appears in no log line, no CNI reply and no metric, whatever the API server does', async () => {
    const port = await freePort();
    await restartWith({ metricsPort: port, metricsBindAddress: '127.0.0.1', logLevel: 'debug' });
    const replies: string[] = [];
    const sb = await h.createPod({ name: 'secret-pod', annotations: { [NETWORKS]: 'no-such-nad' } });
    const ok = await h.createPod({ name: 'secret-ok' });
    all.push(sb, ok);
    await new Promise((r) => setTimeout(r, 300));
    const conf = await h.multusConf();
    // Half through the raw wire format (upstream's shim), half through our shim.
    let viaShim = false;
    const send = async (s: SandboxRef, cmd: string) => {
      viaShim = !viaShim;
      if (viaShim) replies.push((await h.shim(cmd, s)).stdout);
      else replies.push((await postRaw(h, '/cni', wireBody(cniEnv(s, cmd), conf))).body);
    };
    await send(sb, 'ADD');
    await send(ok, 'ADD');
    // 500s, then the token revoked (401 on every new request), then the server gone.
    h.emulator.faults.failRate(1, { code: 500 });
    await send(ok, 'CHECK');
    await send(sb, 'ADD');
    h.emulator.faults.clear();
    h.emulator.auth.remove(TOKEN);
    h.emulator.faults.dropWatches({ abrupt: true });
    const [unseen] = h.emulator.store.seed([
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'unseen', namespace: 'default' },
        spec: { nodeName: NODE_NAME, containers: [{ name: 'a', image: 'b' }] },
      },
    ]);
    const unseenSb: SandboxRef = {
      ...ok,
      containerId: `${ok.containerId}u`,
      name: 'unseen',
      uid: String(unseen?.metadata?.uid),
    };
    await send(unseenSb, 'ADD');
    await send(unseenSb, 'ADD');
    h.emulator.auth.add({ token: TOKEN, user: 'admin' });
    await h.emulator.faults.down();
    await send(ok, 'CHECK');
    await send(ok, 'DEL');
    await h.emulator.faults.up();
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

    // The error paths were taken: the unseen pod's lookup got the 401, the DEL ran with the server gone.
    expect(
      replies.some((r) => /"code":11/.test(r) && /401|Unauthorized/i.test(r)),
      replies.join('\n'),
    ).toBe(true);
    expect(metrics).toContain('multus_');
    for (const [where, text] of [
      ['daemon log', h.daemonLog],
      ['replies', replies.join('\n')],
      ['metrics', metrics],
    ]) {
      expect(text!.includes(TOKEN), `the token leaked into the ${where}`).toBe(false);
      expect(/Bearer\s+[A-Za-z0-9]/.test(text!), `an Authorization header leaked into the ${where}`).toBe(
        false,
      );
    }
    for (const s of [sb, ok]) expect(shimCode(await h.shim('DEL', s))).toBe(0);
    await expectNoLeaks(h);
  });
});
