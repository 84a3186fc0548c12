// The composition root: builds every part of multus-daemon from its configuration and runs it until a signal.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sweepStaleTempFiles } from '@multus-ts/cni';
import type { Logger } from 'pino';
import { Admission } from './admission.ts';
import { setUpPerNodeCertificate } from './certs/index.ts';
import { installUserProvidedConfig, MultusConfManager } from './confgen/index.ts';
import type { LoadedDaemonConfig } from './config/index.ts';
import { Engine } from './engine/engine.ts';
import { fsConfDirReader } from './engine/fs-reader.ts';
import { nsenterNetnsOps } from './engine/routes.ts';
import { withHotplugNotifications } from './hotplug/notify.ts';
import { HotplugReconciler } from './hotplug/reconciler.ts';
import { loadKubeConfig, makeApis } from './kube/client.ts';
import { EventRecorder } from './kube/events.ts';
import { NadDirectory } from './kube/nads.ts';
import { PodDirectory, type PodInfo } from './kube/pods.ts';
import { patchNetworkStatus } from './kube/status.ts';
import { devicesOfPod, listPodResources } from './kubelet/podresources.ts';
import {
  instrumentService,
  loadDaemonMetrics,
  type MetricsServer,
  metricsBindAddress,
  pluginRunObserver,
  startMetricsServer,
} from './metrics/index.ts';
import { makePluginSpawner } from './plugin-spawner.ts';
import { buildServer, closeKeepingSocket, listenOnSocket } from './server/server.ts';
import { DelegateCache } from './store/delegate-cache.ts';

export const SOCKET_NAME = 'multus.sock';

export interface RunningDaemon {
  socketPath: string;
  engine: Engine;
  stop(): Promise<void>;
}

export interface DaemonOptions {
  loaded: LoadedDaemonConfig;
  logger: Logger;
  cleanupConfigOnExit: boolean;
  env?: NodeJS.ProcessEnv;
}

