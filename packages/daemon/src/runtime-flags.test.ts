import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DAEMON_V8_FLAGS, flagsToApply, v8FlagName } from './runtime-flags.ts';

describe('v8FlagName', () => {
  it.each([
    ['--no-opt', 'opt'],
    ['--opt', 'opt'],
    ['--no_opt', 'opt'],
    ['--max_semi_space_size=1', 'max-semi-space-size'],
    ['--semi-space-growth-factor=4', 'semi-space-growth-factor'],
    ['--stack-size=984=x', 'stack-size'],
  ])('%s is %s', (arg, name) => {
    expect(v8FlagName(arg)).toBe(name);
  });

  it.each(['main.js', '-e', '--', '', '---'])('%j names no flag', (arg) => {
    expect(v8FlagName(arg) ?? '').toMatch(/^-?$/);
  });
});

describe('flagsToApply', () => {
  it('applies every flag when the operator set none of them', () => {
    expect(
      flagsToApply(DAEMON_V8_FLAGS, ['--cpu-prof', '--max-old-space-size=300'], '--trace-warnings'),
    ).toEqual(DAEMON_V8_FLAGS);
  });

  it("leaves a flag named on node's command line or in NODE_OPTIONS to the operator, in either spelling", () => {
    const applied = flagsToApply(
      DAEMON_V8_FLAGS,
      ['--opt', '--no_sparkplug'],
      '  --semi_space_growth_factor=2  ',
    );
    expect(applied).not.toContain('--no-opt');
    expect(applied).not.toContain('--no-sparkplug');
    expect(applied).not.toContain('--semi-space-growth-factor=1');
    expect(applied).toEqual(['--no-maglev', '--optimize-for-size']);
  });

  it('ignores arguments that are not flags (the script, its own arguments)', () => {
    expect(flagsToApply(['--no-opt'], ['main.js', 'opt', '-opt'], undefined)).toEqual(['--no-opt']);
  });
});

// The flags are set at run time, after V8 started: this checks that V8 honours them then, in a fresh node.
describe('applyDaemonV8Flags in a node process', () => {
  const MODULE = pathToFileURL(fileURLToPath(new URL('./runtime-flags.ts', import.meta.url))).href;
  // %GetOptimizationStatus bit 4: the function runs optimised code (V8's OptimizationStatus::kOptimized).
  const OPTIMIZED = 1 << 4;

  function probe(apply: boolean, nodeArgs: string[] = []) {
    const script = `
      import v8 from 'node:v8';
      const { applyDaemonV8Flags } = await import(${JSON.stringify(MODULE)});
      const applied = ${apply} ? applyDaemonV8Flags() : [];
      // Young-generation churn with a little survival, as request handling makes.
      const keep = [];
      for (let i = 0; i < 400000; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 2000) keep.shift(); }
      function hot(n) { let s = 0; for (let i = 0; i < n; i++) s += i % 7; return s; }
      for (let i = 0; i < 20000; i++) hot(200);
      const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
      console.log(JSON.stringify({ applied, youngBytes: young.space_size, status: %GetOptimizationStatus(hot) }));
    `;
    const r = spawnSync(
      process.execPath,
      ['--allow-natives-syntax', ...nodeArgs, '--input-type=module', '-e', script],
      {
        encoding: 'utf8',
        timeout: 15_000,
      },
    );
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { applied: string[]; youngBytes: number; status: number };
  }

  it('keeps the young generation at 2 MiB and the code in the interpreter', () => {
    const control = probe(false);
    const ours = probe(true);
    // Without the flags the same work grows the young generation and optimises the hot function.
    expect(control.youngBytes).toBeGreaterThan(2 * 1024 * 1024);
    expect(control.status & OPTIMIZED).toBe(OPTIMIZED);
    expect(ours.applied).toEqual(DAEMON_V8_FLAGS);
    expect(ours.youngBytes).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(ours.status & OPTIMIZED).toBe(0);
  });

  it("an operator's --opt wins over the daemon's --no-opt", () => {
    const r = probe(true, ['--opt', '--maglev']);
    expect(r.applied).not.toContain('--no-opt');
    expect(r.status & OPTIMIZED).toBe(OPTIMIZED);
  });
});
