// Kubernetes credentials: in-cluster by default (the service-account token file is re-read by the client as it
// rotates), a kubeconfig file when one is configured or KUBECONFIG is set.
import * as k8s from '@kubernetes/client-node';

export interface KubeClientOptions {
  /** Path from daemon-config's `kubeconfig` key; wins over KUBECONFIG. */
  kubeconfig?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

export function loadKubeConfig(opts: KubeClientOptions = {}): k8s.KubeConfig {
  const env = opts.env ?? process.env;
  const kc = new k8s.KubeConfig();
  const file = opts.kubeconfig || env['KUBECONFIG'];
  if (file) {
    kc.loadFromFile(file);
  } else {
    if (!env['KUBERNETES_SERVICE_HOST'] || !env['KUBERNETES_SERVICE_PORT']) {
      throw new Error(
        'no Kubernetes credentials: not in a cluster (KUBERNETES_SERVICE_HOST/PORT unset) and no kubeconfig given',
      );
    }
    kc.loadFromCluster();
  }
  return kc;
}

export interface KubeApis {
  config: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  custom: k8s.CustomObjectsApi;
  watch: k8s.Watch;
}

export function makeApis(config: k8s.KubeConfig): KubeApis {
  return {
    config,
    core: config.makeApiClient(k8s.CoreV1Api),
    custom: config.makeApiClient(k8s.CustomObjectsApi),
    watch: new k8s.Watch(config),
  };
}

/** HTTP status of an error thrown by the generated API clients (undefined for transport errors). */
export function apiStatus(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e?.code === 'number') return e.code;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return undefined;
}
