// The real kube-apiserver for tests (see README.md): build check, start/stop, bootstrap, audit log, and the
// backend switch the node harness uses.
export { type AuditedRequest, readAudit } from './audit.ts';
export {
  type ApiCall,
  BACKENDS,
  type Backend,
  type BackendOptions,
  type KubeBackend,
  type RestartWindow,
  type ServiceAccountCredentials,
  startKubeBackend,
} from './backend.ts';
export {
  createObject,
  DEPLOYMENT,
  findInDeployment,
  installMultus,
  loadDeployment,
  type ManifestObject,
  type MultusInstall,
  NAD_CRD,
  serviceAccountToken,
} from './bootstrap.ts';
export { type InClusterLaunch, inClusterLaunch, SERVICEACCOUNT_MOUNT } from './in-cluster.ts';
export {
  APISERVER_CACHE,
  type ApiServerBinaries,
  KUBE_APISERVER_BIN,
  requireApiServerBinaries,
} from './paths.ts';
export type { ApiResponse } from './request.ts';
export {
  ADMIN_USER,
  type ApiServerOptions,
  HOST,
  type RealApiServer,
  SYSTEM_NAMESPACES,
  startApiServer,
} from './server.ts';
