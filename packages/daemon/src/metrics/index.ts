// Metrics of multus-daemon: the registry and its hooks, the service wrapper that times /cni calls and gives them a
// log context, and the HTTP server Prometheus and the kubelet talk to.
export { instrumentService, pluginRunObserver, STDERR_LOG_LIMIT } from './instrument.ts';
export { BoundedLabel, cniCodeLabel, httpMethodLabel, OTHER, WELL_KNOWN_PLUGINS } from './labels.ts';
export type { DaemonMetrics, DaemonMetricsOptions, InformerView, MetricSources } from './registry.ts';
export { type MetricsServer, metricsBindAddress, startMetricsServer } from './server.ts';

import type { DaemonMetrics, DaemonMetricsOptions } from './registry.ts';

/**
 * The registry, with prom-client loaded only now: a daemon without `metricsPort` never reads it (prom-client and
 * the built-ins it requires are ~1.5 MiB of heap and code).
 */
export async function loadDaemonMetrics(opts?: DaemonMetricsOptions): Promise<DaemonMetrics> {
  const { DaemonMetrics } = await import('./registry.ts');
  return new DaemonMetrics(opts);
}
