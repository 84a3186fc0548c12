// The typed views of daemon-config.json. Upstream reads the one file through three structs with different defaults
// (multus-thick.md §2): ControllerNetConf for the daemon, MultusConf for 00-multus.conf, and the per-request NetConf
// after the overlay. Keeping three views (plus ours) makes each consumer read the default that upstream would apply.
import {
  DEFAULT_DAEMON_CONFIG_PATH,
  defaultMaxConcurrentDelegates,
  MULTUS_NETWORK_NAME,
  OWN_DEFAULTS,
  UPSTREAM_DEFAULTS,
} from './defaults.ts';
import { parseGoDuration } from './go-duration.ts';
import type { DaemonConfigFile } from './schema.ts';

export interface PerNodeCertificate {
  readonly enabled: boolean;
  readonly bootstrapKubeconfig: string;
  readonly certDir: string;
  /** As written (Go duration syntax), default "10m". */
  readonly certDuration: string;
  readonly certDurationMs: number;
}

export interface LogOptions {
  readonly maxAge?: number;
  readonly maxSize?: number;
  readonly maxBackups?: number;
  readonly compress?: boolean;
}

/** §2.1 ControllerNetConf: the daemon's own settings. */
export interface ServerView {
  readonly chrootDir: string;
  /** Empty when unset, and when it names the daemon config file itself (upstream quirk, see docs). */
  readonly logFile: string;
  readonly logLevel: string;
  /** false unless set: upstream's daemon turns stderr logging off unless the file says true. */
  readonly logToStderr: boolean;
  readonly perNodeCertificate: PerNodeCertificate | undefined;
  readonly connectionLimit: number | undefined;
  readonly metricsPort: number | undefined;
  readonly enablePprof: boolean;
  readonly socketDir: string;
}

/** §2.2 MultusConf: the inputs of 00-multus.conf, with upstream's empty-string/false "unset" values. */
export interface MultusConfView {
  readonly binDir: string;
  readonly capabilities: Readonly<Record<string, boolean>>;
  readonly cniVersion: string;
  readonly logFile: string;
  readonly logLevel: string;
  readonly logToStderr: boolean;
  readonly logOptions: LogOptions | undefined;
  /** Always "multus-cni-network" (upstream forces it; `overrideNetworkName` replaces it at generation). */
  readonly name: string;
  readonly namespaceIsolation: boolean;
  readonly globalNamespaces: string;
  readonly readinessindicatorfile: string;
  readonly type: string;
  readonly cniDir: string;
  readonly cniConfigDir: string;
  readonly auxiliaryCNIChainName: string;
  readonly daemonSocketDir: string;
  readonly multusConfigFile: string;
  readonly multusMasterCNI: string;
  readonly multusAutoconfigDir: string;
  readonly forceCNIVersion: boolean;
  readonly overrideNetworkName: boolean;
}

/**
 * §2.3: what a request's multus NetConf holds for the keys daemon-config.json sets, with upstream's per-request
 * defaults where the file is silent. (The engine still parses each merged request; 00-multus.conf may set keys the
 * daemon file does not.)
 */
export interface RequestView {
  readonly confDir: string;
  readonly cniDir: string;
  readonly binDir: string;
  readonly clusterNetwork: string;
  readonly defaultNetworks: readonly string[];
  readonly delegates: readonly Readonly<Record<string, unknown>>[] | undefined;
  readonly kubeconfig: string;
  readonly logFile: string;
  readonly logLevel: string;
  readonly logToStderr: boolean;
  readonly logOptions: LogOptions | undefined;
  readonly readinessindicatorfile: string;
  readonly namespaceIsolation: boolean;
  /** Parsed from the comma-separated `globalNamespaces`; ["default"] when unset. */
  readonly globalNamespaces: readonly string[];
  readonly auxiliaryCNIChainName: string;
  readonly systemNamespaces: readonly string[];
  readonly multusNamespace: string;
  readonly retryDeleteOnError: boolean;
}

