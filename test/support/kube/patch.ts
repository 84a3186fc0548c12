// The three patch formats kube-apiserver applies: JSON merge patch (RFC 7386), strategic merge patch (the
// Kubernetes dialect: object lists merged by key, `$patch`, `$retainKeys`, `$deleteFromPrimitiveList`), and
// JSON patch (RFC 6902, with the quirks of the json-patch v4 library kube-apiserver 1.20 uses: `replace` of a
// missing object member adds it, a missing `value` is null). Inputs are already-parsed JSON; failures throw
// PatchError, which the handler maps to the server's status codes (1.20: a JSON patch that does not apply is
// a bare 422, a strategic merge patch it cannot make sense of a 500 with the Go error text).
import { canonicalJson, isObject } from './types.ts';

export class PatchError extends Error {
  /** `malformed` = the patch document itself is bad; `apply` = it does not apply to this object. */
  readonly kind: 'malformed' | 'apply';
  constructor(kind: 'malformed' | 'apply', message: string) {
    super(message);
    this.name = 'PatchError';
    this.kind = kind;
  }
}

/** Go's %v of a decoded JSON value (fmt on map[string]interface{}): what strategic-merge errors print. */
export function goValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (isObject(v)) {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${goValue(v[k])}`).join(' ')}]`;
  }
  if (v === null || v === undefined) return '<nil>';
  return String(v);
}

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Lists of scalars that strategic merge patch unions instead of replacing. */
const PRIMITIVE_MERGE_LISTS = new Set(['metadata.finalizers']);

const DIRECTIVE = /^\$(setElementOrder|deleteFromPrimitiveList)\/(.+)$/;

export function strategicMergePatch(
  target: unknown,
  patch: unknown,
  mergeKeys: Record<string, string>,
): unknown {
  return smp(target, patch, '', mergeKeys);
}

function smp(target: unknown, patch: unknown, path: string, keys: Record<string, string>): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const directive = patch.$patch;
  if (directive === 'replace') {
    const { $patch: _, ...rest } = patch;
    return structuredClone(rest);
  }
  if (directive !== undefined && directive !== 'merge') {
    throw new PatchError('malformed', `unknown patch type: ${String(directive)} in map: ${goValue(patch)}`);
  }
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys') continue;
    const here = path ? `${path}.${k}` : k;
    const dm = DIRECTIVE.exec(k);
    if (dm) {
      if (dm[1] === 'deleteFromPrimitiveList') {
        const field = dm[2] as string;
        if (!Array.isArray(v)) throw new PatchError('malformed', `${k} must be a list`);
        const cur = out[field];
        if (Array.isArray(cur))
          out[field] = cur.filter((x) => !v.some((d) => canonicalJson(d) === canonicalJson(x)));
      }
      continue; // $setElementOrder only orders; order is not significant here
    }
    if (v === null) delete out[k];
    else if (Array.isArray(v)) out[k] = mergeList(out[k], v, here, keys);
    else if (isObject(v) && v.$patch === 'delete') delete out[k];
    else if (isObject(v)) out[k] = smp(out[k], v, here, keys);
    else out[k] = v;
  }
  if (patch.$retainKeys !== undefined) {
    if (!Array.isArray(patch.$retainKeys)) throw new PatchError('malformed', '$retainKeys must be a list');
    for (const k of Object.keys(out)) if (!patch.$retainKeys.includes(k)) delete out[k];
  }
  return out;
}

function mergeList(target: unknown, patch: unknown[], path: string, keys: Record<string, string>): unknown[] {
  const current = Array.isArray(target) ? [...target] : [];
  if (PRIMITIVE_MERGE_LISTS.has(path)) {
    for (const v of patch) if (!current.some((x) => canonicalJson(x) === canonicalJson(v))) current.push(v);
    return current;
  }
  const key = keys[path];
  const replaceAll = patch.some((p) => isObject(p) && p.$patch === 'replace');
  if (!key || replaceAll)
    return patch.filter((p) => !(isObject(p) && '$patch' in p)).map((p) => structuredClone(p));
  for (const item of patch) {
    if (!isObject(item))
      throw new PatchError('malformed', `list ${path} is merged by key ${key}: items must be maps`);
    if (!(key in item))
      throw new PatchError('malformed', `map: ${goValue(item)} does not contain declared merge key: ${key}`);
    const at = current.findIndex((x) => isObject(x) && canonicalJson(x[key]) === canonicalJson(item[key]));
    if (item.$patch === 'delete') {
      if (at >= 0) current.splice(at, 1);
    } else if (at >= 0) current[at] = smp(current[at], item, `${path}[]`, keys);
    else current.push(smp({}, item, `${path}[]`, keys));
  }
  return current;
}

