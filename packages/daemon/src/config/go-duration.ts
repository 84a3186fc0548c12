// Go's `time.ParseDuration` grammar, because `perNodeCertificate.certDuration` is written in it ("10m", "1h30m",
// "1.5h", "300ms"). Error texts follow Go's so a config that upstream rejects is rejected with the same words.

const UNIT_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  µs: 1e3, // U+00B5 micro sign
  μs: 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** The largest Go `time.Duration` (int64 nanoseconds). */
const MAX_NS = 2 ** 63 - 1;

export class GoDurationError extends Error {
  override readonly name = 'GoDurationError';
}

const quote = (s: string): string => JSON.stringify(s);

/** Parses a Go duration string; returns nanoseconds (a float: exact enough for certificate lifetimes). */
export function parseGoDuration(input: string): number {
  let s = input;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new GoDurationError(`time: invalid duration ${quote(input)}`);
  let total = 0;
  while (s !== '') {
    const num = /^(\d*)(?:\.(\d*))?/.exec(s);
    const whole = num?.[1] ?? '';
    const frac = num?.[2];
    if (whole === '' && (frac === undefined || frac === '')) {
      throw new GoDurationError(`time: invalid duration ${quote(input)}`);
    }
    s = s.slice(num?.[0].length ?? 0);
    const unit = /^[^\d.]+/.exec(s)?.[0] ?? '';
    if (unit === '') throw new GoDurationError(`time: missing unit in duration ${quote(input)}`);
    const scale = UNIT_NS[unit];
    if (scale === undefined) {
      throw new GoDurationError(`time: unknown unit ${quote(unit)} in duration ${quote(input)}`);
    }
    s = s.slice(unit.length);
    total += Number(`${whole || '0'}.${frac ?? '0'}`) * scale;
    if (total > MAX_NS) throw new GoDurationError(`time: invalid duration ${quote(input)}`);
  }
  return negative ? -total : total;
}
