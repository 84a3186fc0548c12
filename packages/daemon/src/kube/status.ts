// Writes the network-status annotation with a single JSON merge patch on the pods/status subresource (the
// subresource upstream updates, so the RBAC stays `pods/status`), never a read-modify-write.
import { apiStatus, type KubeApis, seg } from './client.ts';

export const NETWORK_STATUS_ANNOTATION = 'k8s.v1.cni.cncf.io/network-status';

export type PatchOutcome = { ok: true } | { ok: false; status: number | undefined; reason: string };

export async function patchNetworkStatus(
  apis: KubeApis,
  namespace: string,
  name: string,
  value: string,
  onApiRequest?: (verb: string, resource: string, code: number | 'error') => void,
): Promise<PatchOutcome> {
  const body = { metadata: { annotations: { [NETWORK_STATUS_ANNOTATION]: value } } };
  try {
    await apis.client.request('PATCH', `/api/v1/namespaces/${seg(namespace)}/pods/${seg(name)}/status`, {
      body,
      contentType: 'application/merge-patch+json',
    });
    onApiRequest?.('patch', 'pods/status', 200);
    return { ok: true };
  } catch (err) {
    const status = apiStatus(err);
    onApiRequest?.('patch', 'pods/status', status ?? 'error');
    return { ok: false, status, reason: err instanceof Error ? err.message : String(err) };
  }
}
