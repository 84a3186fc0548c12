// The Kubernetes API emulator's public surface (see README.md).
export type { PolicyRule, TokenGrant } from './auth.ts';
export { Authenticator } from './auth.ts';
export { AuthLog, type CertGrant, ClientCertAuthenticator, type PeerIdentity } from './client-certs.ts';
export { kubeConfigFor } from './client-config.ts';
export { KubeEmulatorControl, startControlServer } from './control.ts';
export {
  type CsrApprover,
  type CsrDecision,
  type CsrSignerOptions,
  type CsrView,
  certApproverRules,
  issueClientCertificate,
  startCsrApprover,
} from './csr-signer.ts';
export { DEFAULT_VERSION, type VersionInfo } from './discovery.ts';
export { type KubeEmulator, type KubeEmulatorOptions, startKubeEmulator } from './emulator.ts';
export { type FaultState, Faults } from './faults.ts';
export {
  type InClusterFiles,
  loadSeedFile,
  SERVICEACCOUNT_DIR,
  writeInClusterFiles,
  writeKubeconfig,
} from './files.ts';
export { DEFAULT_MAX_BODY_BYTES } from './http-io.ts';
export { RESOURCES, type ResourceDef } from './resources.ts';
export { EMULATOR_MAIN, type SpawnedEmulator, spawnKubeEmulator } from './spawn.ts';
export { Stats, type StatsSnapshot } from './stats.ts';
export { errors, KubeError, type Status } from './status.ts';
export { Store, type StoreEvent } from './store.ts';
export type { KubeObject, RequestMatch } from './types.ts';
export { WatchHub } from './watch-hub.ts';