/** Keys multus-ts adds (none exists upstream). */
export interface OwnView {
  readonly cleanupConfigOnExit: boolean;
  readonly primaryConfigWaitSeconds: number;
  readonly readinessIndicatorWaitSeconds: number;
  readonly informerSyncTimeoutSeconds: number;
  readonly shutdownGraceSeconds: number;
  readonly maxConcurrentDelegates: number;
  readonly requestQueueTimeoutSeconds: number;
  readonly podResourcesSocket: string;
  readonly deviceInfoDir: string;
  readonly delegateTimeoutSeconds: number;
  /** Hot-plug: apply networks-annotation edits to running pods. */
  readonly hotplug: boolean;
}

export interface DaemonConfig {
  readonly server: ServerView;
  readonly multus: MultusConfView;
  readonly request: RequestView;
  readonly ours: OwnView;
  /** Known keys present in the file (after `null` handling); lets callers tell "unset" from "set to default". */
  readonly presentKeys: ReadonlySet<string>;
}

/** Non-empty string or the fallback: upstream applies the per-request defaults before unmarshalling, so an
 *  explicit "" stays "" there; for socketDir it checks for "" after. `keepEmpty` selects the former. */
function orDefault(v: string | undefined, fallback: string, keepEmpty: boolean): string {
  if (v === undefined) return fallback;
  return v === '' && !keepEmpty ? fallback : v;
}

