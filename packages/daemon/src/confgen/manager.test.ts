import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniCode, CniError } from '@multus-ts/cni';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseDaemonConfig } from '../config/load.ts';
import { type ConfLogLevel, MultusConfManager, type MultusConfManagerOptions } from './manager.ts';
import { ReadinessTracker } from './readiness.ts';

let dir: string;
let managers: MultusConfManager[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mts-mgr-'));
});
afterEach(async () => {
  for (const m of managers) await m.stop();
  managers = [];
  rmSync(dir, { recursive: true, force: true });
});

const primary = (type: string, version = '0.3.1', caps?: Record<string, boolean>) =>
  JSON.stringify({ cniVersion: version, name: `net-${type}`, type, ...(caps ? { capabilities: caps } : {}) });
const expected = (file: string, version = '0.3.1', caps = '') =>
  `{${caps}"cniVersion":"${version}","name":"multus-cni-network","clusterNetwork":"${join(dir, file)}","type":"multus-shim"}`;

function manager(extra: Record<string, unknown> = {}, opts: Partial<MultusConfManagerOptions> = {}) {
  const config = parseDaemonConfig(
    JSON.stringify({ cniVersion: '0.3.1', multusAutoconfigDir: dir, cniConfigDir: dir, ...extra }),
  ).typed;
  const logs: { level: ConfLogLevel; msg: string }[] = [];
  const m = new MultusConfManager({
    config,
    log: (level, msg) => logs.push({ level, msg }),
    primaryWaitAttempts: 3,
    primaryWaitIntervalMs: 20,
    resyncIntervalMs: 0,
    retryIntervalMs: 60_000,
    ...opts,
  });
  managers.push(m);
  return { m, logs, out: join(dir, '00-multus.conf') };
}

describe('MultusConfManager: start', () => {
  it('writes 00-multus.conf (mode 0600) from the first primary and reports it', async () => {
    writeFileSync(join(dir, '20-b.conf'), primary('b'));
    writeFileSync(join(dir, '10-a.conflist'), primary('a', '0.3.1', { portMappings: true }));
    const { m, out } = manager();
    const written: string[] = [];
    m.on('written', (w) => written.push(w.content));
    await m.start();
    const content = readFileSync(out, 'utf8');
    expect(content).toBe(expected('10-a.conflist', '0.3.1', '"capabilities":{"portMappings":true},'));
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(written).toEqual([content]);
    expect(m.primaryPath).toBe(join(dir, '10-a.conflist'));
    expect(m.content).toBe(content);
    expect(m.outputPath).toBe(out);
  });

  it('no primary after the bounded attempts: upstream text, code 11, nothing written', async () => {
    writeFileSync(join(dir, 'x.json'), primary('x'));
    const { m, logs } = manager();
    const err = (await m.start().catch((e: unknown) => e)) as CniError;
    expect(err).toBeInstanceOf(CniError);
    expect(err.code).toBe(CniCode.TryAgainLater);
    expect(err.message).toBe(
      `failed to find the cluster master CNI plugin: could not find a plugin configuration in ${dir}`,
    );
    expect(readdirSync(dir)).toEqual(['x.json']);
    expect(logs.some((l) => l.msg === 'waiting for a primary CNI config')).toBe(true);
  });

  it('a primary that cannot work fails at once (no waiting), like upstream', async () => {
    writeFileSync(join(dir, '10-a.conf'), primary('a', '0.3.1'));
    const { m, out } = manager(
      { cniVersion: '0.4.0' },
      { primaryWaitAttempts: 1000, primaryWaitIntervalMs: 600_000 },
    );
    await expect(m.start()).rejects.toThrow(
      "failed to load the primary CNI configuration as a multus delegate with error 'delegate cni version is 0.3.1 while top level cni version is 0.4.0'",
    );
    expect(() => statSync(out)).toThrow();
  });

  it('multusMasterCNI naming our own file is refused at once', async () => {
    const { m } = manager(
      { multusMasterCNI: '00-multus.conf' },
      { primaryWaitAttempts: 1000, primaryWaitIntervalMs: 600_000 },
    );
    await expect(m.start()).rejects.toThrow(
      `cannot specify ${dir}/00-multus.conf to prevent recursive config load`,
    );
  });

  it('multusMasterCNI picks the named file over discovery', async () => {
    writeFileSync(join(dir, '10-a.conf'), primary('a'));
    writeFileSync(join(dir, '99-mine.conf'), primary('mine'));
    const { m, out } = manager({ multusMasterCNI: '99-mine.conf' });
    await m.start();
    expect(readFileSync(out, 'utf8')).toBe(expected('99-mine.conf'));
  });

  it('an unwritable cniConfigDir fails after the attempts with the write error', async () => {
    writeFileSync(join(dir, '10-a.conf'), primary('a'));
    const { m } = manager({ cniConfigDir: join(dir, 'missing') });
    await expect(m.start()).rejects.toThrow(/^failed to persist the multus configuration: .*ENOENT/);
  });

  it('a current 00-multus.conf left by the previous run is not rewritten; a stale one is replaced', async () => {
    writeFileSync(join(dir, '10-a.conf'), primary('a'));
    const out = join(dir, '00-multus.conf');
    writeFileSync(out, expected('10-a.conf'), { mode: 0o600 });
    const ino = statSync(out).ino;
    const first = manager();
    await first.m.start();
    expect(statSync(out).ino).toBe(ino);
    await first.m.stop();
    writeFileSync(out, '{"stale":true}');
    const second = manager();
    await second.m.start();
    expect(readFileSync(out, 'utf8')).toBe(expected('10-a.conf'));
  });

  it('stop() during the wait makes start() reject and writes nothing', async () => {
    const { m, out } = manager({}, { primaryWaitAttempts: 1000, primaryWaitIntervalMs: 600_000 });
    const started = m.start();
    await new Promise((r) => setTimeout(r, 20));
    await m.stop();
    await expect(started).rejects.toThrow('stopped before start completed');
    expect(() => statSync(out)).toThrow();
  });

  it('start() twice is an error', async () => {
    writeFileSync(join(dir, '10-a.conf'), primary('a'));
    const { m } = manager();
    await m.start();
    await expect(m.start()).rejects.toThrow('start() in state running');
  });
});

