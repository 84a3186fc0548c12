// Runs the multus-shim binary for the tests in this directory: builds it (release and ASan/UBSan), starts
// it with an exact environment and stdin, and collects its output byte for byte.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';

export const SHIM_DIR = resolve(import.meta.dirname, '../../../packages/shim');
export const SHIM_VERSION: string = JSON.parse(readFileSync(join(SHIM_DIR, 'package.json'), 'utf8')).version;

export interface ShimBinary {
  name: string;
  path: string;
  makeTarget: string;
}

/** Every suite runs once per binary: the shipped static one, and the sanitizer build. */
export const SHIM_BINARIES: ShimBinary[] = [
  { name: 'static', path: join(SHIM_DIR, 'multus-shim'), makeTarget: 'multus-shim' },
  { name: 'asan+ubsan', path: join(SHIM_DIR, 'build', 'multus-shim-asan'), makeTarget: 'asan' },
];

/** make is incremental: this builds a missing or stale binary and fails loudly when that is impossible. */
export function buildShim(binary: ShimBinary): void {
  execFileSync('make', ['-s', '-C', SHIM_DIR, binary.makeTarget], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (!existsSync(binary.path)) throw new Error(`make ${binary.makeTarget} did not produce ${binary.path}`);
}

export interface ShimRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  env: Record<string, string>;
  stdin?: string | Buffer;
  /** Leave stdin open (never send EOF). */
  holdStdin?: boolean;
  args?: string[];
  /** Run through `bash -c <script> <shim>` instead (to build environments Node cannot express). */
  bashScript?: string;
}

export async function runShim(binary: ShimBinary, opts: RunOptions): Promise<ShimRun> {
  const started = performance.now();
  const child = opts.bashScript
    ? spawn('/bin/bash', ['-c', opts.bashScript, binary.path], { env: opts.env })
    : spawn(binary.path, opts.args ?? [], { env: opts.env });
  const out: Buffer[] = [];
  let err = '';
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString('utf8');
  });
  child.stdin.on('error', () => {}); // the shim may exit before reading everything (stdin too big)
  if (opts.stdin !== undefined) child.stdin.write(opts.stdin);
  if (!opts.holdStdin) child.stdin.end();
  const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) =>
    child.on('close', (c, s) => res([c, s])),
  );
  clearTimeout(guard);
  if (opts.holdStdin) child.stdin.destroy();
  // A sanitizer report must never go unnoticed, whatever the test expects otherwise.
  expect(err).not.toMatch(/Sanitizer|runtime error:/);
  return { code, signal, stdout: Buffer.concat(out), stderr: err, ms: performance.now() - started };
}

/** The environment a runtime passes for `command`, with short timeouts for tests. */
export function cniEnv(command: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'c0ffee1234',
    CNI_NETNS: '/var/run/netns/test-ns',
    CNI_IFNAME: 'eth0',
    CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-a;K8S_POD_UID=1234',
    CNI_PATH: '/opt/cni/bin',
    MULTUS_SHIM_READY_TIMEOUT_MS: '2000',
    MULTUS_SHIM_DEL_WAIT_MS: '2000',
    MULTUS_SHIM_TIMEOUT_MS: '10000',
    ...extra,
  };
}

/** A 00-multus.conf-like config pointing the shim at `socketDir`. */
export function shimConfig(
  socketDir: string,
  cniVersion = '0.4.0',
  extra: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    cniVersion,
    name: 'multus-cni-network',
    type: 'multus-shim',
    daemonSocketDir: socketDir,
    ...extra,
  });
}

/** The error JSON the shim prints for its own errors (details left out when empty). */
export function shimError(cniVersion: string, code: number, msg: string, details?: string): string {
  return `${JSON.stringify({ cniVersion, code, msg, ...(details ? { details } : {}) })}\n`;
}
