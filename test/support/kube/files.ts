// Files that point a client at the emulator: a kubeconfig, or the in-cluster layout (token, ca.crt, namespace
// under <prefix>/var/run/secrets/kubernetes.io/serviceaccount plus KUBERNETES_SERVICE_HOST/PORT), and seed
// files (YAML or JSON, one or many documents, or a v1 List).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isObject, type KubeObject } from './types.ts';

export interface KubeconfigOptions {
  /** PEM of the CA to trust (TLS mode); the file embeds it as certificate-authority-data. */
  caPem?: string;
  /** File name inside `dir`. Default `kubeconfig`. */
  fileName?: string;
  namespace?: string;
}

/** Writes a kubeconfig for `url` with a bearer token; returns its path. */
export async function writeKubeconfig(dir: string, url: string, token: string, opts: KubeconfigOptions = {}) {
  const cluster: Record<string, unknown> = { server: url };
  if (opts.caPem) cluster['certificate-authority-data'] = Buffer.from(opts.caPem).toString('base64');
  // @kubernetes/client-node 2.x refuses an http:// server unless this is set (client-go ignores it for http).
  if (url.startsWith('http:')) cluster['insecure-skip-tls-verify'] = true;
  const context: Record<string, unknown> = { cluster: 'emulator', user: 'emulator' };
  if (opts.namespace) context.namespace = opts.namespace;
  // JSON is valid YAML, and every kubeconfig loader (client-go, client-node) reads it.
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'emulator', cluster }],
    users: [{ name: 'emulator', user: { token } }],
    contexts: [{ name: 'emulator', context }],
    'current-context': 'emulator',
    preferences: {},
  };
  const path = join(dir, opts.fileName ?? 'kubeconfig');
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return path;
}

export const SERVICEACCOUNT_DIR = 'var/run/secrets/kubernetes.io/serviceaccount';

export interface InClusterFiles {
  /** Pass to KubeConfig.loadFromCluster(pathPrefix). */
  pathPrefix: string;
  tokenFile: string;
  caFile: string;
  namespaceFile: string;
  env: { KUBERNETES_SERVICE_HOST: string; KUBERNETES_SERVICE_PORT: string };
}

/**
 * Lays out what a pod's service account mount holds, under `dir`. Needs an https emulator: in-cluster clients
 * always verify the server against ca.crt.
 */
export async function writeInClusterFiles(
  dir: string,
  emu: { url: string; token: string; caPem?: string },
  namespace = 'kube-system',
): Promise<InClusterFiles> {
  if (!emu.caPem || !emu.url.startsWith('https:')) {
    throw new Error(
      'writeInClusterFiles needs an emulator started with { tls: true } (in-cluster config is https only)',
    );
  }
  const sa = join(dir, SERVICEACCOUNT_DIR);
  await mkdir(sa, { recursive: true });
  const files = {
    tokenFile: join(sa, 'token'),
    caFile: join(sa, 'ca.crt'),
    namespaceFile: join(sa, 'namespace'),
  };
  await writeFile(files.tokenFile, emu.token, { mode: 0o600 });
  await writeFile(files.caFile, emu.caPem);
  await writeFile(files.namespaceFile, namespace);
  const u = new URL(emu.url);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    pathPrefix: dir.replace(/\/+$/, ''),
    ...files,
    env: { KUBERNETES_SERVICE_HOST: host, KUBERNETES_SERVICE_PORT: u.port },
  };
}

/** Objects from a YAML/JSON file: multi-document YAML, a JSON array, or a `kind: List`. */
export async function loadSeedFile(path: string): Promise<KubeObject[]> {
  const text = await readFile(path, 'utf8');
  let docs: unknown[];
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    const v: unknown = JSON.parse(text);
    docs = Array.isArray(v) ? v : [v];
  } else {
    const { loadAllYaml } = await import('@kubernetes/client-node');
    docs = loadAllYaml(text);
  }
  const out: KubeObject[] = [];
  for (const d of docs) {
    if (d === null || d === undefined) continue;
    if (!isObject(d) || typeof d.kind !== 'string')
      throw new Error(`${path}: every document must be a Kubernetes object with a kind`);
    if (d.kind === 'List' || d.kind.endsWith('List')) {
      const items = Array.isArray(d.items) ? d.items : [];
      const itemKind = d.kind === 'List' ? undefined : d.kind.slice(0, -'List'.length);
      for (const i of items) {
        if (!isObject(i)) continue;
        out.push({ ...(itemKind ? { kind: itemKind, apiVersion: d.apiVersion } : {}), ...i } as KubeObject);
      }
    } else out.push(d as unknown as KubeObject);
  }
  for (const o of out) o.metadata ??= {};
  return out;
}
