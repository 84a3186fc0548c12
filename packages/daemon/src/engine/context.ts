// One request's working context, shared by the command implementations (add.ts, del.ts, check.ts, gc.ts).
import { CniRuntime, type NetworkConfigList, parseNetworkConfig } from '@multus-ts/cni';
import type { CniCall } from '../server/wire.ts';
import { DelegateCache } from '../store/delegate-cache.ts';
import type { EngineDeps, EngineLogger } from './deps.ts';
import type { MultusNetConf } from './netconf.ts';
import type { PriorityLimiter } from './serial.ts';

export interface RequestContext {
  call: CniCall;
  conf: MultusNetConf;
  deps: EngineDeps;
  log: EngineLogger;
  runtime: CniRuntime;
  cache: DelegateCache;
  limiter: PriorityLimiter;
}

export function makeRuntime(deps: EngineDeps, conf: MultusNetConf): CniRuntime {
  const binDirs = [conf.binDir, ...(deps.extraBinDirs ?? [])].filter(
    (d, i, all) => d !== '' && all.indexOf(d) === i,
  );
  return new CniRuntime({
    binDirs,
    cacheDir: conf.cniDir,
    ...(deps.delegateTimeoutMs !== undefined ? { timeoutMs: deps.delegateTimeoutMs } : {}),
    passEnv: deps.passEnv ?? ['PATH'],
    ...(deps.chrootDir ? { chrootDir: deps.chrootDir } : {}),
    ...(deps.onPluginRun ? { onPluginRun: deps.onPluginRun } : {}),
  });
}

export function makeContext(
  call: CniCall,
  conf: MultusNetConf,
  deps: EngineDeps,
  limiter: PriorityLimiter,
): RequestContext {
  const log = deps.logger.child({ containerID: call.containerId, command: call.command });
  return {
    call,
    conf,
    deps,
    log,
    runtime: makeRuntime(deps, conf),
    cache: new DelegateCache(conf.cniDir),
    limiter,
  };
}

/** Re-parses a delegate config kept as bytes (the delegate cache) into a list for the CNI runtime. */
export function listFromBytes(bytes: Uint8Array, name: string): NetworkConfigList {
  return parseNetworkConfig(bytes, { defaultName: name });
}
