// What the engine needs from the outside world, as interfaces: the Kubernetes side (pods, NADs, status, events)
// comes from kube/ in production and from fakes in unit tests; netns operations from routes.ts.
import type { PluginRunEvent, Spawner } from '@multus-ts/cni';
import type { ConfDirReader, Nad } from '@multus-ts/netspec';
import type { PatchOutcome } from '../kube/status.ts';

export type { PodInfo, PodLookup } from '../kube/pods.ts';

import type { PodLookup } from '../kube/pods.ts';

export interface PodSource {
  lookup(namespace: string, name: string, uid: string, mode: 'add' | 'del'): Promise<PodLookup>;
}

export interface NadSource {
  get(namespace: string, name: string): Nad | undefined;
}

export interface StatusSink {
  write(namespace: string, name: string, value: string): Promise<PatchOutcome>;
}

export interface PodEventTarget {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
}

export interface EventSink {
  record(pod: PodEventTarget, ev: { type: 'Normal' | 'Warning'; reason: string; message: string }): void;
}

/** The pino-compatible subset the engine logs through. */
export interface EngineLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  child(bindings: object): EngineLogger;
}

export interface RouteAction {
  ifName: string;
  deleteFamilies: (4 | 6)[];
  addGateways: { family: 4 | 6; gateway: string }[];
}

export interface NetnsOps {
  /** Applies default-route edits inside the netns at `netnsPath`. */
  applyDefaultRoutes(netnsPath: string, action: RouteAction): Promise<void>;
}

/** Decides whether ADD may run now (boot, readiness); DEL/CHECK never wait on it. */
export interface AdmissionControl {
  /** Resolves when ADD may proceed; rejects with a CniError (code 11) after the deadline. */
  admitAdd(): Promise<void>;
}

/** Device-plugin devices held by a pod (kubelet PodResources): resourceName -> sorted device IDs. */
export interface DeviceSource {
  forPod(namespace: string, name: string): Promise<Record<string, string[]>>;
}

export interface EngineDeps {
  pods: PodSource;
  nads: NadSource;
  status: StatusSink;
  events: EventSink;
  netns: NetnsOps;
  reader: ConfDirReader;
  logger: EngineLogger;
  admission?: AdmissionControl;
  devices?: DeviceSource;
  /** Base of the device-info files (`dp/`, `cni/`). Default: the device-info spec's /var/run/k8s.cni.cncf.io/devinfo. */
  deviceInfoDir?: string;
  /** daemon-config.json as an object: overlaid onto every request config (upstream §2.4). */
  daemonConfig?: Record<string, unknown> | undefined;
  /** Auto mode drops the client's readinessindicatorfile (upstream HEAD). */
  ignoreReadinessIndicator?: boolean;
  /** Bin dirs searched after the request's binDir (the daemon's own CNI_PATH). */
  extraBinDirs?: readonly string[];
  /** Concurrent delegate executions across the daemon. */
  maxConcurrentDelegates?: number;
  /** How long a request may wait for an execution slot before failing with code 11. */
  queueTimeoutMs?: number;
  /** Run delegates chrooted into this directory (upstream's `chrootDir`), per child process. */
  chrootDir?: string | undefined;
  /** Per delegate plugin run. */
  delegateTimeoutMs?: number;
  /** Variables of the daemon's environment passed to delegates (PATH at least). */
  passEnv?: readonly string[];
  onPluginRun?: (event: PluginRunEvent) => void;
  /** How plugin processes are started (default: Node's child_process). */
  spawner?: Spawner;
}
