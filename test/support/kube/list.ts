// LIST with the server's resourceVersion semantics and paging. resourceVersion unset = most recent;
// "0" = any (served from the cache: `limit` is ignored); N without limit = not older than N; N with limit (or
// resourceVersionMatch=Exact) = exactly N, which needs history and is 410 once it is gone. A continue token pins
// the first page's resourceVersion, so later pages see the same snapshot.
import { parseIntParam } from './http-io.ts';
import { apiVersionOf, type ResourceDef } from './resources.ts';
import {
  checkFieldSelector,
  type FieldRequirement,
  type LabelRequirement,
  matchFields,
  matchLabels,
  parseFieldSelector,
  parseLabelSelector,
} from './selectors.ts';
import { errors } from './status.ts';
import type { Store } from './store.ts';
import type { KubeObject } from './types.ts';

const EXPIRED_LIST = 'The resourceVersion for the provided list is too old.';
const EXPIRED_CONTINUE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list ' +
  'without the continue parameter, or use the continue token in this response to retrieve the remainder of the ' +
  'results. Continuing with the provided token results in an inconsistent list - objects that were created, ' +
  'modified, or deleted between the time the first chunk was returned and now may show up in the list.';

export interface Selection {
  fields: FieldRequirement[];
  labels: LabelRequirement[];
}

export function parseSelection(def: ResourceDef, q: URLSearchParams): Selection {
  const fields = parseFieldSelector(q.get('fieldSelector') ?? '');
  checkFieldSelector(fields, def.fields);
  return { fields, labels: parseLabelSelector(q.get('labelSelector') ?? '') };
}

/** A resourceVersion query value as a number; 400 for anything that is not one. */
export function parseRV(v: string): number {
  if (!/^\d+$/.test(v)) {
    throw errors.badRequest(
      `resourceVersion: Invalid value: ${JSON.stringify(v)}: strconv.ParseUint: parsing ${JSON.stringify(v)}: invalid syntax`,
    );
  }
  return Number(v);
}

interface ContinueToken {
  v: string;
  rv: number;
  start: string;
}

function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url');
}

function decodeContinue(token: string): ContinueToken {
  const bad = (why: string) => errors.badRequest(`invalid continue token: ${why}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw bad('continue key is not valid: illegal base64 data or JSON');
  }
  const t = parsed as Partial<ContinueToken>;
  if (t?.v !== 'meta.k8s.io/v1')
    throw bad('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  if (typeof t.rv !== 'number' || t.rv <= 0)
    throw bad('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  if (typeof t.start !== 'string' || t.start === '' || t.start.startsWith('/') || t.start.includes('..')) {
    throw bad('continue key is not valid: continue key is not valid');
  }
  return t as ContinueToken;
}

export function matchesSelection(def: ResourceDef, sel: Selection, storageShape: KubeObject): boolean {
  return (
    matchFields(sel.fields, storageShape, def.fields) && matchLabels(sel.labels, storageShape.metadata.labels)
  );
}

/** How long the watch cache waits for a future resourceVersion to arrive before it answers 504 (1.20: 3 s). */
export const FUTURE_RV_WAIT_MS = 3000;

/**
 * A not-older-than LIST of a resourceVersion the store has not reached is served by the watch cache, which waits
 * up to FUTURE_RV_WAIT_MS for it; resolves once it is there or the wait is over (listObjects then answers).
 */
export async function waitForListResourceVersion(store: Store, q: URLSearchParams): Promise<void> {
  const rvParam = q.get('resourceVersion') ?? '';
  if (!/^\d+$/.test(rvParam) || rvParam === '0' || q.get('continue')) return;
  const exact =
    q.get('resourceVersionMatch') === 'Exact' ||
    (!q.get('resourceVersionMatch') && Number(q.get('limit') ?? 0) > 0);
  const rv = Number(rvParam);
  const deadline = Date.now() + FUTURE_RV_WAIT_MS;
  while (!exact && rv > store.resourceVersion && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 25));
}

/** Runs a LIST; returns the list object to answer with. */
export function listObjects(store: Store, def: ResourceDef, namespace: string, q: URLSearchParams) {
  const sel = parseSelection(def, q);
  const rvParam = q.get('resourceVersion') ?? '';
  const match = q.get('resourceVersionMatch') ?? '';
  const cont = q.get('continue') ?? '';
  let limit = parseIntParam('limit', q.get('limit')) ?? 0;
  if (limit < 0) limit = 0;
  if (match && rvParam === '')
    throw errors.badRequest(
      'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
    );
  if (match && match !== 'Exact' && match !== 'NotOlderThan') {
    throw errors.badRequest(
      `resourceVersionMatch: Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`,
    );
  }
  if (match === 'Exact' && rvParam === '0')
    throw errors.badRequest(
      'resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
    );
  if (cont && rvParam !== '')
    throw errors.badRequest('specifying resource version is not allowed when using continue');

  let atRV: number | undefined;
  let start = '';
  const prefix = def.namespaced && namespace ? `${namespace}/` : '';
  if (cont) {
    const token = decodeContinue(cont);
    if (token.rv < store.floorOf(def.storage)) throw errors.expired(EXPIRED_CONTINUE);
    atRV = token.rv;
    start = prefix + token.start;
  } else if (rvParam !== '' && rvParam !== '0') {
    const rv = parseRV(rvParam);
    const exact = match === 'Exact' || (match === '' && limit > 0);
    // An exact read goes to etcd, which refuses a future revision; the watch cache times out on one.
    if (rv > store.resourceVersion)
      throw exact ? errors.futureRevision() : errors.tooLargeResourceVersion(rvParam, store.resourceVersion);
    if (exact) {
      if (rv < store.floorOf(def.storage)) throw errors.expired(EXPIRED_LIST);
      atRV = rv;
    }
  }
  if (rvParam === '0' && !cont) limit = 0; // served from the watch cache, which does not page

  const { entries, rv } = store.list(def, namespace, atRV);
  const listRV = rvParam === '0' ? store.lastRVOf(def.storage) : rv;
  const picked: Array<{ key: string; object: KubeObject }> = [];
  let remaining = 0;
  for (const e of entries) {
    if (start && e.key < start) continue;
    // Selectors are evaluated on the storage shape, where the field getters look.
    const storageShape = def.toStorage ? def.toStorage(structuredClone(e.object)) : e.object;
    if (!matchesSelection(def, sel, storageShape)) continue;
    if (limit > 0 && picked.length === limit) remaining++;
    else picked.push(e);
  }
  // A custom resource's list is unstructured: its metadata always has `continue`, "" on the last page.
  const metadata: Record<string, unknown> = def.builtin ? {} : { continue: '' };
  metadata.resourceVersion = String(listRV);
  const last = picked.at(-1);
  if (remaining > 0 && last) {
    metadata.continue = encodeContinue(rv, `${last.key.slice(prefix.length)}\u0000`);
    // The server only knows the remaining count when nothing is filtered.
    if (sel.fields.length === 0 && sel.labels.length === 0) metadata.remainingItemCount = remaining;
  }
  const out = picked.map(({ object }) => {
    if (!def.builtin) return object;
    const { kind: _kind, apiVersion: _av, ...bare } = object;
    return bare;
  });
  return { kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata, items: out };
}
