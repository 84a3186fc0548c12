// Lossless edits of JSON text: set one member of an object (top level, or a conflist plugin) by splicing the text,
// so every other byte (key order, number spelling, big integers, unknown keys) stays exactly as the author wrote
// it. Input must already be valid JSON (callers parse it first); the scanner is iterative, so nesting depth
// cannot overflow the stack.

const WS = new Set([' ', '\t', '\n', '\r']);

function skipWs(text: string, i: number): number {
  while (i < text.length && WS.has(text[i]!)) i++;
  return i;
}

/** Index just past the string token starting at `i` (which must be a quote). */
function skipString(text: string, i: number): number {
  i++;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') i += 2;
    else if (c === '"') return i + 1;
    else i++;
  }
  throw new SyntaxError('unterminated string');
}

/** Index just past the JSON value starting at `i`. */
export function skipValue(text: string, i: number): number {
  i = skipWs(text, i);
  const c = text[i];
  if (c === '"') return skipString(text, i);
  if (c !== '{' && c !== '[') {
    while (i < text.length && !WS.has(text[i]!) && text[i] !== ',' && text[i] !== '}' && text[i] !== ']') i++;
    return i;
  }
  let depth = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      i = skipString(text, i);
      continue;
    }
    if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  throw new SyntaxError('unterminated container');
}

export interface MemberSpan {
  key: string;
  valueStart: number;
  valueEnd: number;
}

/** The members of the object whose `{` is at `start`, in text order (duplicates included). */
export function objectMembers(text: string, start: number): MemberSpan[] {
  let i = skipWs(text, start);
  if (text[i] !== '{') throw new SyntaxError('expected an object');
  i = skipWs(text, i + 1);
  const out: MemberSpan[] = [];
  if (text[i] === '}') return out;
  for (;;) {
    const keyEnd = skipString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWs(text, keyEnd);
    if (text[i] !== ':') throw new SyntaxError('expected a colon');
    const valueStart = skipWs(text, i + 1);
    const valueEnd = skipValue(text, valueStart);
    out.push({ key, valueStart, valueEnd });
    i = skipWs(text, valueEnd);
    if (text[i] === ',') {
      i = skipWs(text, i + 1);
      continue;
    }
    if (text[i] === '}') return out;
    throw new SyntaxError('expected a comma or a closing brace');
  }
}

/** Start offsets of the items of the array whose `[` is at `start`. */
export function arrayItems(text: string, start: number): number[] {
  let i = skipWs(text, start);
  if (text[i] !== '[') throw new SyntaxError('expected an array');
  i = skipWs(text, i + 1);
  const out: number[] = [];
  if (text[i] === ']') return out;
  for (;;) {
    out.push(i);
    i = skipWs(text, skipValue(text, i));
    if (text[i] === ',') {
      i = skipWs(text, i + 1);
      continue;
    }
    if (text[i] === ']') return out;
    throw new SyntaxError('expected a comma or a closing bracket');
  }
}

/**
 * Sets `key` to the JSON text `valueJson` in the object at `objectStart`: every existing occurrence of the key is
 * replaced in place (JSON.parse keeps the last; replacing all keeps them consistent), else the member is inserted
 * first. Returns the new text.
 */
export function setMember(text: string, objectStart: number, key: string, valueJson: string): string {
  const members = objectMembers(text, objectStart).filter((m) => m.key === key);
  if (members.length === 0) {
    const brace = skipWs(text, objectStart);
    const empty = text[skipWs(text, brace + 1)] === '}';
    return `${text.slice(0, brace + 1)}${JSON.stringify(key)}:${valueJson}${empty ? '' : ','}${text.slice(brace + 1)}`;
  }
  let out = text;
  for (const m of members.reverse()) out = out.slice(0, m.valueStart) + valueJson + out.slice(m.valueEnd);
  return out;
}

/** The value text of the last occurrence of `key` in the object at `objectStart`, if any. */
export function memberValue(text: string, objectStart: number, key: string): MemberSpan | undefined {
  return objectMembers(text, objectStart)
    .filter((m) => m.key === key)
    .at(-1);
}

/**
 * Applies `edit` to every plugin object of a config: the top-level object of a single-plugin config, each element
 * of `plugins` for a conflist. Plugins are edited from last to first so earlier offsets stay valid.
 */
export function editPlugins(
  text: string,
  edit: (text: string, objectStart: number, index: number) => string,
): string {
  const top = skipWs(text, 0);
  const plugins = memberValue(text, top, 'plugins');
  if (!plugins) return edit(text, top, 0);
  const starts = arrayItems(text, plugins.valueStart);
  let out = text;
  for (let i = starts.length - 1; i >= 0; i--) out = edit(out, starts[i]!, i);
  return out;
}
