// The daemon's configuration: daemon-config.json (schema, loading, typed views), the request overlay, and the
// command line. Other areas import from here only.
export { DAEMON_USAGE, type DaemonArgs, parseDaemonArgs } from './args.ts';
export { DAEMON_CONFIG_ERRORS, type DaemonConfigErrorId } from './catalogue.ts';
export {
  DAEMON_CONFIG_MAX_BYTES,
  DAEMON_CONFIG_MAX_DEPTH,
  DEFAULT_DAEMON_CONFIG_PATH,
  defaultMaxConcurrentDelegates,
  MULTUS_CONF_FILE,
  MULTUS_CONF_PREFIX,
  MULTUS_NETWORK_NAME,
  OWN_DEFAULTS,
  UPSTREAM_DEFAULTS,
  UPSTREAM_LOG_LEVELS,
} from './defaults.ts';
export { GoDurationError, parseGoDuration } from './go-duration.ts';
export { compareSemVer, parseSemVer, type SemVer } from './go-semver.ts';
export { type LoadedDaemonConfig, loadDaemonConfig, parseDaemonConfig } from './load.ts';
export { type OverlayOptions, overlayDaemonConfig } from './overlay.ts';
export { type DaemonConfigFile, daemonConfigFileSchema, OWN_KEYS, UPSTREAM_KEYS } from './schema.ts';
export type {
  DaemonConfig,
  LogOptions,
  MultusConfView,
  OwnView,
  PerNodeCertificate,
  RequestView,
  ServerView,
} from './views.ts';
export { buildDaemonConfig } from './views.ts';
