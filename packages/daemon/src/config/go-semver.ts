// The strict semantic-version parser upstream uses for the 00-multus.conf version check (blang/semver `Make`):
// "X.Y.Z" with optional "-prerelease" and "+build", no leading zeros. Its error texts reach operators inside
// "failed to load the primary CNI configuration ... with error '<text>'", so they keep blang's wording.

export interface SemVer {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Pre-release identifiers; numeric ones as numbers. */
  readonly pre: readonly (string | number)[];
}

const DIGITS = /^\d*$/;
const ALNUM = /^[0-9A-Za-z-]*$/;

function numberPart(part: string, label: 'Major' | 'Minor' | 'Patch'): number {
  if (!DIGITS.test(part)) {
    throw new Error(`Invalid character(s) found in ${label.toLowerCase()} number ${JSON.stringify(part)}`);
  }
  if (part.length > 1 && part[0] === '0') {
    throw new Error(`${label} number must not contain leading zeroes ${JSON.stringify(part)}`);
  }
  const n = Number(part);
  if (part === '' || !Number.isSafeInteger(n)) {
    throw new Error(`strconv.ParseUint: parsing ${JSON.stringify(part)}: invalid syntax`);
  }
  return n;
}

/** Parses like blang/semver `Make`; throws an Error with blang's message on malformed input. */
export function parseSemVer(s: string): SemVer {
  if (s === '') throw new Error('Version string empty');
  const first = s.indexOf('.');
  const second = first < 0 ? -1 : s.indexOf('.', first + 1);
  if (second < 0) throw new Error('No Major.Minor.Patch elements found');
  const major = numberPart(s.slice(0, first), 'Major');
  const minor = numberPart(s.slice(first + 1, second), 'Minor');
  let rest = s.slice(second + 1);
  let build: string[] = [];
  let pre: string[] = [];
  const plus = rest.indexOf('+');
  if (plus >= 0) {
    build = rest.slice(plus + 1).split('.');
    rest = rest.slice(0, plus);
  }
  const dash = rest.indexOf('-');
  if (dash >= 0) {
    pre = rest.slice(dash + 1).split('.');
    rest = rest.slice(0, dash);
  }
  const patch = numberPart(rest, 'Patch');
  const preParsed = pre.map((p): string | number => {
    if (p === '') throw new Error('Prerelease is empty');
    if (DIGITS.test(p)) {
      if (p.length > 1 && p[0] === '0') {
        throw new Error(`Numeric PreRelease version must not contain leading zeroes ${JSON.stringify(p)}`);
      }
      return Number(p);
    }
    if (!ALNUM.test(p)) throw new Error(`Invalid character(s) found in prerelease ${JSON.stringify(p)}`);
    return p;
  });
  for (const b of build) {
    if (b === '') throw new Error('Build meta data is empty');
    if (!ALNUM.test(b)) throw new Error(`Invalid character(s) found in build meta data ${JSON.stringify(b)}`);
  }
  return { major, minor, patch, pre: preParsed };
}

function comparePre(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.sign(a - b);
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Semantic-version precedence (build metadata ignored): -1, 0 or 1. */
export function compareSemVer(a: SemVer, b: SemVer): number {
  const core = Math.sign(a.major - b.major) || Math.sign(a.minor - b.minor) || Math.sign(a.patch - b.patch);
  if (core !== 0) return core;
  if (a.pre.length === 0 || b.pre.length === 0)
    return a.pre.length === b.pre.length ? 0 : a.pre.length ? -1 : 1;
  for (let i = 0; i < Math.min(a.pre.length, b.pre.length); i++) {
    const c = comparePre(a.pre[i] as string | number, b.pre[i] as string | number);
    if (c !== 0) return c;
  }
  return Math.sign(a.pre.length - b.pre.length);
}
