// Go's encoding/json syntax errors, word for word, for request bodies that are not JSON: kube-apiserver puts
// them in its 400s ("invalid character 'x' looking for beginning of object key string"), and tests that send
// hostile bodies compare messages. A small scanner with Go's states; it only has to find the first error.

type Ctx = 'top' | 'object-key' | 'object-value' | 'array';

/** Go's quoteChar: '\'' for a quote, otherwise the character as strconv.Quote writes it, in single quotes. */
function quoteChar(c: string): string {
  if (c === "'") return `'\\''`;
  if (c === '"') return `'"'`;
  const named: Record<string, string> = {
    '\x07': '\\a',
    '\b': '\\b',
    '\f': '\\f',
    '\n': '\\n',
    '\r': '\\r',
    '\t': '\\t',
    '\v': '\\v',
    '\\': '\\\\',
  };
  const code = c.charCodeAt(0);
  const text = named[c] ?? (code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : c);
  return `'${text}'`;
}

class SyntaxErr extends Error {}

const fail = (c: string, where: string) => new SyntaxErr(`invalid character ${quoteChar(c)} ${where}`);
const EOF = 'unexpected end of JSON input';

/** The error Go's json.Unmarshal reports for `text`, or undefined when it is valid JSON. */
export function goJsonSyntaxError(text: string): string | undefined {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i] as string)) i++;
  };
  const eof: () => never = () => {
    throw new SyntaxErr(EOF);
  };
  // At the end of the input Go feeds its scanner one space: a literal, number or escape cut short is an
  // "invalid character ' '", and only what a space cannot finish is "unexpected end of JSON input".
  const at = (k: number): string => text[k] ?? ' ';
  const literal = (word: string) => {
    for (let k = 1; k < word.length; k++) {
      const c = at(i + k);
      if (c !== word[k]) throw fail(c, `in literal ${word} (expecting ${quoteChar(word[k] as string)})`);
    }
    i += word.length;
  };
  const digits = (where: string, atLeastOne: boolean) => {
    const start = i;
    while (i < text.length && /[0-9]/.test(at(i))) i++;
    if (atLeastOne && i === start) throw fail(at(i), where);
  };
  const number = () => {
    if (text[i] === '-') {
      i++;
      if (!/[0-9]/.test(at(i))) throw fail(at(i), 'in numeric literal');
    }
    if (text[i] === '0') i++;
    else digits('in numeric literal', true);
    if (text[i] === '.') {
      i++;
      digits('after decimal point in numeric literal', true);
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      digits('in exponent of numeric literal', true);
    }
  };
  const string = () => {
    i++;
    for (;;) {
      const c = text[i];
      if (c === undefined) eof();
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        const e = at(i + 1);
        if (e === 'u') {
          for (let k = 2; k < 6; k++) {
            const h = at(i + k);
            if (!/[0-9a-fA-F]/.test(h)) throw fail(h, 'in \\u hexadecimal character escape');
          }
          i += 6;
          continue;
        }
        if (!'"\\/bfnrt'.includes(e)) throw fail(e, 'in string escape code');
        i += 2;
        continue;
      }
      if (c.charCodeAt(0) < 0x20) throw fail(c, 'in string literal');
      i++;
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === undefined) eof();
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        const k = text[i];
        if (k === undefined) eof();
        if (k !== '"') throw fail(k, 'looking for beginning of object key string');
        string();
        after('object-key');
        i++;
        value();
        const sep = after('object-value');
        i++;
        if (sep === '}') return;
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        const sep = after('array');
        i++;
        if (sep === ']') return;
      }
    }
    const scalar: Record<string, () => void> = {
      '"': string,
      t: () => literal('true'),
      f: () => literal('false'),
      n: () => literal('null'),
    };
    const scan = c === '-' || /[0-9]/.test(c) ? number : scalar[c];
    if (!scan) throw fail(c, 'looking for beginning of value');
    scan();
  };
  /** The separator expected after a key, a member or an element; throws Go's error for anything else. */
  const after = (ctx: Ctx): string => {
    ws();
    const c = text[i];
    if (c === undefined) eof();
    const ok: Record<Ctx, [string, string]> = {
      top: ['', 'after top-level value'],
      'object-key': [':', 'after object key'],
      'object-value': [',}', 'after object key:value pair'],
      array: [',]', 'after array element'],
    };
    const [allowed, where] = ok[ctx];
    if (!allowed.includes(c as string)) throw fail(c as string, where);
    return c as string;
  };
  try {
    value();
    ws();
    if (i < text.length) throw fail(text[i] as string, 'after top-level value');
    return undefined;
  } catch (err) {
    if (err instanceof SyntaxErr) return err.message;
    throw err;
  }
}

/** What json.Unmarshal into the server's {apiVersion, kind} probe says about `text`, or undefined when it decodes. */
export function goDecodeKindError(text: string): string | undefined {
  const syntax = goJsonSyntaxError(text);
  if (syntax) return syntax;
  const v: unknown = JSON.parse(text);
  if (v === null || (typeof v === 'object' && !Array.isArray(v))) return undefined;
  const type = Array.isArray(v) ? 'array' : typeof v === 'boolean' ? 'bool' : typeof v;
  return `json: cannot unmarshal ${type} into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }`;
}
