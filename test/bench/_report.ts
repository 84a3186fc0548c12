// The headline table of `make bench`: one row per figure that has a target or that a reader looks for first,
// taken from each benchmark's JSON (a `headline` array, or, for the benchmarks that predate it, the fields named
// below), rendered as Markdown and written between markers in README.md's "Performance" section.
import type { Headline } from './_lib.ts';

export const README_START = '<!-- bench:start -->';
export const README_END = '<!-- bench:end -->';

export interface BenchOutcomeLike {
  script: string;
  ok: boolean;
  result?: unknown;
  error?: string;
}

export interface HeadlineRow extends Headline {
  bench: string;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null ? (v as Json) : {});
const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);

/** cni-overhead.ts: {p50, ratio, target, direct: {p50}}. */
function cniOverhead(r: Json): Headline[] {
  const ratio = num(r['ratio']);
  const target = num(r['target']);
  return [
    {
      name: 'CNI library overhead, loopback ADD vs plugin by hand (p50 ratio)',
      value: ratio,
      unit: 'x',
      target: `<= ${target}`,
      met: ratio <= target,
    },
  ];
}

/** shim-cost.ts: {binary: {sizeBytes, budgetBytes}, shim: {meanWallMs, maxRssKiB}, ratioNodeToShim, targets}. */
function shimCost(r: Json): Headline[] {
  const shim = obj(r['shim']);
  const bin = obj(r['binary']);
  const targets = obj(r['targets']);
  const ratio = obj(r['ratioNodeToShim']);
  const wall = num(shim['meanWallMs']);
  const rss = num(shim['maxRssKiB']);
  const size = num(bin['sizeBytes']);
  return [
    {
      name: 'shim call wall time (mean, fake daemon)',
      value: wall,
      unit: 'ms',
      target: `<= ${num(targets['meanWallMs'])} ms`,
      met: wall <= num(targets['meanWallMs']),
    },
    {
      name: 'shim max RSS per call',
      value: rss,
      unit: 'KiB',
      target: `<= ${num(targets['maxRssKiB'])} KiB`,
      met: rss <= num(targets['maxRssKiB']),
    },
    {
      name: 'shim binary size',
      value: size,
      unit: 'bytes',
      target: `<= ${num(targets['sizeBytes'])} bytes`,
      met: size <= num(targets['sizeBytes']),
    },
    {
      name: '`node` doing the same call, vs the shim (wall / RSS)',
      value: `${ratio['wall']}x / ${ratio['maxRss']}x`,
      unit: '',
    },
  ];
}

const LEGACY: Record<string, (r: Json) => Headline[]> = {
  'cni-overhead.ts': cniOverhead,
  'shim-cost.ts': shimCost,
};

/** The headline rows of every outcome; a failed benchmark gets one FAILED row so it cannot go unnoticed. */
export function headlineRows(outcomes: readonly BenchOutcomeLike[]): HeadlineRow[] {
  const rows: HeadlineRow[] = [];
  for (const o of outcomes) {
    const bench = o.script.replace(/\.ts$/, '');
    if (!o.ok) {
      rows.push({ bench, name: 'FAILED', value: o.error ?? 'failed', unit: '', met: false });
      continue;
    }
    const r = obj(o.result);
    const own = Array.isArray(r['headline']) ? (r['headline'] as Headline[]) : undefined;
    const list = own ?? LEGACY[o.script]?.(r) ?? [];
    for (const h of list) rows.push({ bench, ...h });
  }
  return rows;
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A Markdown table: benchmark, figure, value, target, met. */
export function renderTable(rows: readonly HeadlineRow[]): string {
  const lines = ['| Benchmark | Figure | Value | Target | Met |', '| --- | --- | --- | --- | --- |'];
  for (const r of rows) {
    const value = r.unit === '' || r.unit === 'x' ? `${r.value}${r.unit}` : `${r.value} ${r.unit}`;
    const met = r.met === undefined ? '' : r.met ? 'yes' : '**no**';
    lines.push(`| ${cell(r.bench)} | ${cell(r.name)} | ${cell(value)} | ${cell(r.target ?? '')} | ${met} |`);
  }
  return lines.join('\n');
}

/**
 * Puts `block` between the bench markers of `readme`. A README without the markers gets a "Performance"
 * section with them at its end; a README with only one marker, or with them out of order, is an error (the
 * text between them would be lost).
 */
export function replaceBenchBlock(readme: string, block: string): string {
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  const body = `${README_START}\n${block.trim()}\n${README_END}`;
  if (start < 0 && end < 0) {
    const sep = readme.endsWith('\n') ? '\n' : '\n\n';
    return `${readme}${sep}## Performance\n\n${body}\n`;
  }
  if (start < 0 || end < 0 || end < start)
    throw new Error(`README.md: the markers ${README_START} and ${README_END} must both be there, in order`);
  return `${readme.slice(0, start)}${body}${readme.slice(end + README_END.length)}`;
}
