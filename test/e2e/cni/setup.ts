// Shared setup of the CNI end-to-end tests: a "node" namespace where every plugin runs (see test/support/netns.ts),
// a "pod" namespace for CNI_NETNS, a bin dir of launchers for the real plugins plus any fake plugins, a result
// cache dir and a host-local data dir in temp dirs, and a recording file for the fakes. All of it is undone by
// `env.scope.cleanup()`.
import { join } from 'node:path';
import {
  CniRuntime,
  type CniRuntimeOptions,
  type NetworkConfigList,
  parseNetworkConfig,
} from '@multus-ts/cni';
import {
  type Call,
  type FakeKind,
  installFakePlugin,
  RECORD_ENV,
  readCalls,
} from '../../support/fake-plugins/install.ts';
import { ipIn, netnsPath, requireHostTools, TestScope } from '../../support/netns.ts';

export interface CniTestEnv {
  scope: TestScope;
  node: string;
  pod: string;
  podPath: string;
  bin: string;
  cacheDir: string;
  dataDir: string;
  /** The file the fake plugins append their calls to. */
  recordFile: string;
  runtime(opts?: Partial<CniRuntimeOptions>): CniRuntime;
  calls(): Call[];
}

/**
 * Builds the environment (fails the calling test when root, `ip` or a real plugin is missing). `fakes` maps a
 * plugin name in the bin dir to the kind of fake installed under it.
 */
export async function cniTestEnv(
  fakes: Record<string, FakeKind> = {},
  plugins?: readonly string[],
): Promise<CniTestEnv> {
  requireHostTools(plugins);
  const scope = new TestScope();
  try {
    const node = await scope.netns('node');
    const pod = await scope.netns('pod');
    await ipIn(node, 'link', 'set', 'lo', 'up');
    const bin = await scope.nodeBinDir(node);
    for (const [name, kind] of Object.entries(fakes)) await installFakePlugin(bin, name, kind);
    const cacheDir = await scope.tempDir('multus-ts-cache-');
    const dataDir = await scope.tempDir('multus-ts-ipam-');
    const recordFile = join(await scope.tempDir('multus-ts-calls-'), 'calls.jsonl');
    // Fakes find the record file through this variable, which the runtime passes through explicitly.
    process.env[RECORD_ENV] = recordFile;
    scope.defer('record env', () => {
      delete process.env[RECORD_ENV];
    });
    return {
      scope,
      node,
      pod,
      podPath: netnsPath(pod),
      bin,
      cacheDir,
      dataDir,
      recordFile,
      runtime: (opts = {}) =>
        new CniRuntime({
          binDirs: [bin],
          cacheDir,
          timeoutMs: 30_000,
          passEnv: ['PATH', RECORD_ENV],
          ...opts,
        }),
      calls: () => readCalls(recordFile),
    };
  } catch (err) {
    await scope.cleanup().catch(() => undefined);
    throw err;
  }
}

/** parseNetworkConfig of an object literal. */
export function conflist(obj: Record<string, unknown>): NetworkConfigList {
  return parseNetworkConfig(JSON.stringify(obj));
}

/** Awaits a promise that must reject with a CniError-like object; returns it. */
export async function rejected(p: Promise<unknown>): Promise<{
  code: number;
  msg: string;
  details?: string;
  id?: string;
  stderr?: string;
}> {
  try {
    await p;
  } catch (err) {
    return err as { code: number; msg: string; details?: string; id?: string; stderr?: string };
  }
  throw new Error('expected the call to fail');
}
