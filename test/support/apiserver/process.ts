// A long-running child (etcd, kube-apiserver) whose output goes to a log file, that dies with the test process
// (setpriv --pdeathsig, so a crashed or killed vitest worker leaves nothing listening), and that stops with
// SIGTERM, then SIGKILL after a grace period.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
const TAIL_BYTES = 6000;

export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Whether it has exited (by itself or stopped). */
  exited(): boolean;
  /** How it ended, for messages: `running`, `exit 1`, `signal SIGKILL`. */
  state(): string;
  /** The last few KB of its log. */
  tail(): string;
  /** SIGTERM, then SIGKILL after `graceMs` (0: SIGKILL at once); resolves once it is gone. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

export function startManaged(name: string, bin: string, args: string[], logFile: string): ManagedProcess {
  const fd = openSync(logFile, 'a');
  // With setpriv the pid is still the program's own (setpriv execs it): signals reach it directly.
  const [cmd, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', bin, ...args]] : [bin, args];
  let child: ChildProcess;
  try {
    child = spawn(cmd, argv, { stdio: ['ignore', fd, fd], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
  } finally {
    closeSync(fd);
  }
  let ended: string | undefined;
  const gone = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      ended = signal ? `signal ${signal}` : `exit ${code}`;
      resolve();
    });
    child.once('error', (err) => {
      ended = `spawn error: ${err.message}`;
      resolve();
    });
  });
  return {
    name,
    child,
    logFile,
    exited: () => ended !== undefined,
    state: () => ended ?? 'running',
    tail: () => {
      try {
        const text = readFileSync(logFile, 'utf8');
        return text.length > TAIL_BYTES ? `...${text.slice(-TAIL_BYTES)}` : text;
      } catch {
        return '(no log)';
      }
    },
    stop: async (graceMs = 10_000) => {
      if (ended !== undefined) return;
      if (graceMs <= 0) {
        child.kill('SIGKILL');
        await gone;
        return;
      }
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await gone;
      clearTimeout(timer);
    },
  };
}

/** A port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Polls `check` every `everyMs` until it returns true, the process dies, or the deadline passes. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; everyMs?: number; proc?: ManagedProcess },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (opts.proc?.exited()) throw new Error(`${opts.proc.name} ended (${opts.proc.state()}) before ${what}`);
    try {
      if (await check()) return;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 100));
  }
  throw new Error(`no ${what} within ${opts.timeoutMs} ms${last ? ` (last error: ${last})` : ''}`);
}
