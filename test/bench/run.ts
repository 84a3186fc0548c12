// `make bench`: runs every benchmark in test/bench (each a script that prints one JSON document on stdout),
// writes them together to bench/results/<date>.json and prints a Markdown summary ending with the headline table.
// `--update-readme` also writes that table, with the date and machine, between the bench markers of README.md's
// "Performance" section (only when every benchmark ran: a filtered run never rewrites the table).
// Usage: node test/bench/run.ts [--update-readme] [name-filter ...]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { headlineRows, renderTable, replaceBenchBlock } from './_report.ts';

const benchDir = import.meta.dirname;
const repoRoot = join(benchDir, '..', '..');
const args = process.argv.slice(2);
const updateReadme = args.includes('--update-readme');
const only = args.filter((a) => a !== '--update-readme');
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
  kernel: release(),
};
const outDir = join(repoRoot, 'bench', 'results');
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
const table = renderTable(headlineRows(outcomes));
const totalSeconds = outcomes.reduce((n, o) => n + o.seconds, 0);
lines.push(`## Headline figures (${totalSeconds.toFixed(0)} s in all)`, '', table, '', `JSON: ${outFile}`);
console.log(lines.join('\n'));

if (updateReadme) {
  if (only.length > 0) {
    process.stderr.write('bench: a filtered run does not update README.md\n');
  } else {
    const readmePath = join(repoRoot, 'README.md');
    const block = [
      `Measured ${date.slice(0, 16).replace('T', ' ')} UTC on ${machine.cpus} × ${machine.cpuModel}, ` +
        `${machine.memoryGiB} GiB, Linux ${machine.kernel}, Node ${machine.node} (\`make bench\`, ` +
        `${totalSeconds.toFixed(0)} s; data: \`${relative(repoRoot, outFile)}\`).`,
      '',
      table,
    ].join('\n');
    writeFileSync(readmePath, replaceBenchBlock(readFileSync(readmePath, 'utf8'), block));
    process.stderr.write(`bench: README.md Performance table updated\n`);
  }
}
process.exit(outcomes.every((o) => o.ok) ? 0 : 1);
