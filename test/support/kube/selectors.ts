// Field and label selectors with the server's grammar (k8s.io/apimachinery fields and labels packages).
// A field the resource does not index is a 400, as on the real server, because a client that selects on it
// would otherwise silently get everything.
import { errors } from './status.ts';
import type { KubeObject } from './types.ts';

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export type FieldGetters = Record<string, (o: KubeObject) => string>;

/** Splits on `sep` where it is not escaped with a backslash. */
function splitUnescaped(s: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] as string;
    if (ch === '\\' && i + 1 < s.length) {
      cur += ch + s[i + 1];
      i++;
    } else if (ch === sep) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

function unescapeValue(v: string, whole: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const ch = v[i] as string;
    if (ch !== '\\') {
      if (ch === '=' || ch === ',')
        throw errors.badRequest(`invalid field selector: '${whole}': unescaped ${ch}`);
      out += ch;
      continue;
    }
    const next = v[i + 1];
    if (next !== '\\' && next !== ',' && next !== '=') {
      throw errors.badRequest(`invalid field selector: '${whole}': invalid escape sequence`);
    }
    out += next;
    i++;
  }
  return out;
}

export function parseFieldSelector(selector: string): FieldRequirement[] {
  const s = selector.trim();
  if (s === '') return [];
  return splitUnescaped(s, ',').map((part) => {
    for (const [token, op] of [
      ['!=', '!='],
      ['==', '='],
      ['=', '='],
    ] as const) {
      const at = part.indexOf(token);
      if (at > 0) {
        return {
          field: part.slice(0, at).trim(),
          op,
          value: unescapeValue(part.slice(at + token.length), s),
        };
      }
    }
    throw errors.badRequest(`invalid selector: '${s}'; can't understand '${part}'`);
  });
}

/** Throws the server's 400 for a field the resource cannot select on. */
export function checkFieldSelector(reqs: FieldRequirement[], getters: FieldGetters): void {
  for (const r of reqs) {
    if (!(r.field in getters)) throw errors.badRequest(`field label not supported: ${r.field}`);
  }
}

export function matchFields(reqs: FieldRequirement[], obj: KubeObject, getters: FieldGetters): boolean {
  return reqs.every((r) => {
    const got = getters[r.field]?.(obj) ?? '';
    return r.op === '=' ? got === r.value : got !== r.value;
  });
}

export interface LabelRequirement {
  key: string;
  op: 'in' | 'notin' | 'exists' | '!exists' | 'gt' | 'lt';
  values: string[];
}

/** Splits on commas outside parentheses. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

const KEY = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function parseTerm(term: string): LabelRequirement {
  const t = term.trim();
  const bad = (why: string) => errors.badRequest(`unable to parse requirement: ${why}`);
  const key = (k: string) => {
    if (!KEY.test(k) || k.length > 316) throw bad(`invalid label key "${k}"`);
    return k;
  };
  const value = (v: string) => {
    if (!VALUE.test(v) || v.length > 63) throw bad(`invalid label value: "${v}"`);
    return v;
  };
  let m = /^!\s*(\S+)$/.exec(t);
  if (m) return { key: key(m[1] as string), op: '!exists', values: [] };
  m = /^(\S+?)\s+(in|notin)\s*\(([^()]*)\)$/.exec(t);
  if (m) {
    const values = (m[3] as string).split(',').map((v) => value(v.trim()));
    return { key: key(m[1] as string), op: m[2] as 'in' | 'notin', values };
  }
  m = /^([^=!<>\s]+)\s*(==|=|!=|<|>)\s*(\S*)$/.exec(t);
  if (m) {
    const op = m[2] as string;
    const v = m[3] as string;
    if (op === '<' || op === '>') {
      if (!/^-?\d+$/.test(v)) throw bad(`for 'Gt', 'Lt' operators, the value must be an integer`);
      return { key: key(m[1] as string), op: op === '>' ? 'gt' : 'lt', values: [v] };
    }
    return { key: key(m[1] as string), op: op === '!=' ? 'notin' : 'in', values: [value(v)] };
  }
  if (/^\S+$/.test(t)) return { key: key(t), op: 'exists', values: [] };
  throw bad(`found '${t}', expected: identifier`);
}

export function parseLabelSelector(selector: string): LabelRequirement[] {
  const s = selector.trim();
  if (s === '') return [];
  return splitTerms(s).map(parseTerm);
}

export function matchLabels(reqs: LabelRequirement[], labels: Record<string, string> | undefined): boolean {
  const set = labels ?? {};
  return reqs.every((r) => {
    const has = Object.hasOwn(set, r.key);
    const v = set[r.key] ?? '';
    switch (r.op) {
      case 'in':
        return has && r.values.includes(v);
      case 'notin':
        return !has || !r.values.includes(v);
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case 'gt':
        return has && /^-?\d+$/.test(v) && Number(v) > Number(r.values[0]);
      case 'lt':
        return has && /^-?\d+$/.test(v) && Number(v) < Number(r.values[0]);
    }
    return false;
  });
}
