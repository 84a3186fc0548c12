// Real processes: a daemon-like child runs the manager from a real daemon-config.json and command line, a writer
// child rewrites the primary non-atomically (truncate, then small pieces), and this process reads 00-multus.conf
// in a tight loop: every read must be a complete JSON document. Then SIGTERM with and without the cleanup flag.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const CONFIG_MOD = join(ROOT, 'packages/daemon/src/config/index.ts');
const CONFGEN_MOD = join(ROOT, 'packages/daemon/src/confgen/index.ts');

// The daemon's config start-up in miniature: flags -> daemon-config.json -> manager; SIGTERM -> stop() -> exit 0.
const DAEMON_CHILD = `
import { loadDaemonConfig, parseDaemonArgs } from ${JSON.stringify(CONFIG_MOD)};
import { MultusConfManager } from ${JSON.stringify(CONFGEN_MOD)};
const emit = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const args = parseDaemonArgs(process.argv.slice(1));
const loaded = await loadDaemonConfig(args.configPath);
const m = new MultusConfManager({
  config: loaded.typed,
  cleanupOnExit: args.cleanupConfigOnExit ? true : undefined,
  debounceMs: 20,
  retryIntervalMs: 50,
  primaryWaitIntervalMs: 50,
  log: (level, msg, fields) => emit({ level, msg, ...fields }),
});
m.on('written', (w) => emit({ event: 'written', content: w.content }));
const keepAlive = setInterval(() => {}, 1 << 30);
process.on('SIGTERM', () => {
  m.stop().then(() => { clearInterval(keepAlive); emit({ event: 'stopped' }); process.exit(0); });
});
await m.start();
emit({ event: 'started' });
`;

// Rewrites the primary in place the way a careless installer does: truncate, pause, then pieces with pauses
// longer than the manager's debounce, so the manager does read empty and partial files.
const WRITER_CHILD = `
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
const [path, rounds, ...variants] = process.argv.slice(1);
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
for (let i = 0; i < Number(rounds); i++) {
  const text = variants[i % variants.length];
  const fd = openSync(path, 'r+');
  ftruncateSync(fd, 0);
  sleep(30);
  for (let at = 0; at < text.length; at += 16) {
    writeSync(fd, text.slice(at, at + 16), at);
    sleep(30);
  }
  closeSync(fd);
  sleep(60);
}
`;

interface Child {
  readonly proc: ChildProcess;
  readonly lines: Record<string, unknown>[];
  readonly exited: Promise<number | null>;
}

const children: ChildProcess[] = [];

function runNode(code: string, args: string[]): Child {
  const proc = spawn(process.execPath, ['--input-type=module', '-e', code, '--', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  let stderr = '';
  proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      lines.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      buf = buf.slice(nl + 1);
    }
  });
  proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((res) => {
    proc.on('exit', (code) => {
      if (code !== 0 && stderr) lines.push({ stderr });
      res(code);
    });
  });
  return { proc, lines, exited };
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), `mts-e2e-proc-${process.pid}-`));
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function writeDaemonConfig(extra: Record<string, unknown> = {}): string {
  const path = join(dir, 'daemon-config.json');
  writeFileSync(
    path,
    JSON.stringify({
      cniVersion: '0.3.1',
      logLevel: 'verbose',
      logToStderr: true,
      multusAutoconfigDir: dir,
      cniConfigDir: dir,
      ...extra,
    }),
  );
  return path;
}

const conflist = (caps: Record<string, boolean>) =>
  JSON.stringify(
    {
      cniVersion: '0.3.1',
      name: 'k8s-pod-network',
      plugins: [
        { type: 'calico', ipam: { type: 'calico-ipam' }, policy: { type: 'k8s' } },
        { type: 'portmap', snat: true, capabilities: caps },
      ],
    },
    null,
    2,
  );

