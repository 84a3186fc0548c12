// The pure parts of the benchmark tooling: summary statistics, headline rows, the Markdown table, the README
// marker update and the CPU-profile summary. No timing is asserted here; only how figures are turned into text.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { summarize } from './_lib.ts';
import { areaOf, shortSource, summariseCpuProfile } from './_profile.ts';
import { headlineRows, README_END, README_START, renderTable, replaceBenchBlock } from './_report.ts';

describe('summarize', () => {
  it('takes the upper median, min and max', () => {
    expect(summarize([5, 1, 3, 2])).toEqual({ n: 4, p50: 3, min: 1, max: 5 });
    expect(summarize([2.00049])).toEqual({ n: 1, p50: 2, min: 2, max: 2 });
  });
  it('gives NaN for no samples rather than inventing a figure', () => {
    const s = summarize([]);
    expect(s.n).toBe(0);
    expect(Number.isNaN(s.p50)).toBe(true);
  });
});

describe('headlineRows', () => {
  it('uses a benchmark`s own headline array', () => {
    const rows = headlineRows([
      {
        script: 'daemon-add.ts',
        ok: true,
        result: { headline: [{ name: 'x', value: 4, unit: 'ms', target: '<= 3 ms', met: false }] },
      },
    ]);
    expect(rows).toEqual([
      { bench: 'daemon-add', name: 'x', value: 4, unit: 'ms', target: '<= 3 ms', met: false },
    ]);
  });
  it('reads cni-overhead and shim-cost from their own fields', () => {
    const rows = headlineRows([
      { script: 'cni-overhead.ts', ok: true, result: { p50: 3, ratio: 1.3, target: 1.2 } },
      {
        script: 'shim-cost.ts',
        ok: true,
        result: {
          binary: { sizeBytes: 50_000 },
          shim: { meanWallMs: 1.5, maxRssKiB: 900 },
          ratioNodeToShim: { wall: 20, maxRss: 40 },
          targets: { meanWallMs: 2, maxRssKiB: 2048, sizeBytes: 102_400 },
        },
      },
    ]);
    expect(rows[0]).toMatchObject({ bench: 'cni-overhead', value: 1.3, met: false });
    expect(rows.slice(1, 4).map((r) => r.met)).toEqual([true, true, true]);
    expect(rows[4]).toMatchObject({ value: '20x / 40x' });
  });
  it('turns a failed benchmark into a FAILED row that is not met', () => {
    expect(headlineRows([{ script: 'daemon-burst.ts', ok: false, error: 'exit 1' }])).toEqual([
      { bench: 'daemon-burst', name: 'FAILED', value: 'exit 1', unit: '', met: false },
    ]);
  });
  it('gives no rows for an unknown benchmark without a headline', () => {
    expect(headlineRows([{ script: 'other.ts', ok: true, result: { n: 1 } }])).toEqual([]);
  });
});

describe('renderTable', () => {
  it('renders value with unit, target and met, and escapes pipes', () => {
    const table = renderTable([
      { bench: 'b', name: 'a | b', value: 1.5, unit: 'ms', target: '<= 3 ms', met: true },
      { bench: 'b', name: 'ratio', value: 2, unit: 'x', target: '<= 1.2', met: false },
      { bench: 'b', name: 'info', value: 'n/a', unit: '' },
    ]);
    const lines = table.split('\n');
    expect(lines[0]).toBe('| Benchmark | Figure | Value | Target | Met |');
    expect(lines[2]).toBe('| b | a \\| b | 1.5 ms | <= 3 ms | yes |');
    expect(lines[3]).toBe('| b | ratio | 2x | <= 1.2 | **no** |');
    expect(lines[4]).toBe('| b | info | n/a |  |  |');
  });
});