function parseGlobalNamespaces(raw: string | undefined): readonly string[] {
  if (!raw) return UPSTREAM_DEFAULTS.globalNamespaces;
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function toLogOptions(o: DaemonConfigFile['logOptions']): LogOptions | undefined {
  if (!o) return undefined;
  return {
    ...(o.maxAge !== undefined ? { maxAge: o.maxAge } : {}),
    ...(o.maxSize !== undefined ? { maxSize: o.maxSize } : {}),
    ...(o.maxBackups !== undefined ? { maxBackups: o.maxBackups } : {}),
    ...(o.compress !== undefined ? { compress: o.compress } : {}),
  };
}

/** Builds the views from a validated file. `configPath` is the file's own path (for the logFile guard). */
export function buildDaemonConfig(
  f: DaemonConfigFile,
  presentKeys: ReadonlySet<string>,
  configPath?: string,
): DaemonConfig {
  const pnc = f.perNodeCertificate;
  const certDuration = pnc?.certDuration ?? UPSTREAM_DEFAULTS.certDuration;
  const logOptions = toLogOptions(f.logOptions);
  const capabilities: Record<string, boolean> = Object.create(null);
  for (const [k, v] of Object.entries(f.capabilities ?? {})) capabilities[k] = v;
  // Upstream ignores a logFile equal to the default config path so the daemon cannot log over its own config;
  // we apply the same guard to the path actually loaded.
  const logFile = f.logFile ?? '';
  const serverLogFile =
    logFile === DEFAULT_DAEMON_CONFIG_PATH || (configPath !== undefined && logFile === configPath)
      ? ''
      : logFile;

  const server: ServerView = {
    chrootDir: f.chrootDir ?? '',
    logFile: serverLogFile,
    logLevel: f.logLevel ?? '',
    logToStderr: f.logToStderr ?? false,
    perNodeCertificate: pnc
      ? {
          enabled: pnc.enabled ?? false,
          bootstrapKubeconfig: pnc.bootstrapKubeconfig ?? '',
          certDir: pnc.certDir ?? '',
          certDuration,
          certDurationMs: parseGoDuration(certDuration) / 1e6,
        }
      : undefined,
    connectionLimit: f.connectionLimit,
    metricsPort: f.metricsPort,
    enablePprof: f.enablePprof ?? false,
    socketDir: orDefault(f.socketDir, UPSTREAM_DEFAULTS.socketDir, false),
  };

  const multus: MultusConfView = {
    binDir: f.binDir ?? '',
    capabilities,
    cniVersion: f.cniVersion ?? '',
    logFile,
    logLevel: f.logLevel ?? '',
    logToStderr: f.logToStderr ?? false,
    logOptions,
    name: MULTUS_NETWORK_NAME,
    namespaceIsolation: f.namespaceIsolation ?? false,
    globalNamespaces: f.globalNamespaces ?? '',
    readinessindicatorfile: f.readinessindicatorfile ?? '',
    type: f.type ?? UPSTREAM_DEFAULTS.type,
    cniDir: f.cniDir ?? '',
    cniConfigDir: f.cniConfigDir ?? UPSTREAM_DEFAULTS.cniConfigDir,
    auxiliaryCNIChainName: f.auxiliaryCNIChainName ?? '',
    daemonSocketDir: f.daemonSocketDir ?? '',
    multusConfigFile: f.multusConfigFile ?? UPSTREAM_DEFAULTS.multusConfigFile,
    multusMasterCNI: f.multusMasterCNI ?? '',
    multusAutoconfigDir: f.multusAutoconfigDir ?? '',
    forceCNIVersion: f.forceCNIVersion ?? false,
    overrideNetworkName: f.overrideNetworkName ?? false,
  };

  const request: RequestView = {
    confDir: orDefault(f.confDir, UPSTREAM_DEFAULTS.confDir, true),
    cniDir: orDefault(f.cniDir, UPSTREAM_DEFAULTS.cniDir, true),
    binDir: orDefault(f.binDir, UPSTREAM_DEFAULTS.binDir, true),
    clusterNetwork: f.clusterNetwork ?? '',
    defaultNetworks: f.defaultNetworks ?? [],
    delegates: f.delegates,
    kubeconfig: f.kubeconfig ?? '',
    logFile,
    logLevel: f.logLevel ?? '',
    logToStderr: f.logToStderr ?? true,
    logOptions,
    readinessindicatorfile: f.readinessindicatorfile ?? '',
    namespaceIsolation: f.namespaceIsolation ?? false,
    globalNamespaces: parseGlobalNamespaces(f.globalNamespaces),
    auxiliaryCNIChainName: f.auxiliaryCNIChainName ?? '',
    systemNamespaces: f.systemNamespaces ?? UPSTREAM_DEFAULTS.systemNamespaces,
    multusNamespace: orDefault(f.multusNamespace, UPSTREAM_DEFAULTS.multusNamespace, true),
    retryDeleteOnError: f.retryDeleteOnError ?? false,
  };

  const ours: OwnView = {
    cleanupConfigOnExit: f.cleanupConfigOnExit ?? OWN_DEFAULTS.cleanupConfigOnExit,
    primaryConfigWaitSeconds: f.primaryConfigWaitSeconds ?? UPSTREAM_DEFAULTS.primaryConfigWaitSeconds,
    readinessIndicatorWaitSeconds:
      f.readinessIndicatorWaitSeconds ?? UPSTREAM_DEFAULTS.readinessIndicatorWaitSeconds,
    informerSyncTimeoutSeconds: f.informerSyncTimeoutSeconds ?? UPSTREAM_DEFAULTS.informerSyncTimeoutSeconds,
    shutdownGraceSeconds: f.shutdownGraceSeconds ?? UPSTREAM_DEFAULTS.shutdownGraceSeconds,
    maxConcurrentDelegates: f.maxConcurrentDelegates ?? defaultMaxConcurrentDelegates(),
    requestQueueTimeoutSeconds: f.requestQueueTimeoutSeconds ?? OWN_DEFAULTS.requestQueueTimeoutSeconds,
    podResourcesSocket: f.podResourcesSocket ?? OWN_DEFAULTS.podResourcesSocket,
    deviceInfoDir: f.deviceInfoDir ?? OWN_DEFAULTS.deviceInfoDir,
    delegateTimeoutSeconds: f.delegateTimeoutSeconds ?? OWN_DEFAULTS.delegateTimeoutSeconds,
    hotplug: f.hotplug ?? OWN_DEFAULTS.hotplug,
  };

  return { server, multus, request, ours, presentKeys };
}