describe('MultusConfManager: keeping the file current (resync)', () => {
  it('follows changes, keeps the last good file through removal and garbage, re-selects', async () => {
    writeFileSync(join(dir, '20-b.conf'), primary('b', '0.3.1', { bandwidth: true }));
    const { m, out, logs } = manager();
    const problems: CniError[] = [];
    m.on('problem', (e) => problems.push(e));
    await m.start();
    expect(readFileSync(out, 'utf8')).toBe(
      expected('20-b.conf', '0.3.1', '"capabilities":{"bandwidth":true},'),
    );

    // the primary changes: capabilities follow it (removed ones disappear)
    writeFileSync(join(dir, '20-b.conf'), primary('b', '0.3.1', { portMappings: true }));
    await m.resync();
    expect(readFileSync(out, 'utf8')).toBe(
      expected('20-b.conf', '0.3.1', '"capabilities":{"portMappings":true},'),
    );

    // half-written primary: the last good file stays, the problem is visible
    writeFileSync(join(dir, '20-b.conf'), '{"cniVersion": "0.3');
    await m.resync();
    expect(readFileSync(out, 'utf8')).toBe(
      expected('20-b.conf', '0.3.1', '"capabilities":{"portMappings":true},'),
    );
    expect(m.problem).toContain('failed to unmarshall primary CNI config');
    expect(problems).toHaveLength(1);

    // the primary is removed: still the last good file (fail closed, no fallback to the primary)
    unlinkSync(join(dir, '20-b.conf'));
    await m.resync();
    expect(readFileSync(out, 'utf8')).toBe(
      expected('20-b.conf', '0.3.1', '"capabilities":{"portMappings":true},'),
    );
    expect(logs.some((l) => l.level === 'warn' && l.msg.startsWith('no primary CNI config any more'))).toBe(
      true,
    );

    // a new primary appears
    writeFileSync(join(dir, '30-c.conflist'), primary('c'));
    await m.resync();
    expect(readFileSync(out, 'utf8')).toBe(expected('30-c.conflist'));
    expect(m.problem).toBeUndefined();

    // an earlier-sorting primary takes over
    writeFileSync(join(dir, '05-early.conf'), primary('early'));
    await m.resync();
    expect(readFileSync(out, 'utf8')).toBe(expected('05-early.conf'));
    expect(m.primaryPath).toBe(join(dir, '05-early.conf'));

    // 00-multus.conf deleted by someone else: restored
    unlinkSync(out);
    await m.resync();
    expect(readFileSync(out, 'utf8')).toBe(expected('05-early.conf'));
  });

  it('forceCNIVersion rewrites the primary atomically, keeping key order and mode', async () => {
    const p = join(dir, '10-a.conf');
    writeFileSync(p, '{\n  "type": "a",\n  "cniVersion": "0.3.1",\n  "name": "n"\n}\n', { mode: 0o640 });
    const { m, out } = manager({ cniVersion: '1.0.0', forceCNIVersion: true });
    await m.start();
    expect(readFileSync(p, 'utf8')).toBe('{"type":"a","cniVersion":"1.0.0","name":"n"}');
    expect(statSync(p).mode & 0o777).toBe(0o640);
    expect(readFileSync(out, 'utf8')).toBe(expected('10-a.conf', '1.0.0'));
  });
});

