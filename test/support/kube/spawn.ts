// Starts main.ts as a child process and waits for its ready line; what e2e tests use when the emulator must
// live in its own process (e.g. to be killed, or to stay up while the test's process blocks).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { KubeEmulatorControl } from './control.ts';
import type { InClusterFiles } from './files.ts';

export const EMULATOR_MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

export interface SpawnedEmulator {
  url: string;
  controlUrl: string;
  token: string;
  port: number;
  caFile?: string;
  kubeconfig?: string;
  /** Set when started with --in-cluster-dir. */
  inCluster?: InClusterFiles;
  child: ChildProcess;
  control: KubeEmulatorControl;
  /** SIGTERM, then wait for the exit; returns the exit code. */
  stop(): Promise<number | null>;
}

/** Spawns the emulator with `args` (main.ts flags) using this process's node binary. */
export async function spawnKubeEmulator(args: string[] = [], timeoutMs = 15_000): Promise<SpawnedEmulator> {
  const child = spawn(process.execPath, [EMULATOR_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(
      () => reject(new Error(`kube emulator not ready after ${timeoutMs} ms: ${stderr}`)),
      timeoutMs,
    );
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      } catch (err) {
        reject(err);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kube emulator exited with ${code} before it was ready: ${stderr}`));
    });
  });
  const info = await ready;
  const token = String(info.token);
  const out: SpawnedEmulator = {
    url: String(info.url),
    controlUrl: String(info.controlUrl),
    token,
    port: Number(info.port),
    child,
    control: new KubeEmulatorControl(String(info.controlUrl), token),
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
  if (typeof info.caFile === 'string') out.caFile = info.caFile;
  if (typeof info.kubeconfig === 'string') out.kubeconfig = info.kubeconfig;
  if (info.inCluster) out.inCluster = info.inCluster as InClusterFiles;
  return out;
}
