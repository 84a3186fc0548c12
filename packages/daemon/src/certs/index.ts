// Per-node client certificates (daemon-config `perNodeCertificate`): what daemon.ts needs to build its API client
// from a certificate of its own and keep it rotated.
import type { PerNodeCertificate } from '../config/index.ts';
import { type KubeTarget, kubeconfigTarget } from '../kube/config.ts';
import { type CertLog, CertManager } from './manager.ts';

export { multusNodeSubject } from './csr.ts';
export {
  CertManager,
  type CertManagerOptions,
  perNodeTarget,
  ROTATION_WINDOW,
  rotationDeadline,
} from './manager.ts';
export { CERT_FILE_NAME } from './store.ts';

/** Upstream's text when perNodeCertificate is enabled without MULTUS_NODE_NAME. */
export const NODE_NAME_REQUIRED =
  'error getting node name for perNodeCertificate, please check manifest to have MULTUS_NODE_NAME';

export interface PerNodeClientSetup {
  /** Credentials for the daemon's client: the node's certificate on the bootstrap kubeconfig's server and CA. */
  target: KubeTarget;
  /** Call `start(onRotate)` once the client exists; `stop()` at shutdown. */
  manager: CertManager;
}

/** Loads or obtains the node's certificate (waiting up to 2 minutes, as upstream) before any informer starts. */
export async function setUpPerNodeCertificate(
  config: PerNodeCertificate,
  nodeName: string | undefined,
  log: CertLog,
  overrides: { waitTimeoutMs?: number } = {},
): Promise<PerNodeClientSetup> {
  if (!nodeName) throw new Error(NODE_NAME_REQUIRED);
  const manager = new CertManager({
    certDir: config.certDir,
    nodeName,
    certDurationMs: config.certDurationMs,
    bootstrap: () => kubeconfigTarget(config.bootstrapKubeconfig),
    log,
    ...overrides,
  });
  return { target: await manager.init(), manager };
}
