// `make bench`: runs every benchmark in test/bench (each a script that prints one JSON document on stdout),
// writes them together to bench/results/<date>.json and prints a Markdown summary.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

const benchDir = import.meta.dirname;
const only = process.argv.slice(2);
const scripts = readdirSync(benchDir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.test.ts') && !f.startsWith('_'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

interface BenchOutcome {
  script: string;
  ok: boolean;
  seconds: number;
  result?: unknown;
  error?: string;
}

const outcomes: BenchOutcome[] = [];
for (const script of scripts) {
  const started = process.hrtime.bigint();
  process.stderr.write(`bench: ${script} ...\n`);
  const run = spawnSync(process.execPath, [join(benchDir, script)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 5 * 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.status !== 0) {
    outcomes.push({ script, ok: false, seconds, error: `exit ${run.status ?? run.signal}` });
    continue;
  }
  try {
    outcomes.push({ script, ok: true, seconds, result: JSON.parse(run.stdout) });
  } catch (err) {
    outcomes.push({ script, ok: false, seconds, error: `stdout is not JSON: ${(err as Error).message}` });
  }
}

const date = new Date().toISOString();
const machine = {
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
};
const outDir = join(benchDir, '..', '..', 'bench', 'results');
mkdirSync(outDir, { recursive: true });
const outFile = join(outDir, `${date.slice(0, 10)}.json`);
writeFileSync(outFile, `${JSON.stringify({ date, machine, benchmarks: outcomes }, null, 2)}\n`);

const lines = [
  `# multus-ts benchmarks, ${date} (${machine.cpus} × ${machine.cpuModel}, Node ${machine.node})`,
  '',
];
for (const o of outcomes) {
  lines.push(`## ${o.script} (${o.seconds.toFixed(1)} s)`, '');
  lines.push(
    o.ok ? ['```json', JSON.stringify(o.result, null, 2), '```'].join('\n') : `FAILED: ${o.error}`,
    '',
  );
}
lines.push(`JSON: ${outFile}`);
console.log(lines.join('\n'));
process.exit(outcomes.every((o) => o.ok) ? 0 : 1);
