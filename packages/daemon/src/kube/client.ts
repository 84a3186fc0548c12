// Kubernetes credentials and the API client: in-cluster by default (the service-account token file is re-read as
// it rotates), a kubeconfig file when one is configured or KUBECONFIG is set.
import { inClusterTarget, type KubeTarget, kubeconfigTarget } from './config.ts';
import { KubeApiError, KubeClient } from './http.ts';

export interface KubeClientOptions {
  /** Path from daemon-config's `kubeconfig` key; wins over KUBECONFIG. */
  kubeconfig?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

export async function loadKubeConfig(opts: KubeClientOptions = {}): Promise<KubeTarget> {
  const env = opts.env ?? process.env;
  const file = opts.kubeconfig || env['KUBECONFIG'];
  return file ? kubeconfigTarget(file) : inClusterTarget(env);
}

export interface KubeApis {
  client: KubeClient;
}

export function makeApis(target: KubeTarget): KubeApis {
  return { client: new KubeClient(target) };
}

/** HTTP status of an API error (undefined for transport errors). */
export function apiStatus(err: unknown): number | undefined {
  return err instanceof KubeApiError ? err.code : undefined;
}

/** A path segment from untrusted input (names are validated upstream, but never splice raw text into a URL). */
export function seg(s: string): string {
  return encodeURIComponent(s);
}
