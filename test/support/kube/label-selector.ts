// Label selectors parsed the way k8s.io/apimachinery/pkg/labels does it in 1.20: a lexer (identifiers and the
// symbols `= == != ! ( ) , < >`, keywords `in`/`notin`) and a recursive-descent parser whose error texts clients
// see in 400s. Keys are qualified names, values label values, both validated with the server's messages.
import { errors } from './status.ts';

export interface LabelRequirement {
  key: string;
  op: 'in' | 'notin' | 'exists' | '!exists' | 'gt' | 'lt';
  values: string[];
}

type Tok = 'eos' | 'ident' | 'in' | 'notin' | '(' | ')' | ',' | '!' | '=' | '==' | '!=' | '>' | '<';

const SYMBOLS = new Set(['=', '!', '(', ')', ',', '>', '<']);
const SYMBOL_TOKENS = new Set(['(', ')', ',', '!', '=', '==', '!=', '>', '<']);
const WHITESPACE = new Set([' ', '\t', '\r', '\n']);

function lex(input: string): Array<{ tok: Tok; lit: string }> {
  const out: Array<{ tok: Tok; lit: string }> = [];
  let i = 0;
  for (;;) {
    while (i < input.length && WHITESPACE.has(input[i] as string)) i++;
    if (i >= input.length) {
      out.push({ tok: 'eos', lit: '' });
      return out;
    }
    if (SYMBOLS.has(input[i] as string)) {
      // The longest run of symbol characters that is still a token.
      let buf = '';
      let last = '';
      while (i < input.length && SYMBOLS.has(input[i] as string)) {
        buf += input[i];
        // Every single symbol is a token, so `last` is set from the first character on.
        if (SYMBOL_TOKENS.has(buf)) last = buf;
        else break;
        i++;
      }
      out.push({ tok: last as Tok, lit: last });
      continue;
    }
    let word = '';
    while (i < input.length && !WHITESPACE.has(input[i] as string) && !SYMBOLS.has(input[i] as string)) {
      word += input[i];
      i++;
    }
    out.push({ tok: word === 'in' || word === 'notin' ? word : 'ident', lit: word });
  }
}

const NAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const NAME_RE = new RegExp(`^${NAME_FMT}$`);
const VALUE_FMT = `(${NAME_FMT})?`;
const VALUE_RE = new RegExp(`^${VALUE_FMT}$`);
const SUBDOMAIN_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*';
const SUBDOMAIN_RE = new RegExp(`^${SUBDOMAIN_FMT}$`);

/** validation.RegexError: the message, examples joined the way Go joins them (with its double spaces). */
function regexError(msg: string, fmt: string, ...examples: string[]): string {
  const eg = examples.map((e) => `'${e}', `).join(' or ');
  return `${msg} (e.g. ${eg}regex used for validation is '${fmt}')`;
}

const QNAME_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

