// Byte-exact Go `encoding/json` string output, for 00-multus.conf: Go escapes <, > and & (HTML safety), U+2028 and
// U+2029, uses \b \f \n \r \t short forms, lower-case \u00xx for other control bytes, and writes invalid UTF-16
// (lone surrogates, which JSON.parse can produce from "\ud800") as U+FFFD, as Go does for invalid UTF-8.
// Also Go's `%v` rendering of decoded JSON, which appears inside one upstream error text.

const SHORT: Readonly<Record<number, string>> = {
  8: '\\b',
  9: '\\t',
  10: '\\n',
  12: '\\f',
  13: '\\r',
  34: '\\"',
  92: '\\\\',
};

function hex4(c: number): string {
  return `\\u${c.toString(16).padStart(4, '0')}`;
}

/** A JSON string literal exactly as Go's json.Marshal writes it. */
export function goJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const short = SHORT[c];
    if (short !== undefined) out += short;
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029)
      out += hex4(c);
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += s[i] + (s[i + 1] as string);
        i++;
      } else out += '\ufffd';
    } else if (c >= 0xdc00 && c <= 0xdfff) out += '\ufffd';
    else out += s[i];
  }
  return `${out}"`;
}

/** Byte-wise (UTF-8) string order, as Go's sort.Strings and map-key marshalling use. */
export function compareGoStrings(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Go's %v of a float64: strconv 'g' with the shortest digits, switching to %e below 1e-4 and from 1e6 on. */
function goFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const [mant, expStr] = n.toExponential().split('e') as [string, string];
  const exp = Number(expStr);
  if (exp < -4 || exp >= 6) return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(n);
}

/** Go's fmt `%v` of a value decoded into interface{} (maps print sorted as map[k:v ...]). */
export function goFormatValue(v: unknown, depth = 0): string {
  if (depth > 32) return '...';
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return goFloat(v);
  if (Array.isArray(v)) return `[${v.map((x) => goFormatValue(x, depth + 1)).join(' ')}]`;
  if (typeof v === 'object') {
    const keys = Object.keys(v).sort(compareGoStrings);
    const rec = v as Record<string, unknown>;
    return `map[${keys.map((k) => `${k}:${goFormatValue(rec[k], depth + 1)}`).join(' ')}]`;
  }
  return String(v);
}
