// CniRuntime decisions that are made before any plugin runs (no processes, no namespaces): configuration checks,
// version gates and skips. Everything that runs plugins is in test/e2e/cni.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type NetworkConfigList, parseNetworkConfig } from './config.ts';
import { CniError } from './errors.ts';
import { CniRuntime } from './runtime.ts';

async function failure(p: Promise<unknown> | (() => unknown)): Promise<CniError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(CniError);
    return err as CniError;
  }
  throw new Error('expected a CniError');
}

describe('CniRuntime (no plugin runs)', () => {
  let dir: string;
  let runtime: CniRuntime;
  const rt = { containerId: 'c1', netns: '/run/netns/none', ifName: 'eth0' };
  const list = (v: string, extra: Record<string, unknown> = {}): NetworkConfigList =>
    parseNetworkConfig(JSON.stringify({ cniVersion: v, name: 'net', plugins: [{ type: 'p' }], ...extra }));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'multus-ts-runtime-'));
    // A bin dir that does not exist: any attempt to run a plugin would fail with "not found".
    runtime = new CniRuntime({ binDirs: [join(dir, 'no-bin')], cacheDir: join(dir, 'cache') });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([[[]], [['relative/bin']], [['/a:/b']]])('refuses bin dirs %j with code 7', async (binDirs) => {
    const e = await failure(() => new CniRuntime({ binDirs, cacheDir: dir }));
    expect(e.code).toBe(7);
  });

  it('refuses CHECK below 0.4.0 with code 1, before disableCheck and before looking up plugins', async () => {
    for (const v of ['0.1.0', '0.2.0', '0.3.0', '0.3.1']) {
      const e = await failure(runtime.checkNetworkList(list(v, { disableCheck: true }), rt));
      expect(e.code).toBe(1);
      expect(e.msg).toBe(`configuration version "${v}" does not support the CHECK command`);
    }
  });

  it('skips CHECK with disableCheck', async () => {
    expect(await runtime.checkNetworkList(list('1.0.0', { disableCheck: true }), rt)).toEqual({
      skipped: 'disableCheck',
    });
  });

  it('skips STATUS below 1.1.0 and GC forwarding below 1.1.0 without running a plugin', async () => {
    for (const v of ['0.3.1', '0.4.0', '1.0.0']) {
      expect(await runtime.statusNetworkList(list(v))).toEqual({ skipped: 'version' });
      expect(await runtime.gcNetworkList(list(v), [])).toEqual({
        skipped: 'version',
        deleted: [],
        collected: [],
      });
    }
  });

  it('skips GC entirely with disableGC', async () => {
    expect(await runtime.gcNetworkList(list('1.1.0', { disableGC: true }), [])).toEqual({
      skipped: 'disableGC',
      deleted: [],
      collected: [],
    });
  });

  it('looks every plugin up before ADD runs any (code 7 naming the missing one)', async () => {
    const e = await failure(runtime.addNetworkList(list('1.0.0'), rt));
    expect(e.code).toBe(7);
    expect(e.msg).toBe(`failed to find plugin "p" in path [${join(dir, 'no-bin')}]`);
  });

  it('refuses hand-built lists the parser would never produce', async () => {
    const good = list('1.0.0');
    const cases: [NetworkConfigList, number][] = [
      [{ ...good, plugins: [] }, 7],
      [{ ...good, name: '' }, 7],
      [{ ...good, name: 'a/b' }, 7],
      [{ ...good, cniVersion: '9.9.9' as '1.0.0' }, 1],
      [{ ...good, plugins: [{ type: '../../bin/sh' }] }, 7],
    ];
    for (const [bad, code] of cases) {
      expect((await failure(runtime.addNetworkList(bad, rt))).code).toBe(code);
      expect((await failure(runtime.delNetworkList(bad, rt))).code).toBe(code);
      expect((await failure(runtime.statusNetworkList(bad))).code).toBe(code);
    }
  });

  it('DEL of an attachment that never existed fails only for the missing plugin, not for the missing cache', async () => {
    const e = await failure(runtime.delNetworkList(list('1.0.0'), rt));
    expect(e.code).toBe(7);
    expect(e.msg).toMatch(/^plugin type="p" failed \(delete\): failed to find plugin "p"/);
  });
});
