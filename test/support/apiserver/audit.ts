// The real API server's audit log (Metadata level, one JSON line per request stage), read back as the requests a
// user made: what tests use to prove that the daemon's service account was never refused and used exactly the
// permissions its ClusterRole grants.
import { readFile } from 'node:fs/promises';

// zod is not a dependency of the test tree (only of the packages): a hand-written check of the fields used.
interface AuditEvent {
  auditID: string;
  verb: string;
  requestURI: string;
  requestReceivedTimestamp?: string;
  user?: { username?: string };
  objectRef?: { resource?: string; subresource?: string; apiGroup?: string; namespace?: string };
  responseStatus?: { code?: number };
  annotations?: Record<string, string>;
}

function isAuditEvent(v: unknown): v is AuditEvent {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return (
    e['kind'] === 'Event' &&
    typeof e['auditID'] === 'string' &&
    typeof e['verb'] === 'string' &&
    typeof e['requestURI'] === 'string'
  );
}

export interface AuditedRequest {
  /** Empty for requests that were not authenticated (401). */
  user: string;
  /** Kubernetes verb: get, list, watch, create, patch, ... */
  verb: string;
  /** Group (empty for core), resource with subresource (`pods/status`); empty for non-resource URLs. */
  group: string;
  resource: string;
  namespace: string;
  uri: string;
  code: number;
  /** `authorization.k8s.io/reason`: e.g. which ClusterRoleBinding allowed it. */
  reason: string;
  /** When the server received it (ms since the epoch; 0 when the log does not say). */
  at: number;
}

/** Every request in the log, once each (a watch's ResponseStarted and ResponseComplete count as one). */
export async function readAudit(file: string): Promise<AuditedRequest[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const byId = new Map<string, AuditedRequest>();
  const lines = text.split('\n');
  // The server may be writing the last line right now: only complete lines count.
  lines.pop();
  for (const line of lines) {
    if (line.trim() === '') continue;
    const e: unknown = JSON.parse(line);
    if (!isAuditEvent(e)) throw new Error(`audit log ${file}: unexpected event: ${line.slice(0, 300)}`);
    const ref = e.objectRef ?? {};
    const record: AuditedRequest = {
      user: e.user?.username ?? '',
      verb: e.verb,
      group: ref.apiGroup ?? '',
      resource: ref.resource ? (ref.subresource ? `${ref.resource}/${ref.subresource}` : ref.resource) : '',
      namespace: ref.namespace ?? '',
      uri: e.requestURI,
      code: e.responseStatus?.code ?? 0,
      reason: e.annotations?.['authorization.k8s.io/reason'] ?? '',
      at: e.requestReceivedTimestamp ? Date.parse(e.requestReceivedTimestamp) : 0,
    };
    // The later stage wins: a watch that ended carries its final code.
    byId.set(e.auditID, record);
  }
  return [...byId.values()];
}
