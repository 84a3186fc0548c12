// Upstream's fixed paths and defaults (multus-thick.md §1.2, §2.1-2.3), and the limits of our own loader.
// Kept in one place so the schema, the docs table and the tests cannot drift apart.
import { availableParallelism } from 'node:os';

/** `-config` default (upstream `pkg/server/types.go`). */
export const DEFAULT_DAEMON_CONFIG_PATH = '/etc/cni/net.d/multus.d/daemon-config.json';

/** The network name upstream forces into 00-multus.conf (unless `overrideNetworkName`). */
export const MULTUS_NETWORK_NAME = 'multus-cni-network';
/** The file name of the generated configuration; also the prefix skipped by primary discovery. */
export const MULTUS_CONF_FILE = '00-multus.conf';
export const MULTUS_CONF_PREFIX = '00-multus';

export const UPSTREAM_DEFAULTS = {
  socketDir: '/run/multus/',
  cniConfigDir: '/etc/cni/net.d',
  multusConfigFile: 'auto',
  type: 'multus-shim',
  confDir: '/etc/cni/multus/net.d',
  cniDir: '/var/lib/cni/multus',
  binDir: '/opt/cni/bin',
  multusNamespace: 'kube-system',
  systemNamespaces: ['kube-system'] as readonly string[],
  globalNamespaces: ['default'] as readonly string[],
  certDuration: '10m',
  /** Primary discovery: tries, one second apart (`manager.go`: findMasterPlugin(dir, 120)). */
  primaryConfigWaitSeconds: 120,
  /** Readiness-indicator wait at start and per request (`conf.go`: 45 s poll). */
  readinessIndicatorWaitSeconds: 45,
  /** Per-informer initial sync wait (`server.go`: 20 s). */
  informerSyncTimeoutSeconds: 20,
  /** SIGTERM -> cancel delay (`main.go`: SigTermCancelAfter). */
  shutdownGraceSeconds: 10,
} as const;

/** Log levels upstream's logger knows (case-insensitive). */
export const UPSTREAM_LOG_LEVELS = ['panic', 'error', 'verbose', 'debug'] as const;

/** Defaults of our own keys (see docs/configuration.md). maxConcurrentDelegates is computed, below. */
export const OWN_DEFAULTS = {
  cleanupConfigOnExit: false,
  requestQueueTimeoutSeconds: 60,
  /** The kubelet PodResources socket (device plugins / DRA). */
  podResourcesSocket: '/var/lib/kubelet/pod-resources/kubelet.sock',
  /** Device-info files (device-info spec): `dp/` written by device plugins, `cni/` per attachment. */
  deviceInfoDir: '/var/run/k8s.cni.cncf.io/devinfo',
  /** One delegate plugin run (ADD, DEL, CHECK, ...): killed with its process group and code 11 after this. */
  delegateTimeoutSeconds: 60,
  /** Apply networks-annotation edits to running pods (docs/hotplug.md). */
  hotplug: false,
} as const;

/**
 * Default bound on concurrently executing delegates. Delegates are separate processes (tens of MB each, counted in
 * the daemon's cgroup), so the bound follows the CPU count, with a floor so a 1-2 core node still overlaps I/O.
 */
export function defaultMaxConcurrentDelegates(cpus: number = availableParallelism()): number {
  return Math.max(4, 2 * cpus);
}

/** Limits of the daemon-config loader: a real file is a few hundred bytes; anything near these is hostile. */
export const DAEMON_CONFIG_MAX_BYTES = 1024 * 1024;
export const DAEMON_CONFIG_MAX_DEPTH = 64;
