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

/** fields.splitTerms: split on commas that are not escaped with a backslash (no trimming). */
function splitTerms(s: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (inSlash) inSlash = false;
    else if (ch === '\\') inSlash = true;
    else if (ch === ',') {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

/** fields.UnescapeValue, with its errors' wording (an unescaped rune is printed as its code point). */
function unescapeValue(v: string): string {
  let out = '';
  let inSlash = false;
  for (const ch of v) {
    if (inSlash) {
      if (ch !== '\\' && ch !== ',' && ch !== '=')
        throw errors.badRequest(`invalid field selector: invalid escape sequence: \\${ch}`);
      out += ch;
      inSlash = false;
    } else if (ch === '\\') inSlash = true;
    else if (ch === ',' || ch === '=')
      throw errors.badRequest(`invalid field selector: unescaped character in value: ${ch.codePointAt(0)}`);
    else out += ch;
  }
  if (inSlash) throw errors.badRequest('invalid field selector: invalid escape sequence: \\');
  return out;
}

/**
 * fields.ParseSelector: terms sorted, empty terms skipped, each split at the first `!=`, `==` or `=` from the
 * left (the field name is not trimmed: " a=b" selects on " a").
 */
export function parseFieldSelector(selector: string): FieldRequirement[] {
  if (selector === '') return [];
  const out: FieldRequirement[] = [];
  for (const part of splitTerms(selector).sort()) {
    if (part === '') continue;
    let split: FieldRequirement | undefined;
    for (let i = 0; i < part.length && !split; i++) {
      for (const [token, op] of [
        ['!=', '!='],
        ['==', '='],
        ['=', '='],
      ] as const) {
        if (part.startsWith(token, i)) {
          split = { field: part.slice(0, i), op, value: part.slice(i + token.length) };
          break;
        }
      }
    }
    if (!split) throw errors.badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    out.push({ ...split, value: unescapeValue(split.value) });
  }
  return out;
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

export { type LabelRequirement, matchLabels, parseLabelSelector } from './label-selector.ts';
