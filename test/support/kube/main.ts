// The emulator as a child process:
//   node test/support/kube/main.ts --port 0 --token T [--tls] [--control-port 0] [--seed file.yaml ...]
// Prints one JSON line on stdout once both ports listen: {"url","controlUrl","token","port",...}; then serves
// until SIGTERM/SIGINT, when it closes and exits 0. Bad arguments exit 2; a failure to start exits 1.
import { parseArgs } from 'node:util';
import { startControlServer } from './control.ts';
import { type KubeEmulatorOptions, startKubeEmulator } from './emulator.ts';
import { loadSeedFile, writeInClusterFiles, writeKubeconfig } from './files.ts';
import type { KubeObject } from './types.ts';

const USAGE = `usage: node test/support/kube/main.ts [--port N] [--host H] [--token T] [--tls]
  [--control-port N] [--seed FILE]... [--history N] [--bookmark-interval-ms N] [--watch-timeout-seconds N]
  [--max-body-bytes N] [--auto-namespaces] [--anonymous] [--kubeconfig-dir DIR] [--in-cluster-dir DIR]`;

function fail(msg: string, code: number): never {
  process.stderr.write(`kube-emulator: ${msg}\n`);
  process.exit(code);
}

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v))
    fail(`--${name} must be a non-negative integer, got ${JSON.stringify(v)}\n${USAGE}`, 2);
  return Number(v);
}

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      token: { type: 'string' },
      tls: { type: 'boolean' },
      'control-port': { type: 'string' },
      seed: { type: 'string', multiple: true },
      history: { type: 'string' },
      'bookmark-interval-ms': { type: 'string' },
      'watch-timeout-seconds': { type: 'string' },
      'max-body-bytes': { type: 'string' },
      'auto-namespaces': { type: 'boolean' },
      anonymous: { type: 'boolean' },
      'kubeconfig-dir': { type: 'string' },
      'in-cluster-dir': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
}
try {
  parsed = parse();
} catch (err) {
  fail(`${(err as Error).message}\n${USAGE}`, 2);
}
const v = parsed.values;
if (v.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const opts: KubeEmulatorOptions = {
  tls: v.tls ?? false,
  autoNamespaces: v['auto-namespaces'] ?? false,
  anonymousAuth: v.anonymous ?? false,
};
const set = <K extends keyof KubeEmulatorOptions>(k: K, val: KubeEmulatorOptions[K] | undefined) => {
  if (val !== undefined) opts[k] = val;
};
set('port', int('port', v.port));
set('host', v.host);
set('token', v.token);
set('historyLimit', int('history', v.history));
set('bookmarkIntervalMs', int('bookmark-interval-ms', v['bookmark-interval-ms']));
set('watchTimeoutSeconds', int('watch-timeout-seconds', v['watch-timeout-seconds']));
set('maxBodyBytes', int('max-body-bytes', v['max-body-bytes']));
const controlPort = int('control-port', v['control-port']) ?? 0;

try {
  const seed: KubeObject[] = [];
  for (const file of v.seed ?? []) seed.push(...(await loadSeedFile(file)));
  const emu = await startKubeEmulator({ ...opts, seed });
  const control = await startControlServer(emu, controlPort, opts.host ?? '127.0.0.1');
  const info: Record<string, unknown> = {
    url: emu.url,
    controlUrl: control.url,
    token: emu.token,
    port: emu.port,
    pid: process.pid,
  };
  if (emu.caFile) info.caFile = emu.caFile;
  if (v['kubeconfig-dir']) {
    info.kubeconfig = await writeKubeconfig(
      v['kubeconfig-dir'],
      emu.url,
      emu.token,
      emu.caPem ? { caPem: emu.caPem } : {},
    );
  }
  if (v['in-cluster-dir']) info.inCluster = await writeInClusterFiles(v['in-cluster-dir'], emu);
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    await control.close();
    await emu.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  process.stdout.write(`${JSON.stringify(info)}\n`);
} catch (err) {
  fail(`failed to start: ${(err as Error).message}`, 1);
}
