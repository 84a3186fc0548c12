// Summarises a V8 CPU profile (`node --cpu-prof`) into the functions with the most self time, mapped back through
// the daemon bundle's source map to the file they came from, and the same time grouped by area (our packages,
// each npm package, Node's internals, GC), so the next optimisation knows where to aim.
import { readdirSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  function: string;
  location: string;
  area: string;
  selfMs: number;
  /** Share of the busy (non-idle) time. */
  selfPct: number;
}

export interface ProfileSummary {
  file: string;
  durationMs: number;
  busyMs: number;
  idleMs: number;
  samples: number;
  top: HotFunction[];
  byArea: { area: string; selfMs: number; selfPct: number }[];
}

/**
 * Shortens an absolute source path: `.../node_modules/.pnpm/x@1/node_modules/x/lib/a.js` -> `x/lib/a.js`,
 * `/repo/packages/cni/src/a.ts` -> `packages/cni/src/a.ts`.
 */
export function shortSource(source: string): string {
  const nm = source.lastIndexOf('node_modules/');
  if (nm >= 0) return source.slice(nm + 'node_modules/'.length);
  const pkg = source.lastIndexOf('/packages/');
  if (pkg >= 0) return source.slice(pkg + 1);
  return source;
}

/** The area a source belongs to: `@multus-ts/<pkg>`, an npm package name, `node:internal`, or a V8 pseudo-frame. */
export function areaOf(source: string, functionName: string): string {
  if (source === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (source.startsWith('node:')) return 'node:internal';
  const nm = source.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = source.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? source);
  }
  const pkg = /(?:^|\/)packages\/([^/]+)\//.exec(source);
  if (pkg) return `@multus-ts/${pkg[1]}`;
  return source;
}

function loadSourceMap(url: string, cache: Map<string, SourceMap | null>): SourceMap | null {
  if (!url.startsWith('file://')) return null;
  let map = cache.get(url);
  if (map === undefined) {
    try {
      map = new SourceMap(JSON.parse(readFileSync(`${fileURLToPath(url)}.map`, 'utf8')));
    } catch {
      map = null;
    }
    cache.set(url, map);
  }
  return map;
}

/** The current time on the clock V8 stamps profiles with (CLOCK_MONOTONIC, microseconds). */
export function profileClockUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * Reads one .cpuprofile and returns its top `topN` functions by self time. With `window` (from
 * profileClockUs() readings in the profiling process's clock), only samples taken inside it count, so start-up
 * and shutdown stay out of a burst's profile.
 */
export function summariseCpuProfile(
  file: string,
  topN = 15,
  window?: { fromUs: number; toUs: number },
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  let counted = 0;
  for (const [i, id] of profile.samples.entries()) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (window && (at < window.fromUs || at > window.toUs)) continue;
    counted++;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  const maps = new Map<string, SourceMap | null>();
  const byFunction = new Map<string, { fn: string; location: string; area: string; us: number }>();
  let idleUs = 0;
  let totalUs = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    totalUs += us;
    if (us === 0) continue;
    const cf = node.callFrame;
    if (cf.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    // node:internal frames keep their URL; bundle frames become absolute paths of the original sources.
    let source = cf.url.startsWith('file://') ? fileURLToPath(cf.url) : cf.url;
    let line = cf.lineNumber;
    let name = cf.functionName;
    const map = loadSourceMap(cf.url, maps);
    if (map && cf.lineNumber >= 0) {
      const entry = map.findEntry(cf.lineNumber, cf.columnNumber) as {
        originalSource?: string;
        originalLine?: number;
        name?: string;
      };
      if (entry.originalSource) {
        const orig = entry.originalSource.startsWith('file://')
          ? fileURLToPath(entry.originalSource)
          : entry.originalSource;
        source = isAbsolute(orig) ? orig : resolve(dirname(fileURLToPath(cf.url)), orig);
        line = entry.originalLine ?? line;
        if (name === '' && entry.name) name = entry.name;
      }
    }
    const short = shortSource(source);
    const location = short === '' ? '' : `${short}:${line + 1}`;
    const fn = name === '' ? '(anonymous)' : name;
    const key = `${fn} ${location}`;
    const agg = byFunction.get(key) ?? { fn, location, area: areaOf(source, fn), us: 0 };
    agg.us += us;
    byFunction.set(key, agg);
  }
  const busyUs = totalUs - idleUs;
  const pct = (us: number) => Number(((100 * us) / Math.max(1, busyUs)).toFixed(1));
  const ms = (us: number) => Number((us / 1000).toFixed(1));
  const areas = new Map<string, number>();
  for (const f of byFunction.values()) areas.set(f.area, (areas.get(f.area) ?? 0) + f.us);
  return {
    file,
    durationMs: ms(window ? window.toUs - window.fromUs : profile.endTime - profile.startTime),
    busyMs: ms(busyUs),
    idleMs: ms(idleUs),
    samples: counted,
    top: [...byFunction.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((f) => ({
        function: f.fn,
        location: f.location,
        area: f.area,
        selfMs: ms(f.us),
        selfPct: pct(f.us),
      })),
    byArea: [...areas]
      .sort(([, a], [, b]) => b - a)
      .map(([area, us]) => ({ area, selfMs: ms(us), selfPct: pct(us) })),
  };
}

/** The single .cpuprofile a `--cpu-prof-dir` holds after one process exited. */
export function onlyProfileIn(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length !== 1) throw new Error(`expected one .cpuprofile in ${dir}, found ${files.length}`);
  return join(dir, files[0]!);
}