function qualifiedNameErrors(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  if (parts.length > 2) {
    return [
      `a qualified name ${regexError(QNAME_MSG, NAME_FMT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  const name = parts.at(-1) as string;
  if (parts.length === 2) {
    const prefix = parts[0] as string;
    if (prefix === '') errs.push('prefix part must be non-empty');
    else {
      if (prefix.length > 253) errs.push('prefix part must be no more than 253 characters');
      if (!SUBDOMAIN_RE.test(prefix)) {
        const msg =
          "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
        errs.push(`prefix part ${regexError(msg, SUBDOMAIN_FMT, 'example.com')}`);
      }
    }
  }
  if (name === '') errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push('name part must be no more than 63 characters');
  if (!NAME_RE.test(name))
    errs.push(`name part ${regexError(QNAME_MSG, NAME_FMT, 'MyName', 'my.name', '123-abc')}`);
  return errs;
}

function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push('must be no more than 63 characters');
  if (!VALUE_RE.test(value)) {
    const msg =
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
    errs.push(regexError(msg, VALUE_FMT, 'MyValue', 'my_value', '12345'));
  }
  return errs;
}

class ParseError extends Error {}

/** Go's %q for the ASCII strings selectors hold. */
const q = (s: string) => JSON.stringify(s);

function requirement(key: string, op: LabelRequirement['op'], values: string[]): LabelRequirement {
  const keyErrs = qualifiedNameErrors(key);
  if (keyErrs.length > 0) throw new ParseError(`invalid label key ${q(key)}: ${keyErrs.join('; ')}`);
  if ((op === 'in' || op === 'notin') && values.length === 0)
    throw new ParseError("for 'in', 'notin' operators, values set can't be empty");
  if ((op === 'gt' || op === 'lt') && (values.length !== 1 || !/^[-+]?\d+$/.test(values[0] as string)))
    throw new ParseError("for 'Gt', 'Lt' operators, the value must be an integer");
  for (const v of values) {
    const errs = labelValueErrors(v);
    if (errs.length > 0)
      throw new ParseError(`invalid label value: ${q(v)}: at key: ${q(key)}: ${errs.join('; ')}`);
  }
  return { key, op, values: [...new Set(values)].sort() };
}

class Parser {
  readonly #items: Array<{ tok: Tok; lit: string }>;
  #pos = 0;
  constructor(input: string) {
    this.#items = lex(input);
  }
  /** In value position `in` and `notin` are plain identifiers. */
  peek(values = true): { tok: Tok; lit: string } {
    const it = this.#items[Math.min(this.#pos, this.#items.length - 1)] as { tok: Tok; lit: string };
    return values && (it.tok === 'in' || it.tok === 'notin') ? { tok: 'ident', lit: it.lit } : it;
  }
  next(values = true): { tok: Tok; lit: string } {
    const it = this.peek(values);
    if (this.#pos < this.#items.length - 1) this.#pos++;
    return it;
  }

  parse(): LabelRequirement[] {
    const out: LabelRequirement[] = [];
    for (;;) {
      const { tok, lit } = this.peek();
      if (tok === 'eos') return out;
      if (tok !== 'ident' && tok !== '!')
        throw errors.badRequest(`found '${lit}', expected: !, identifier, or 'end of string'`);
      try {
        out.push(this.requirement());
      } catch (err) {
        if (err instanceof ParseError) throw errors.badRequest(`unable to parse requirement: ${err.message}`);
        throw err;
      }
      const sep = this.next();
      if (sep.tok === 'eos') return out;
      if (sep.tok !== ',') throw errors.badRequest(`found '${sep.lit}', expected: ',' or 'end of string'`);
      const after = this.peek();
      if (after.tok !== 'ident' && after.tok !== '!')
        throw errors.badRequest(`found '${after.lit}', expected: identifier after ','`);
    }
  }

  requirement(): LabelRequirement {
    let t = this.next();
    let negated = false;
    if (t.tok === '!') {
      negated = true;
      t = this.next();
    }
    if (t.tok !== 'ident') throw new ParseError(`found '${t.lit}', expected: identifier`);
    const key = t.lit;
    if (qualifiedNameErrors(key).length > 0) return requirement(key, 'exists', []); // throws the key's error
    const la = this.peek().tok;
    if (negated || la === 'eos' || la === ',') return requirement(key, negated ? '!exists' : 'exists', []);
    const op = this.next(false);
    switch (op.tok) {
      case 'in':
      case 'notin':
        return requirement(key, op.tok, this.valueSet());
      case '=':
      case '==':
        return requirement(key, 'in', [this.exactValue()]);
      case '!=':
        return requirement(key, 'notin', [this.exactValue()]);
      case '>':
        return requirement(key, 'gt', [this.exactValue()]);
      case '<':
        return requirement(key, 'lt', [this.exactValue()]);
      default:
        throw new ParseError(`found '${op.lit}', expected: '=', '!=', '==', 'in', notin'`);
    }
  }

  exactValue(): string {
    const la = this.peek();
    if (la.tok === 'eos' || la.tok === ',') return '';
    const t = this.next();
    if (t.tok === 'ident') return t.lit;
    throw new ParseError(`found '${t.lit}', expected: identifier`);
  }

  valueSet(): string[] {
    const open = this.next();
    if (open.tok !== '(') throw new ParseError(`found '${open.lit}' expected: '('`);
    const la = this.peek();
    if (la.tok === ')') {
      this.next();
      return [''];
    }
    if (la.tok !== 'ident' && la.tok !== ',')
      throw new ParseError(`found '${la.lit}', expected: ',', ')' or identifier`);
    const values = this.identifiers();
    const close = this.next();
    if (close.tok !== ')') throw new ParseError(`found '${la.lit}', expected: ')'`);
    return values;
  }

  identifiers(): string[] {
    const s = new Set<string>();
    for (;;) {
      const t = this.next();
      if (t.tok === 'ident') {
        s.add(t.lit);
        const la = this.peek();
        if (la.tok === ',') continue;
        if (la.tok === ')') return [...s];
        throw new ParseError(`found '${la.lit}', expected: ',' or ')'`);
      }
      if (t.tok === ',') {
        if (s.size === 0) s.add('');
        const la = this.peek();
        if (la.tok === ')') {
          s.add('');
          return [...s];
        }
        if (la.tok === ',') {
          this.next();
          s.add('');
        }
        continue;
      }
      throw new ParseError(`found '${t.lit}', expected: ',', or identifier`);
    }
  }
}

export function parseLabelSelector(selector: string): LabelRequirement[] {
  return new Parser(selector).parse();
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
      case 'lt': {
        if (!has || !/^[-+]?\d+$/.test(v)) return false;
        const diff = Number(v) - Number(r.values[0]);
        return r.op === 'gt' ? diff > 0 : diff < 0;
      }
    }
    return false;
  });
}
