// Where the API server is and how to authenticate: in-cluster (service-account token, re-read as it rotates, and
// CA) by default, or a kubeconfig file (current context; CA, client certificate, bearer token or token file).
// exec and auth-provider plugins are not supported: the daemon is a node component with a service account or a
// per-node certificate, not a user.
import { readFileSync, statSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { dirname, isAbsolute, join } from 'node:path';

export const SERVICEACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** client-go re-reads a token file once a minute; projected tokens rotate well before they expire. */
const TOKEN_REFRESH_MS = 60_000;

export interface KubeTarget {
  /** Base URL, e.g. https://10.96.0.1:443 */
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecureSkipTlsVerify: boolean;
  /** The bearer token to send now (re-read from its file as it rotates); undefined when none. */
  token: () => string | undefined;
}

function fileToken(path: string): () => string | undefined {
  let cached: string | undefined;
  let readAt = 0;
  let mtime = 0;
  return () => {
    const now = Date.now();
    if (cached === undefined || now - readAt > TOKEN_REFRESH_MS) {
      try {
        const st = statSync(path);
        if (cached === undefined || st.mtimeMs !== mtime) {
          cached = readFileSync(path, 'utf8').trim();
          mtime = st.mtimeMs;
        }
        readAt = now;
      } catch (err) {
        if (cached === undefined) throw err;
      }
    }
    return cached;
  };
}

export function inClusterTarget(env: NodeJS.ProcessEnv, saDir = SERVICEACCOUNT_DIR): KubeTarget {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port) {
    throw new Error(
      'no Kubernetes credentials: not in a cluster (KUBERNETES_SERVICE_HOST/PORT unset) and no kubeconfig given',
    );
  }
  const h = isIPv6(host) ? `[${host}]` : host;
  return {
    server: `https://${h}:${port}`,
    ca: readFileSync(join(saDir, 'ca.crt')),
    insecureSkipTlsVerify: false,
    token: fileToken(join(saDir, 'token')),
  };
}

type Named<T> = { name?: string; cluster?: T; user?: T; context?: T };

function pick<T>(
  list: unknown,
  name: string | undefined,
  what: string,
  key: 'cluster' | 'user' | 'context',
): T {
  const items = (Array.isArray(list) ? list : []) as Named<T>[];
  const found = items.find((i) => i.name === name);
  const value = found?.[key];
  if (!value) throw new Error(`kubeconfig: ${what} "${name ?? ''}" not found`);
  return value;
}

/** Parses kubeconfig text: JSON directly, YAML through the `yaml` package (loaded only when needed). */
async function parseKubeconfigText(text: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    const yaml = await import('yaml');
    return yaml.parse(text) as Record<string, unknown>;
  }
}

export async function kubeconfigTarget(path: string): Promise<KubeTarget> {
  const doc = await parseKubeconfigText(readFileSync(path, 'utf8'));
  const base = dirname(path);
  const rel = (p: string) => (isAbsolute(p) ? p : join(base, p));
  const contextName = doc['current-context'] as string | undefined;
  const ctx = pick<{ cluster?: string; user?: string }>(doc['contexts'], contextName, 'context', 'context');
  const cluster = pick<Record<string, unknown>>(doc['clusters'], ctx.cluster, 'cluster', 'cluster');
  const user = (
    Array.isArray(doc['users']) && ctx.user
      ? pick<Record<string, unknown>>(doc['users'], ctx.user, 'user', 'user')
      : {}
  ) as Record<string, unknown>;
  if (user['exec'] || user['auth-provider']) {
    throw new Error(
      'kubeconfig: exec and auth-provider credentials are not supported; use a token, a token file or a client certificate',
    );
  }
  const data = (k: string, from: Record<string, unknown>) =>
    typeof from[`${k}-data`] === 'string'
      ? Buffer.from(from[`${k}-data`] as string, 'base64')
      : typeof from[k] === 'string'
        ? readFileSync(rel(from[k] as string))
        : undefined;
  const ca = data('certificate-authority', cluster);
  const cert = data('client-certificate', user);
  const key = data('client-key', user);
  const staticToken = typeof user['token'] === 'string' ? (user['token'] as string) : undefined;
  const tokenFile = typeof user['tokenFile'] === 'string' ? rel(user['tokenFile'] as string) : undefined;
  const server = cluster['server'];
  if (typeof server !== 'string' || server === '') throw new Error('kubeconfig: the cluster has no server');
  return {
    server: server.replace(/\/+$/, ''),
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    token: tokenFile ? fileToken(tokenFile) : () => staticToken,
  };
}
