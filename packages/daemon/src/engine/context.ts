// One request's working context, shared by the command implementations (add.ts, del.ts, check.ts, gc.ts).
import { CniError, CniRuntime, type NetworkConfigList, parseNetworkConfig } from '@multus-ts/cni';
import { DAEMON_ERRORS } from '../catalogue.ts';
import type { CniCall } from '../server/wire.ts';
import { DelegateCache } from '../store/delegate-cache.ts';
import type { EngineDeps, EngineLogger } from './deps.ts';
import { lazyChild } from './lazy-logger.ts';
import type { MultusNetConf } from './netconf.ts';
import { LimiterTimeoutError, type PriorityLimiter } from './serial.ts';

export interface RequestContext {
  call: CniCall;
  conf: MultusNetConf;
  deps: EngineDeps;
  log: EngineLogger;
  runtime: CniRuntime;
  cache: DelegateCache;
  limiter: PriorityLimiter;
  /**
   * Work that follows the reply (ADD's network-status write and events): the engine runs it after the runtime has
   * its answer, still holding the container's turn, so the next operation on that container starts after it.
   */
  afterReply: (() => Promise<void>)[];
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
    ...(deps.spawner ? { spawner: deps.spawner } : {}),
  });
}

export function makeContext(
  call: CniCall,
  conf: MultusNetConf,
  deps: EngineDeps,
  limiter: PriorityLimiter,
): RequestContext {
  const log = lazyChild(deps.logger, { containerID: call.containerId, command: call.command });
  return {
    call,
    conf,
    deps,
    log,
    runtime: makeRuntime(deps, conf),
    cache: new DelegateCache(conf.cniDir),
    limiter,
    afterReply: [],
  };
}

/**
 * Runs `task` in a delegate execution slot. ADD waits at most the queue timeout and then fails with code 11 (the
 * runtime retries); DEL and CHECK go ahead of ADDs, and DEL never times out in the queue.
 */
export async function inSlot<T>(
  ctx: RequestContext,
  kind: 'add' | 'check' | 'del',
  task: () => Promise<T>,
): Promise<T> {
  const waitMs = kind === 'del' ? Number.POSITIVE_INFINITY : (ctx.deps.queueTimeoutMs ?? 60_000);
  try {
    return await ctx.limiter.run(kind === 'add' ? 'normal' : 'high', waitMs, task);
  } catch (err) {
    if (err instanceof LimiterTimeoutError)
      throw CniError.of(DAEMON_ERRORS, 'ERR_OVERLOADED', { reason: err.message });
    throw err;
  }
}

/** Re-parses a delegate config kept as bytes (the delegate cache) into a list for the CNI runtime. */
export function listFromBytes(bytes: Uint8Array, name: string): NetworkConfigList {
  return parseNetworkConfig(bytes, { defaultName: name });
}