describe('replaceBenchBlock', () => {
  it('replaces only what is between the markers', () => {
    const readme = `# T\n\n## Performance\n\n${README_START}\nold\n${README_END}\n\nafter\n`;
    const out = replaceBenchBlock(readme, 'new table\n');
    expect(out).toBe(`# T\n\n## Performance\n\n${README_START}\nnew table\n${README_END}\n\nafter\n`);
    expect(replaceBenchBlock(out, 'new table')).toBe(out);
  });
  it('appends a Performance section when the markers are missing', () => {
    expect(replaceBenchBlock('# T\n', 'x')).toBe(
      `# T\n\n## Performance\n\n${README_START}\nx\n${README_END}\n`,
    );
  });
  it('refuses a README with one marker or with them out of order', () => {
    expect(() => replaceBenchBlock(`a ${README_START} b`, 'x')).toThrow(/must both be there/);
    expect(() => replaceBenchBlock(`${README_END} ${README_START}`, 'x')).toThrow(/in order/);
  });
});

describe('CPU profile summary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'multus-ts-bench-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names areas and shortens paths', () => {
    expect(areaOf('/r/node_modules/.pnpm/zod@4/node_modules/zod/v4/core/a.js', 'f')).toBe('zod');
    expect(areaOf('/r/node_modules/.pnpm/x/node_modules/@kubernetes/client-node/dist/a.js', 'f')).toBe(
      '@kubernetes/client-node',
    );
    expect(areaOf('/repo/packages/cni/src/exec.ts', 'f')).toBe('@multus-ts/cni');
    expect(areaOf('node:internal/child_process', 'spawn')).toBe('node:internal');
    expect(areaOf('', '(garbage collector)')).toBe('(garbage collector)');
    expect(areaOf('', 'close')).toBe('(native)');
    expect(shortSource('/r/node_modules/.pnpm/undici@8/node_modules/undici/lib/a.js')).toBe(
      'undici/lib/a.js',
    );
    expect(shortSource('/work/main/packages/daemon/src/engine/add.ts')).toBe(
      'packages/daemon/src/engine/add.ts',
    );
  });

  it('sums self time per function, leaves idle out of the busy share, and honours a time window', () => {
    const frame = (functionName: string, url = '') => ({
      functionName,
      url,
      lineNumber: -1,
      columnNumber: -1,
    });
    const file = join(dir, 'p.cpuprofile');
    writeFileSync(
      file,
      JSON.stringify({
        nodes: [
          { id: 1, callFrame: frame('(root)') },
          { id: 2, callFrame: frame('(idle)') },
          { id: 3, callFrame: frame('spawn', 'node:internal/child_process') },
          { id: 4, callFrame: frame('(garbage collector)') },
        ],
        startTime: 1_000,
        endTime: 9_000,
        // sample times: 2000 (spawn), 3000 (spawn), 4000 (idle), 6000 (gc), 9000 (spawn)
        samples: [3, 3, 2, 4, 3],
        timeDeltas: [1_000, 1_000, 1_000, 2_000, 3_000],
      }),
    );
    const all = summariseCpuProfile(file, 2);
    expect(all.busyMs).toBe(7);
    expect(all.idleMs).toBe(1);
    expect(all.top).toEqual([
      {
        function: 'spawn',
        location: 'node:internal/child_process:0',
        area: 'node:internal',
        selfMs: 5,
        selfPct: 71.4,
      },
      {
        function: '(garbage collector)',
        location: '',
        area: '(garbage collector)',
        selfMs: 2,
        selfPct: 28.6,
      },
    ]);
    const windowed = summariseCpuProfile(file, 5, { fromUs: 2_500, toUs: 6_500 });
    expect(windowed.samples).toBe(3);
    expect(windowed.busyMs).toBe(3);
    expect(windowed.durationMs).toBe(4);
  });

  it('fails loudly on a file that is not a profile', () => {
    const file = join(dir, 'bad.cpuprofile');
    writeFileSync(file, '{"nodes": 1');
    expect(() => summariseCpuProfile(file)).toThrow(SyntaxError);
  });
});