describe('MultusConfManager: stop', () => {
  it('keeps 00-multus.conf by default', async () => {
    writeFileSync(join(dir, '10-a.conf'), primary('a'));
    const { m, out } = manager();
    await m.start();
    await m.stop();
    expect(readFileSync(out, 'utf8')).toBe(expected('10-a.conf'));
  });

  it('removes it with cleanupOnExit (option or daemon-config key)', async () => {
    writeFileSync(join(dir, '10-a.conf'), primary('a'));
    const a = manager({}, { cleanupOnExit: true });
    await a.m.start();
    await a.m.stop();
    expect(() => statSync(a.out)).toThrow();
    const b = manager({ cleanupConfigOnExit: true });
    await b.m.start();
    expect(statSync(b.out).isFile()).toBe(true);
    await b.m.stop();
    expect(() => statSync(b.out)).toThrow();
    expect(readdirSync(dir)).toEqual(['10-a.conf']);
  });
});

describe('readiness', () => {
  it('no readiness file configured: always ready', async () => {
    writeFileSync(join(dir, '10-a.conf'), primary('a'));
    const { m } = manager();
    await m.start();
    expect(m.ready).toBe(true);
    expect(await m.whenReady(0)).toBe(true);
  });

  it('observable state; the manager still writes the config (ADD is held back instead, spec 6.1.2)', async () => {
    writeFileSync(join(dir, '10-a.conf'), primary('a'));
    const ready = join(dir, 'sub', 'ready');
    const { m, out } = manager({ readinessindicatorfile: ready }, { readinessPollMs: 60_000 });
    await m.start();
    expect(m.ready).toBe(false);
    expect(await m.whenReady(10)).toBe(false);
    expect(readFileSync(out, 'utf8')).not.toContain('readinessindicatorfile');
  });

  it('ReadinessTracker.check() flips the state and emits once per change', async () => {
    const file = join(dir, 'ready');
    const t = new ReadinessTracker(file, { pollMs: 60_000 });
    const seen: boolean[] = [];
    t.on('change', (r) => seen.push(r));
    await t.start();
    try {
      expect(t.ready).toBe(false);
      mkdirSync(join(dir, 'unrelated'));
      writeFileSync(file, '');
      await t.check();
      await t.check();
      expect(t.ready).toBe(true);
      unlinkSync(file);
      await t.check();
      expect(t.ready).toBe(false);
      expect(seen).toEqual([true, false]);
      const waiting = t.whenReady(5_000);
      writeFileSync(file, '');
      await t.check();
      expect(await waiting).toBe(true);
    } finally {
      t.stop();
    }
  });
});
