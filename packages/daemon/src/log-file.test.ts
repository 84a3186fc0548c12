import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LogFile, type RotationPolicy, rotationPolicy } from './log-file.ts';

const MB = 1024 * 1024;
const DAY = 86_400_000;
let dir: string;
const open: LogFile[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), `mts-logfile-${process.pid}-`));
});
afterEach(async () => {
  vi.restoreAllMocks();
  for (const f of open.splice(0)) await f.close();
  rmSync(dir, { recursive: true, force: true });
});

const policy = (p: Partial<RotationPolicy>): RotationPolicy => ({
  maxBytes: 64 * 1024,
  maxAgeDays: 0,
  maxBackups: 3,
  compress: false,
  ...p,
});
function logFile(
  path: string,
  p: Partial<RotationPolicy>,
  opts: { retryMs?: number; now?: () => number } = {},
) {
  const f = new LogFile(path, policy(p), opts);
  open.push(f);
  return f;
}
const LINE_BYTES = 1024;
const line = (i: number) => {
  const head = JSON.stringify({ i, pad: '' });
  return `${head.slice(0, -2)}${'y'.repeat(LINE_BYTES - head.length - 1)}"}\n`;
};
const linesOf = (text: string) => text.trim().split('\n').filter(Boolean);
const silenceStderr = () => vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
const reports = (spy: ReturnType<typeof silenceStderr>) => spy.mock.calls.map((c) => String(c[0]));

describe('rotationPolicy', () => {
  it("applies upstream's defaults for absent fields", () => {
    expect(rotationPolicy(undefined)).toEqual({
      maxBytes: 100 * MB,
      maxAgeDays: 5,
      maxBackups: 5,
      compress: true,
    });
    expect(rotationPolicy({ maxSize: 3 })).toEqual({
      maxBytes: 3 * MB,
      maxAgeDays: 5,
      maxBackups: 5,
      compress: true,
    });
  });

  it('0 or less means no limit (maxSize falls back to the default)', () => {
    expect(rotationPolicy({ maxSize: 0, maxAge: 0, maxBackups: 0, compress: false })).toEqual({
      maxBytes: 100 * MB,
      maxAgeDays: 0,
      maxBackups: 0,
      compress: false,
    });
    expect(rotationPolicy({ maxSize: -4, maxAge: -1, maxBackups: -7 })).toMatchObject({
      maxBytes: 100 * MB,
      maxAgeDays: 0,
      maxBackups: 0,
    });
  });
});

