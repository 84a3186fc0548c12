// Metrics of multus-daemon: the registry and its hooks, the service wrapper that times /cni calls and gives them a
// log context, and the HTTP server Prometheus and the kubelet talk to.
export { instrumentService, pluginRunObserver, STDERR_LOG_LIMIT } from './instrument.ts';
export { BoundedLabel, cniCodeLabel, httpMethodLabel, OTHER, WELL_KNOWN_PLUGINS } from './labels.ts';
export {
  DaemonMetrics,
  type DaemonMetricsOptions,
  DEFAULT_PLUGIN_LABEL_CAP,
  type InformerView,
  type MetricSources,
} from './registry.ts';
export { type MetricsServer, metricsBindAddress, startMetricsServer } from './server.ts';
