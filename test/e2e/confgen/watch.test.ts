// The manager driven only by real filesystem events (no resync, no retry timer, no readiness poll): what an
// installer, an editor or an operator does in the CNI config directory must reach 00-multus.conf by itself.
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MultusConfManager } from '../../../packages/daemon/src/confgen/index.ts';
import { parseDaemonConfig } from '../../../packages/daemon/src/config/index.ts';

const NEVER = 3_600_000;
let dir: string;
let manager: MultusConfManager | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), `mts-e2e-watch-${process.pid}-`));
});
afterEach(async () => {
  await manager?.stop();
  manager = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const read = (p: string): string | undefined => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
};

function start(extra: Record<string, unknown> = {}): { m: MultusConfManager; out: string } {
  const config = parseDaemonConfig(
    JSON.stringify({ cniVersion: '0.3.1', multusAutoconfigDir: dir, cniConfigDir: dir, ...extra }),
  ).typed;
  const m = new MultusConfManager({
    config,
    debounceMs: 20,
    primaryWaitIntervalMs: NEVER, // only a directory event may end the start-up wait
    resyncIntervalMs: 0,
    retryIntervalMs: NEVER,
    readinessPollMs: NEVER,
  });
  manager = m;
  return { m, out: join(dir, '00-multus.conf') };
}

const conf = (type: string) => JSON.stringify({ cniVersion: '0.3.1', name: type, type });
const clusterNetworkOf = (text: string | undefined): string | undefined =>
  text === undefined ? undefined : (JSON.parse(text) as { clusterNetwork: string }).clusterNetwork;

describe('00-multus.conf follows the CNI config directory (fs events only)', () => {
  it('start-up waits for a primary and picks it up as soon as it is written', async () => {
    const { m, out } = start();
    const started = m.start();
    await new Promise((r) => setTimeout(r, 50));
    expect(read(out)).toBeUndefined();
    writeFileSync(join(dir, '10-late.conflist'), conf('late'));
    await started;
    expect(clusterNetworkOf(read(out))).toBe(join(dir, '10-late.conflist'));
  });

  it('primary removed and replaced: the last good file stays meanwhile, then follows the new one', async () => {
    writeFileSync(join(dir, '10-a.conf'), conf('a'));
    const { m, out } = start();
    await m.start();
    const first = read(out);
    expect(clusterNetworkOf(first)).toBe(join(dir, '10-a.conf'));

    unlinkSync(join(dir, '10-a.conf'));
    await new Promise((r) => setTimeout(r, 200)); // several debounce periods
    expect(read(out)).toBe(first);

    writeFileSync(join(dir, '20-b.conflist'), conf('b'));
    await waitFor('the new primary', () => clusterNetworkOf(read(out)) === join(dir, '20-b.conflist'));
  });

  it('a new lexicographically earlier primary takes over; removing it falls back to the next', async () => {
    writeFileSync(join(dir, '50-main.conf'), conf('main'));
    const { m, out } = start();
    await m.start();
    writeFileSync(join(dir, '05-early.conf'), conf('early'));
    await waitFor('the earlier primary', () => clusterNetworkOf(read(out)) === join(dir, '05-early.conf'));
    unlinkSync(join(dir, '05-early.conf'));
    await waitFor('the remaining primary', () => clusterNetworkOf(read(out)) === join(dir, '50-main.conf'));
  });

  it('editor-style save (temp file + rename over the primary) regenerates', async () => {
    writeFileSync(join(dir, '10-a.conflist'), conf('a'));
    const { m, out } = start();
    await m.start();
    const updated = JSON.stringify({
      cniVersion: '0.3.1',
      name: 'a',
      plugins: [{ type: 'a' }, { type: 'portmap', capabilities: { portMappings: true } }],
    });
    writeFileSync(join(dir, '.10-a.conflist.swp'), updated);
    renameSync(join(dir, '.10-a.conflist.swp'), join(dir, '10-a.conflist'));
    await waitFor(
      'capabilities from the saved file',
      () => read(out)?.includes('"portMappings":true') === true,
    );
    expect(clusterNetworkOf(read(out))).toBe(join(dir, '10-a.conflist'));
  });

  it('00-multus.conf deleted behind our back is restored', async () => {
    writeFileSync(join(dir, '10-a.conf'), conf('a'));
    const { m, out } = start();
    await m.start();
    const good = read(out);
    unlinkSync(out);
    await waitFor('restoration', () => read(out) === good);
  });

  it('the autoconfig directory removed and re-created: the watch re-arms', async () => {
    const sub = join(dir, 'net.d');
    mkdirSync(sub);
    writeFileSync(join(sub, '10-a.conf'), conf('a'));
    const config = parseDaemonConfig(
      JSON.stringify({ cniVersion: '0.3.1', multusAutoconfigDir: sub, cniConfigDir: dir }),
    ).typed;
    // the parent (cniConfigDir) is watched too, so the re-creation is seen without any timer
    const m = new MultusConfManager({ config, debounceMs: 20, resyncIntervalMs: 0, retryIntervalMs: NEVER });
    manager = m;
    await m.start();
    const out = join(dir, '00-multus.conf');
    rmSync(sub, { recursive: true });
    mkdirSync(sub);
    writeFileSync(join(sub, '20-b.conf'), conf('b'));
    await waitFor(
      'the primary in the re-created directory',
      () => clusterNetworkOf(read(out)) === join(sub, '20-b.conf'),
    );
  });

  it('readiness indicator removed and restored: state and events, the daemon keeps running', async () => {
    writeFileSync(join(dir, '10-a.conf'), conf('a'));
    const readyDir = join(dir, 'flannel');
    mkdirSync(readyDir);
    const readyFile = join(readyDir, 'subnet.env');
    writeFileSync(readyFile, 'FLANNEL_NETWORK=10.244.0.0/16\n');
    const { m, out } = start({ readinessindicatorfile: readyFile });
    const events: boolean[] = [];
    m.on('readiness', (r) => events.push(r));
    await m.start();
    expect(m.ready).toBe(true);
    const good = read(out);

    unlinkSync(readyFile);
    await waitFor('not ready', () => !m.ready);
    expect(read(out)).toBe(good); // upstream deletes it and exits; we keep it

    writeFileSync(readyFile, 'FLANNEL_NETWORK=10.244.0.0/16\n');
    await waitFor('ready again', () => m.ready);
    // the first event is the initial check during start()
    expect(events).toEqual([true, false, true]);

    // an atomic replace (rename over it) is not a removal
    writeFileSync(`${readyFile}.tmp`, 'x');
    renameSync(`${readyFile}.tmp`, readyFile);
    await new Promise((r) => setTimeout(r, 100));
    expect(m.ready).toBe(true);
    expect(await m.whenReady(0)).toBe(true);
  });
});