interface Op {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

function pointer(p: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/'))
    throw new PatchError('apply', `JSON pointer must start with "/": ${JSON.stringify(p)}`);
  return p
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The container one step above the pointer's target, and the last token. */
function parent(doc: unknown, tokens: string[], op: string, raw: string): [unknown, string] {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined || cur === null)
      throw new PatchError('apply', `${op} operation does not apply: doc is missing path: "${raw}"`);
  }
  return [cur, tokens[tokens.length - 1] as string];
}

function arrayIndex(arr: unknown[], t: string, forAdd: boolean, op: string, raw: string): number {
  if (forAdd && t === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(t))
    throw new PatchError('apply', `${op} operation does not apply: invalid index "${raw}"`);
  const i = Number(t);
  if (i > arr.length || (!forAdd && i === arr.length)) {
    throw new PatchError('apply', `${op} operation does not apply: index out of range: "${raw}"`);
  }
  return i;
}

function getAt(doc: unknown, raw: string, op: string): unknown {
  const tokens = pointer(raw);
  if (tokens.length === 0) return doc;
  const [c, t] = parent(doc, tokens, op, raw);
  const v = Array.isArray(c) ? c[arrayIndex(c, t, false, op, raw)] : isObject(c) ? c[t] : undefined;
  if (v === undefined)
    throw new PatchError('apply', `${op} operation does not apply: doc is missing path: "${raw}"`);
  return v;
}

function removeAt(doc: unknown, raw: string, op: string): unknown {
  const tokens = pointer(raw);
  if (tokens.length === 0)
    throw new PatchError('apply', `${op} operation does not apply: cannot remove the root`);
  const [c, t] = parent(doc, tokens, op, raw);
  if (Array.isArray(c)) return c.splice(arrayIndex(c, t, false, op, raw), 1)[0];
  if (!isObject(c) || !(t in c))
    throw new PatchError('apply', `${op} operation does not apply: doc is missing path: "${raw}"`);
  const v = c[t];
  delete c[t];
  return v;
}

function addAt(doc: unknown, raw: string, value: unknown, op: string, mustExist: boolean): unknown {
  const tokens = pointer(raw);
  if (tokens.length === 0) return value;
  const [c, t] = parent(doc, tokens, op, raw);
  if (Array.isArray(c)) {
    const i = arrayIndex(c, t, !mustExist, op, raw);
    if (mustExist) c[i] = value;
    else c.splice(i, 0, value);
  } else if (isObject(c)) {
    // json-patch v4 (1.20) never checks that a replaced member exists: replace of a missing key adds it.
    c[t] = value;
  } else throw new PatchError('apply', `${op} operation does not apply: doc is missing path: "${raw}"`);
  return doc;
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) {
    const type =
      ops === null ? 'null' : typeof ops === 'boolean' ? 'bool' : isObject(ops) ? 'object' : typeof ops;
    throw new PatchError('malformed', `json: cannot unmarshal ${type} into Go value of type jsonpatch.Patch`);
  }
  let doc = structuredClone(target);
  for (const raw of ops) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw new PatchError('apply', `invalid operation ${canonicalJson(raw)}`);
    }
    // A missing value is JSON null to json-patch v4.
    const o = { value: null, ...(raw as unknown as Op) };
    const needsFrom = o.op === 'move' || o.op === 'copy';
    if (needsFrom && typeof o.from !== 'string')
      throw new PatchError('apply', `${o.op} operation has no from: ${o.path}`);
    switch (o.op) {
      case 'add':
        doc = addAt(doc, o.path, structuredClone(o.value), 'add', false);
        break;
      case 'replace':
        doc = addAt(doc, o.path, structuredClone(o.value), 'replace', true);
        break;
      case 'remove':
        removeAt(doc, o.path, 'remove');
        break;
      case 'move': {
        const v = removeAt(doc, o.from as string, 'move');
        doc = addAt(doc, o.path, v, 'move', false);
        break;
      }
      case 'copy':
        doc = addAt(doc, o.path, structuredClone(getAt(doc, o.from as string, 'copy')), 'copy', false);
        break;
      case 'test':
        if (canonicalJson(getAt(doc, o.path, 'test')) !== canonicalJson(o.value)) {
          throw new PatchError('apply', `testing value ${o.path} failed: test failed`);
        }
        break;
      default:
        throw new PatchError('apply', `Unexpected kind: ${o.op}`);
    }
  }
  return doc;
}