describe('multus-daemon config manager as a process', () => {
  it('a primary rewritten non-atomically never yields an empty or partial 00-multus.conf', async () => {
    const primary = join(dir, '10-calico.conflist');
    const variantA = conflist({ portMappings: true });
    const variantB = conflist({ bandwidth: true });
    writeFileSync(primary, variantA);
    const out = join(dir, '00-multus.conf');
    const daemon = runNode(DAEMON_CHILD, ['-config', writeDaemonConfig()]);
    await waitFor('the manager to start', () => daemon.lines.some((l) => l.event === 'started'));
    const expectedA =
      `{"capabilities":{"portMappings":true},"cniVersion":"0.3.1","logLevel":"verbose","logToStderr":true,` +
      `"name":"multus-cni-network","clusterNetwork":"${primary}","type":"multus-shim"}`;
    const expectedB = expectedA.replace('portMappings', 'bandwidth');
    expect(readFileSync(out, 'utf8')).toBe(expectedA);

    const writer = runNode(WRITER_CHILD, [primary, '8', variantB, variantA]);
    let writerDone = false;
    void writer.exited.then(() => {
      writerDone = true;
    });
    const seen = new Map<string, number>();
    const bad: string[] = [];
    let badReads = 0;
    let reads = 0;
    while (!writerDone) {
      for (let i = 0; i < 200; i++) {
        const text = readFileSync(out, 'utf8');
        reads++;
        try {
          if (text === '') throw new Error('empty');
          JSON.parse(text);
          seen.set(text, (seen.get(text) ?? 0) + 1);
        } catch (err) {
          badReads++;
          if (bad.length < 10) bad.push(`${(err as Error).message}: ${JSON.stringify(text.slice(0, 80))}`);
        }
      }
      await yieldToLoop();
    }
    expect(await writer.exited).toBe(0);
    expect({ badReads, samples: bad }).toEqual({ badReads: 0, samples: [] });
    expect(reads).toBeGreaterThan(1000);
    // both versions of the primary made it into 00-multus.conf, and nothing else ever did
    expect([...seen.keys()].sort()).toEqual([expectedA, expectedB].sort());
    // the manager really did meet the empty/partial primary, and kept the last good file
    const partialReads = daemon.lines.filter((l) =>
      String(l.error ?? '').includes('failed to unmarshall primary CNI config'),
    );
    expect(partialReads.length).toBeGreaterThan(0);
    // it settles on the last complete write (variant A: the 8th round of B,A,B,A,...)
    await waitFor('the final primary', () => readFileSync(out, 'utf8') === expectedA);
    daemon.proc.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
  });

  it('SIGTERM without the cleanup flag keeps 00-multus.conf (pods keep reaching multus during a restart)', async () => {
    writeFileSync(join(dir, '10-a.conf'), JSON.stringify({ cniVersion: '0.3.1', name: 'a', type: 'bridge' }));
    const daemon = runNode(DAEMON_CHILD, [`--config=${writeDaemonConfig()}`]);
    await waitFor('the manager to start', () => daemon.lines.some((l) => l.event === 'started'));
    const content = readFileSync(join(dir, '00-multus.conf'), 'utf8');
    daemon.proc.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    expect(daemon.lines.some((l) => l.event === 'stopped')).toBe(true);
    expect(readFileSync(join(dir, '00-multus.conf'), 'utf8')).toBe(content);

    // a restarted daemon finds it current and does not rewrite it
    const again = runNode(DAEMON_CHILD, ['-config', join(dir, 'daemon-config.json')]);
    await waitFor('the restarted manager', () => again.lines.some((l) => l.event === 'started'));
    expect(again.lines.some((l) => l.event === 'written')).toBe(false);
    again.proc.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  it('SIGTERM with --cleanup-config-on-exit (uninstall) removes it', async () => {
    writeFileSync(join(dir, '10-a.conf'), JSON.stringify({ cniVersion: '0.3.1', name: 'a', type: 'bridge' }));
    const daemon = runNode(DAEMON_CHILD, ['--cleanup-config-on-exit', '-config', writeDaemonConfig()]);
    await waitFor('the manager to start', () => daemon.lines.some((l) => l.event === 'started'));
    expect(readFileSync(join(dir, '00-multus.conf'), 'utf8')).toContain('"clusterNetwork"');
    daemon.proc.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    expect(() => readFileSync(join(dir, '00-multus.conf'))).toThrow(/ENOENT/);
  });

  it('an invalid daemon-config.json stops the process with the key named', async () => {
    const daemon = runNode(DAEMON_CHILD, ['-config', writeDaemonConfig({ connectionLimit: 0 })]);
    expect(await daemon.exited).not.toBe(0);
    const stderr = String(daemon.lines.find((l) => l.stderr)?.stderr);
    expect(stderr).toContain(
      `${join(dir, 'daemon-config.json')}: connectionLimit: must be greater than 0, got 0`,
    );
  });
});