describe('LogFile rotation (rotating-file-stream)', () => {
  it('writing past maxSize produces rotated files within maxBackups, each whole and about maxSize', async () => {
    const file = join(dir, 'multus.log');
    const lf = logFile(file, { maxBackups: 2 });
    const total = 300; // ~4.7 rotations of 64 KiB: only the newest two backups survive
    for (let i = 0; i < total; i++) lf.write(line(i));
    await lf.idle();
    const backups = await lf.backups();
    expect(backups).toHaveLength(2);
    // the library keeps its list of backups beside the file; nothing else is left behind
    expect(readdirSync(dir).sort()).toEqual(
      ['multus.log', 'multus.log.history', ...backups.map((b) => basename(b))].sort(),
    );
    for (const b of backups)
      expect(basename(b)).toMatch(/^multus-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}(-\d+)?\.log$/);
    const seen: number[] = [];
    for (const f of [...backups].reverse().concat(file)) {
      // rotated once it reaches maxSize, so at most one line over it
      expect(statSync(f).size).toBeLessThan(64 * 1024 + LINE_BYTES);
      if (f !== file) expect(statSync(f).size).toBeGreaterThanOrEqual(64 * 1024);
      for (const l of linesOf(readFileSync(f, 'utf8'))) seen.push(JSON.parse(l).i);
    }
    // the surviving files hold the newest lines, in order, none split
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, k) => total - seen.length + k));
    expect(seen.at(-1)).toBe(total - 1);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('compresses backups with gzip when compress is on', async () => {
    const file = join(dir, 'multus.log');
    const lf = logFile(file, { maxBackups: 5, compress: true });
    for (let i = 0; i < 140; i++) lf.write(line(i));
    await lf.idle();
    const backups = await lf.backups();
    expect(backups).toHaveLength(2);
    const seen: number[] = [];
    for (const b of [...backups].reverse()) {
      expect(b.endsWith('.log.gz')).toBe(true);
      expect(existsSync(b.slice(0, -3))).toBe(false);
      expect(statSync(b).mode & 0o777).toBe(0o600);
      const text = gunzipSync(readFileSync(b)).toString('utf8');
      expect(Buffer.byteLength(text)).toBeLessThan(64 * 1024 + LINE_BYTES);
      for (const l of linesOf(text)) seen.push(JSON.parse(l).i);
    }
    for (const l of linesOf(readFileSync(file, 'utf8'))) seen.push(JSON.parse(l).i);
    expect(seen).toEqual(Array.from({ length: 140 }, (_, k) => k));
  });

  it('maxBackups 0 keeps every backup; a line longer than maxSize is written whole', async () => {
    const file = join(dir, 'm');
    const lf = logFile(file, { maxBytes: 100, maxBackups: 0 });
    for (let i = 0; i < 30; i++) lf.write(`${'z'.repeat(60)}\n`);
    lf.write(`${'L'.repeat(500)}\n`);
    await lf.idle();
    const backups = await lf.backups();
    // two 61-byte lines reach 100 bytes: 15 rotations, then one for the long line
    expect(backups).toHaveLength(16);
    expect(readFileSync(backups[0]!, 'utf8')).toBe(`${'L'.repeat(500)}\n`);
    for (const b of backups.slice(1)) expect(readFileSync(b, 'utf8')).toBe(`${'z'.repeat(60)}\n`.repeat(2));
    expect(readFileSync(file, 'utf8')).toBe('');
    // no maxFiles: the library keeps no list
    expect(existsSync(`${file}.history`)).toBe(false);
  });

  it('continues an existing file, and rotates it first when it is already full', async () => {
    const file = join(dir, 'multus.log');
    writeFileSync(file, 'kept\n');
    const lf = logFile(file, { maxBytes: 100 });
    lf.write('0123456789\n');
    await lf.idle();
    expect(readFileSync(file, 'utf8')).toBe('kept\n0123456789\n');
    expect(await lf.backups()).toEqual([]);
    await lf.close();

    writeFileSync(file, 'a'.repeat(100));
    const again = logFile(file, { maxBytes: 100 });
    again.write('next\n');
    await again.idle();
    const backups = await again.backups();
    expect(backups).toHaveLength(1);
    expect(readFileSync(backups[0]!, 'utf8')).toBe('a'.repeat(100));
    expect(readFileSync(file, 'utf8')).toBe('next\n');
  });

  it('flush calls back once every line written so far is in the file', async () => {
    const file = join(dir, 'multus.log');
    const lf = logFile(file, { maxBytes: 10 * MB });
    for (let i = 0; i < 500; i++) lf.write(line(i));
    await new Promise<void>((resolve) => lf.flush(() => resolve()));
    expect(linesOf(readFileSync(file, 'utf8'))).toHaveLength(500);
    // with nothing pending it calls back at once
    let called = false;
    lf.flush(() => {
      called = true;
    });
    expect(called).toBe(true);
  });
});