export async function startDaemon(opts: DaemonOptions): Promise<RunningDaemon> {
  const { loaded, logger } = opts;
  const env = opts.env ?? process.env;
  const cfg = loaded.typed;
  const nodeName = env['MULTUS_NODE_NAME'] || undefined;
  if (!nodeName) logger.warn({}, 'MULTUS_NODE_NAME is not set: caching the pods of every node');

  // Observability (metrics/): no metrics at all without metricsPort, as upstream.
  const metricsHost = metricsBindAddress(loaded.raw);
  const metrics = cfg.server.metricsPort !== undefined ? await loadDaemonMetrics() : undefined;
  const onApiRequest = metrics
    ? (verb: string, resource: string, code: number | 'error') => metrics.onApiRequest(verb, resource, code)
    : undefined;

  const kubeconfig = typeof loaded.raw['kubeconfig'] === 'string' ? loaded.raw['kubeconfig'] : undefined;
  // perNodeCertificate: the client authenticates with the node's own certificate (obtained through a CSR before
  // any informer starts, rotated in the background); the `kubeconfig` key is then ignored, as upstream.
  const pnc = cfg.server.perNodeCertificate;
  const perNode = pnc?.enabled
    ? await setUpPerNodeCertificate(pnc, nodeName, (level, msg, fields) => logger[level](fields ?? {}, msg))
    : undefined;
  const apis = makeApis(perNode ? perNode.target : await loadKubeConfig({ kubeconfig, env }));
  perNode?.manager.start((target) => apis.client.setTarget(target));
  // Hot-plug (off by default) follows pod changes; it is built once the engine exists.
  let hotplug: HotplugReconciler | undefined;
  const pods = new PodDirectory({
    apis,
    nodeName,
    ...(onApiRequest ? { onApiRequest } : {}),
    ...(cfg.ours.hotplug
      ? { onChange: (key: string, pod: PodInfo | undefined) => hotplug?.podChanged(key, pod) }
      : {}),
  });
  const nads = new NadDirectory({ apis, ...(onApiRequest ? { onApiRequest } : {}) });
  for (const inf of [pods.informer, nads.informer]) {
    inf.start();
    void inf.waitForSync(cfg.ours.informerSyncTimeoutSeconds * 1000).then((ok) => {
      if (!ok)
        logger.error(
          { informer: inf.name, error: inf.state.lastError },
          'informer not synced yet: ADD waits for it',
        );
    });
  }
  const events = new EventRecorder(apis, nodeName ?? '', onApiRequest ? { onApiRequest } : {});

  const autoMode = cfg.multus.multusConfigFile === 'auto';
  let confManager: MultusConfManager | undefined;
  if (autoMode) {
    confManager = new MultusConfManager({
      config: cfg,
      cleanupOnExit: opts.cleanupConfigOnExit || cfg.ours.cleanupConfigOnExit,
      log: (level, msg, fields) => logger[level]({ ...fields, area: 'confgen' }, msg),
    });
    void confManager.start().catch((err: unknown) => {
      logger.error({ err: (err as Error).message }, 'could not generate 00-multus.conf: ADD stays refused');
    });
  } else {
    // Non-auto mode: the operator's own multus config is copied into cniConfigDir once (atomically). Upstream's
    // daemon then exits at once (its bug #1508); this one keeps serving.
    try {
      const dest = await installUserProvidedConfig(cfg);
      if (dest) logger.info({ file: dest }, 'installed the configured multus config');
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'could not install multusConfigFile');
    }
  }

  let shuttingDown = false;
  const admission = new Admission(
    [
      () => (shuttingDown ? 'shutting down' : undefined),
      () => (pods.informer.state.synced ? undefined : 'pod informer not synced'),
      () => (nads.informer.state.synced ? undefined : 'network-attachment-definition informer not synced'),
      () =>
        !confManager || confManager.content !== undefined ? undefined : 'no primary CNI configuration yet',
      () => (confManager && !confManager.ready ? 'readiness indicator file is missing' : undefined),
    ],
    { timeoutMs: cfg.ours.readinessIndicatorWaitSeconds * 1000 },
  );

  // Temp files a killed predecessor left between write and rename (kill -9, OOM) are swept once at start.
  const cniDir = cfg.request.cniDir;
  for (const dir of [cniDir, join(cniDir, 'results')]) {
    const swept = await sweepStaleTempFiles(dir);
    if (swept > 0) logger.info({ dir, swept }, 'removed temp files left by a previous daemon');
  }

  const spawner = makePluginSpawner(env, logger);
  const engine = new Engine({
    pods,
    nads,
    status: { write: (ns, name, value) => patchNetworkStatus(apis, ns, name, value, onApiRequest) },
    events,
    netns: nsenterNetnsOps,
    reader: fsConfDirReader,
    logger,
    admission,
    daemonConfig: loaded.raw as Record<string, unknown>,
    ignoreReadinessIndicator: autoMode,
    extraBinDirs: (env['CNI_PATH'] ?? '').split(':').filter((d) => d !== ''),
    maxConcurrentDelegates: cfg.ours.maxConcurrentDelegates,
    queueTimeoutMs: cfg.ours.requestQueueTimeoutSeconds * 1000,
    devices: {
      forPod: async (ns, name) => devicesOfPod(await listPodResources(cfg.ours.podResourcesSocket), ns, name),
    },
    deviceInfoDir: cfg.ours.deviceInfoDir,
    delegateTimeoutMs: cfg.ours.delegateTimeoutSeconds * 1000,
    chrootDir: cfg.server.chrootDir || undefined,
    onPluginRun: pluginRunObserver(logger, metrics),
    spawner,
  });

  if (cfg.ours.hotplug) {
    hotplug = new HotplugReconciler({
      engine,
      pod: (ns, name) => pods.cached(ns, name),
      synced: async () => {
        for (const inf of [pods.informer, nads.informer]) while (!(await inf.waitForSync(60_000)));
      },
      multusConf: async () => {
        if (autoMode)
          return confManager?.content === undefined ? undefined : Buffer.from(confManager.content);
        return readFile(cfg.multus.multusConfigFile).catch(() => undefined);
      },
      events,
      logger: logger.child({ area: 'hotplug' }),
      cniDir: cfg.request.cniDir,
    });
    void hotplug.start();
    logger.info({}, 'hot-plug is on: networks annotation edits are applied to running pods');
  }

  const socketPath = join(cfg.server.socketDir, SOCKET_NAME);
  const server = buildServer({
    socketPath,
    service: instrumentService(hotplug ? withHotplugNotifications(engine, hotplug) : engine, {
      metrics,
      logger,
    }),
    isReady: () => !shuttingDown,
    ...(metrics ? { onResponse: metrics.onServerResponse.bind(metrics) } : {}),
  });
  await listenOnSocket(server, socketPath);
  logger.info({ socket: socketPath, node: nodeName }, 'multus-daemon listening');

  let metricsServer: MetricsServer | undefined;
  if (metrics && cfg.server.metricsPort !== undefined) {
    const delegateCache = new DelegateCache(cfg.request.cniDir);
    metrics.attach({
      requestsInFlight: () => engine.inFlight,
      executionsInFlight: () => engine.limiter.running,
      executionLimit: () => engine.limiter.limit,
      queueDepth: () => engine.limiter.queued,
      informers: () => [pods.informer, nads.informer],
      delegateCacheEntries: async () => (await delegateCache.list()).length,
      eventsDropped: () => events.dropped,
      ready: () => admission.blocker() === undefined,
    });
    metricsServer = startMetricsServer({
      port: cfg.server.metricsPort,
      host: metricsHost,
      metrics,
      notReadyReason: () => admission.blocker(),
      log: (level, msg, fields) => logger[level]({ ...fields, area: 'metrics' }, msg),
    });
  }

  return {
    socketPath,
    engine,
    async stop() {
      shuttingDown = true;
      const deadline = Date.now() + cfg.ours.shutdownGraceSeconds * 1000;
      await hotplug?.stop(cfg.ours.shutdownGraceSeconds * 1000);
      while (engine.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const cleanup = opts.cleanupConfigOnExit || cfg.ours.cleanupConfigOnExit;
      // An ordinary stop leaves a dead socket so DELs are retried (code 11) until the next daemon is up; the
      // uninstall cleanup removes it so pods can be deleted once multus is gone.
      if (cleanup) await server.close();
      else await closeKeepingSocket(server, socketPath);
      await Promise.all([
        pods.informer.stop(),
        nads.informer.stop(),
        confManager?.stop(),
        perNode?.manager.stop(),
      ]);
      await events.flush();
      // After the requests in flight: the helper finishes what it still runs (hot-plug passes cut short).
      await spawner.close?.();
      apis.client.close();
      await metricsServer?.close();
    },
  };
}
