// What a cluster admin does before the daemon runs, on the real API server: create the objects from
// deployments/multus-daemonset-thick.yml (the NAD CRD, the multus ServiceAccount, ClusterRole and
// ClusterRoleBinding, exactly as written there) and hand the daemon a real service-account token for that
// ServiceAccount (TokenRequest, as the kubelet does for a projected token), so every request the daemon makes is
// authorised by the manifest's own RBAC.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import { waitFor } from './process.ts';
import type { ApiResponse } from './request.ts';
import type { RealApiServer } from './server.ts';

export const DEPLOYMENT = resolve(import.meta.dirname, '../../../deployments/multus-daemonset-thick.yml');
export const NAD_CRD = 'network-attachment-definitions.k8s.cni.cncf.io';

export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [key: string]: unknown;
}

/** The collection path of each kind the deployment holds. */
const COLLECTIONS: Record<string, (ns: string) => string> = {
  CustomResourceDefinition: () => '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
  ClusterRole: () => '/apis/rbac.authorization.k8s.io/v1/clusterroles',
  ClusterRoleBinding: () => '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
  ServiceAccount: (ns) => `/api/v1/namespaces/${ns}/serviceaccounts`,
  ConfigMap: (ns) => `/api/v1/namespaces/${ns}/configmaps`,
  DaemonSet: (ns) => `/apis/apps/v1/namespaces/${ns}/daemonsets`,
};

export function loadDeployment(path = DEPLOYMENT): ManifestObject[] {
  return (loadAllYaml(readFileSync(path, 'utf8')) as (ManifestObject | null)[]).filter(
    (o): o is ManifestObject => o !== null && typeof o === 'object' && typeof o.kind === 'string',
  );
}

export function findInDeployment(objects: ManifestObject[], kind: string, name: string): ManifestObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`${DEPLOYMENT}: no ${kind} ${name}`);
  return found;
}

/** POSTs one manifest object (`dryRun: true` = server-side dry run: validated and admitted, not stored). */
export async function createObject(
  server: RealApiServer,
  obj: ManifestObject,
  opts: { dryRun?: boolean } = {},
): Promise<ApiResponse> {
  const collection = COLLECTIONS[obj.kind];
  if (!collection) throw new Error(`bootstrap: no collection path for kind ${obj.kind}`);
  const path = `${collection(obj.metadata.namespace ?? 'default')}${opts.dryRun ? '?dryRun=All' : ''}`;
  return server.request('POST', path, obj);
}

async function createOrFail(server: RealApiServer, obj: ManifestObject): Promise<void> {
  const res = await createObject(server, obj);
  if (res.status !== 201) {
    throw new Error(`bootstrap: creating ${obj.kind} ${obj.metadata.name} got ${res.status}: ${res.text}`);
  }
}

export interface MultusInstall {
  /** The ServiceAccount the DaemonSet runs as. */
  serviceAccount: { namespace: string; name: string; user: string };
  clusterRole: ManifestObject;
}

/** Creates the CRD (and waits until NADs are served) and the daemon's ServiceAccount, ClusterRole and binding. */
export async function installMultus(server: RealApiServer, path = DEPLOYMENT): Promise<MultusInstall> {
  const objects = loadDeployment(path);
  await createOrFail(server, findInDeployment(objects, 'CustomResourceDefinition', NAD_CRD));
  await waitFor(
    `the CRD ${NAD_CRD} Established and its resource served`,
    async () => {
      const crd = await server.request(
        'GET',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${NAD_CRD}`,
      );
      const conditions = (crd.json as { status?: { conditions?: { type: string; status: string }[] } })
        ?.status?.conditions;
      if (!conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return false;
      return (
        (await server.request('GET', '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions')).status ===
        200
      );
    },
    { timeoutMs: 30_000, proc: server.apiserver },
  );
  const sa = objects.find((o) => o.kind === 'ServiceAccount');
  const role = objects.find((o) => o.kind === 'ClusterRole');
  const binding = objects.find((o) => o.kind === 'ClusterRoleBinding');
  if (!sa || !role || !binding)
    throw new Error(`${path}: needs a ServiceAccount, ClusterRole and ClusterRoleBinding`);
  for (const obj of [sa, role, binding]) await createOrFail(server, obj);
  const namespace = sa.metadata.namespace ?? 'default';
  return {
    serviceAccount: {
      namespace,
      name: sa.metadata.name,
      user: `system:serviceaccount:${namespace}:${sa.metadata.name}`,
    },
    clusterRole: role,
  };
}

/** A real token for the ServiceAccount (TokenRequest), valid for `expirationSeconds` (the API's minimum is 600). */
export async function serviceAccountToken(
  server: RealApiServer,
  sa: { namespace: string; name: string },
  expirationSeconds = 3600,
): Promise<string> {
  const res = await server.request(
    'POST',
    `/api/v1/namespaces/${sa.namespace}/serviceaccounts/${sa.name}/token`,
    {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds },
    },
  );
  const token = (res.json as { status?: { token?: string } })?.status?.token;
  if (res.status !== 201 || !token) {
    throw new Error(`bootstrap: TokenRequest for ${sa.namespace}/${sa.name} got ${res.status}: ${res.text}`);
  }
  return token;
}