describe('LogFile age pruning (the part rotating-file-stream lacks)', () => {
  it('removes backups whose name is older than maxAge at start-up, and nothing else', async () => {
    const file = join(dir, 'multus.log');
    const now = Date.UTC(2025, 5, 20, 12);
    writeFileSync(join(dir, 'multus-2025-06-01T00-00-00.000.log.gz'), 'old');
    writeFileSync(join(dir, 'multus-2025-06-14T23-59-59.999-2.log'), 'old too\n');
    writeFileSync(join(dir, 'multus-2025-06-18T00-00-00.000.log'), 'recent\n');
    writeFileSync(join(dir, 'unrelated-2025-06-01T00-00-00.000.log'), 'not ours');
    writeFileSync(join(dir, 'multus-not-a-time.log'), 'not a backup');
    const lf = logFile(file, { maxAgeDays: 5 }, { now: () => now });
    lf.write('first\n');
    await lf.idle();
    expect(readdirSync(dir).sort()).toEqual([
      'multus-2025-06-18T00-00-00.000.log',
      'multus-not-a-time.log',
      'multus.log',
      'unrelated-2025-06-01T00-00-00.000.log',
    ]);
  });

  it('after each rotation, removes backups older than maxAge; maxAge 0 keeps them', async () => {
    const later = () => Date.now() + 6 * DAY;
    const aged = logFile(
      join(dir, 'aged.log'),
      { maxBytes: 4096, maxAgeDays: 5, maxBackups: 0 },
      { now: later },
    );
    const kept = logFile(
      join(dir, 'kept.log'),
      { maxBytes: 4096, maxAgeDays: 0, maxBackups: 0 },
      { now: later },
    );
    for (let i = 0; i < 20; i++) {
      aged.write(line(i));
      kept.write(line(i));
    }
    await aged.idle();
    await kept.idle();
    expect(await aged.backups()).toEqual([]);
    expect(await kept.backups()).toHaveLength(5);
    expect(linesOf(readFileSync(join(dir, 'aged.log'), 'utf8')).length).toBeLessThanOrEqual(4);
  });
});

describe('LogFile failures never reach the caller', () => {
  it('a file that cannot be opened is reported once; writing resumes when it can be opened', async () => {
    const stderr = silenceStderr();
    writeFileSync(join(dir, 'not-a-dir'), '');
    const file = join(dir, 'not-a-dir', 'multus.log');
    let now = 0;
    const lf = logFile(file, {}, { now: () => now, retryMs: 1000 });
    expect(lf.write('x\n')).toBe(true);
    expect(lf.write('y\n')).toBe(true);
    await lf.idle();
    expect(lf.write('z\n')).toBe(true); // within retryMs: dropped without touching the disk
    await lf.idle();
    expect(reports(stderr)).toHaveLength(1);
    expect(reports(stderr)[0]).toMatch(/^multus-daemon: log file .*not-a-dir\/multus\.log: .*ENOTDIR/);

    rmSync(join(dir, 'not-a-dir'));
    now += 1000;
    lf.write('back\n');
    await lf.idle();
    expect(readFileSync(file, 'utf8')).toBe('back\n');
    expect(reports(stderr)[1]).toMatch(/writable again; 3 line\(s\) were lost/);
  });

  it.each([
    ['the log file', (file: string) => rmSync(file)],
    ['the log directory', (file: string) => rmSync(join(file, '..'), { recursive: true })],
  ])(
    'when someone removes %s, the next rotation fails, is reported, and a new file is started',
    async (_what, remove) => {
      const stderr = silenceStderr();
      const file = join(dir, 'logs', 'multus.log');
      const lf = logFile(file, { maxBytes: 4096, compress: true }, { retryMs: 0 });
      lf.write(line(0));
      await lf.idle();
      remove(file);
      for (let i = 1; i < 6; i++) lf.write(line(i)); // past maxSize: the rotation finds no file to move
      await lf.idle();
      expect(reports(stderr).some((r) => r.includes('multus.log') && r.includes('ENOENT'))).toBe(true);
      lf.write(line(99));
      await lf.idle();
      expect(linesOf(readFileSync(file, 'utf8')).map((l) => JSON.parse(l).i)).toEqual([99]);
    },
  );

  it('close ends the file; a later write opens it again', async () => {
    const file = join(dir, 'multus.log');
    const lf = logFile(file, {});
    lf.write('one\n');
    await lf.close();
    expect(readFileSync(file, 'utf8')).toBe('one\n');
    lf.write('two\n');
    await lf.idle();
    expect(readFileSync(file, 'utf8')).toBe('one\ntwo\n');
  });
});
