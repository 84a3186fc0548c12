// Wraps the engine as the socket server sees it: each call runs inside its request log context (so every line it
// logs carries the container, pod, command, ifname and network) and /cni calls are timed for
// multus_cni_request_duration_seconds. The wrapper only observes: results and errors pass through untouched.
import type { PluginRunEvent } from '@multus-ts/cni';
import type { Logger } from 'pino';
import { withRequestContext } from '../logging.ts';
import type { CniReply, CniService } from '../server/server.ts';
import type { CniCall } from '../server/wire.ts';
import type { DaemonMetrics } from './registry.ts';

/** Longest plugin stderr excerpt copied into a log line. */
export const STDERR_LOG_LIMIT = 4096;

export interface InstrumentOptions {
  metrics?: DaemonMetrics | undefined;
  /** One line per request: debug when it starts, info (upstream: verbose) when it ends, error when it fails. */
  logger?: Pick<Logger, 'debug' | 'info' | 'error'>;
}

export function instrumentService(service: CniService, opts: InstrumentOptions = {}): CniService {
  const { metrics, logger } = opts;
  const observe = async (
    call: CniCall,
    run: () => Promise<CniReply>,
    what: string,
    timed: boolean,
  ): Promise<CniReply> => {
    const started = performance.now();
    let result: 'success' | 'error' = 'error';
    try {
      logger?.debug({}, `${what} request received`);
      const reply = await run();
      result = 'success';
      return reply;
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown };
      logger?.error({ code: e.code, err: String(e.message ?? err) }, `${what} request failed`);
      throw err;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      // Logged once the reply is on its way: formatting a line is not the runtime's wait.
      if (result === 'success' && logger) {
        const durationMs = Math.round(seconds * 1e4) / 10;
        setImmediate(() => logger.info({ durationMs }, `${what} request done`));
      }
      if (timed) metrics?.observeCniRequest(call.command, result, seconds);
    }
  };
  return {
    cni: (call) => withRequestContext(call, () => observe(call, () => service.cni(call), call.command, true)),
    delegate: (call) =>
      withRequestContext(call, () =>
        observe(call, () => service.delegate(call), `delegate ${call.command}`, false),
      ),
  };
}

/**
 * The CNI runtime's per-plugin hook: metrics, and one debug line per plugin run with its stderr (plugins explain
 * their failures there). Runs inside the request's context, so the line names the container and pod.
 */
export function pluginRunObserver(
  logger: Pick<Logger, 'debug' | 'isLevelEnabled'>,
  metrics: DaemonMetrics | undefined,
): (event: PluginRunEvent) => void {
  return (event) => {
    metrics?.onPluginRun(event);
    if (!logger.isLevelEnabled('debug')) return;
    const stderr =
      event.stderr.length > STDERR_LOG_LIMIT ? `${event.stderr.slice(0, STDERR_LOG_LIMIT)}...` : event.stderr;
    logger.debug(
      {
        plugin: event.type,
        network: event.network,
        // the run's own interface (net1, ...), not the request's eth0 the request context would add
        ...(event.ifName ? { ifname: event.ifName } : {}),
        durationMs: Math.round(event.durationMs * 10) / 10,
        ...(stderr ? { stderr } : {}),
        ...(event.error ? { code: event.error.code, err: event.error.message } : {}),
      },
      event.error ? 'delegate plugin failed' : 'delegate plugin ran',
    );
  };
}
