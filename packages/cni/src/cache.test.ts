import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CacheEntry, ResultCache, resultFromEntry, validateCacheKey } from './cache.ts';
import { CniError } from './errors.ts';

let dir: string;
let cache: ResultCache;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), `cni-cache-${process.pid}-`));
  cache = new ResultCache(join(dir, 'cni'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config = new TextEncoder().encode(
  '{"cniVersion":"1.0.0","name":"net1","type":"macvlan","x":{"keep":[1]}}',
);
const entry: CacheEntry = {
  networkName: 'net1',
  containerId: 'abc123',
  ifName: 'eth1',
  config,
  netns: '/var/run/netns/abc',
  cniArgs: [
    ['IgnoreUnknown', '1'],
    ['K8S_POD_NAME', 'p'],
  ],
  capabilityArgs: { portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }] },
  result: { cniVersion: '1.0.0', ips: [{ address: '10.1.1.5/24' }] },
};

async function expectCode(p: Promise<unknown> | (() => unknown), code: number): Promise<void> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).code).toBe(code);
    return;
  }
  throw new Error(`expected CniError ${code}`);
}

describe('ResultCache', () => {
  it('writes libcni’s cniCacheV1 format at results/<net>-<cid>-<if> with 0700/0600', async () => {
    await cache.write(entry);
    const path = join(dir, 'cni', 'results', 'net1-abc123-eth1');
    const text = await readFile(path, 'utf8');
    const json = JSON.parse(text);
    expect(Object.keys(json)).toEqual([
      'kind',
      'containerId',
      'config',
      'ifName',
      'networkName',
      'netns',
      'cniArgs',
      'capabilityArgs',
      'result',
    ]);
    expect(json.kind).toBe('cniCacheV1');
    expect(Buffer.from(json.config, 'base64').toString()).toBe(new TextDecoder().decode(config));
    expect(json.cniArgs).toEqual(entry.cniArgs);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'cni', 'results'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'cni'))).mode & 0o777).toBe(0o700);
    // No temp files are left behind.
    expect(await readdir(join(dir, 'cni', 'results'))).toEqual(['net1-abc123-eth1']);
  });

  it('reads back exactly what it wrote', async () => {
    await cache.write(entry);
    const r = await cache.read('net1', 'abc123', 'eth1');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.legacy).toBe(false);
    expect(r.entry).toEqual(entry);
    expect(resultFromEntry(r.entry)).toEqual(entry.result);
    expect(resultFromEntry(r.entry, '0.4.0')).toEqual({
      cniVersion: '0.4.0',
      ips: [{ version: '4', address: '10.1.1.5/24' }],
    });
  });

  it('omits empty optional fields as Go’s omitempty does', async () => {
    await cache.write({
      networkName: 'n',
      containerId: 'c',
      ifName: 'i',
      config: new Uint8Array(0),
      cniArgs: [],
    });
    const json = JSON.parse(await readFile(join(dir, 'cni', 'results', 'n-c-i'), 'utf8'));
    expect(json).toEqual({ kind: 'cniCacheV1', containerId: 'c', config: '', ifName: 'i', networkName: 'n' });
    const r = await cache.read('n', 'c', 'i');
    expect(r.ok && resultFromEntry(r.entry)).toBeUndefined();
  });

  it('reads an entry written by libcni (Go null config, extra keys)', async () => {
    await mkdir(join(dir, 'cni', 'results'), { recursive: true });
    await writeFile(
      join(dir, 'cni', 'results', 'mynet-c1-eth0'),
      JSON.stringify({
        kind: 'cniCacheV1',
        containerId: 'c1',
        config: null,
        ifName: 'eth0',
        networkName: 'mynet',
        cniArgs: null,
        future: true,
      }),
    );
    const r = await cache.read('mynet', 'c1', 'eth0');
    expect(r.ok).toBe(true);
    expect(r.ok && r.entry.config.length).toBe(0);
  });

  it('reads a pre-cniCacheV1 file holding only a result', async () => {
    await mkdir(join(dir, 'cni', 'results'), { recursive: true });
    await writeFile(
      join(dir, 'cni', 'results', 'n-c-eth0'),
      '{"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.0.0.2/8"}]}',
    );
    const r = await cache.read('n', 'c', 'eth0');
    expect(r.ok && r.legacy).toBe(true);
    expect(r.ok && resultFromEntry(r.entry, '1.0.0')).toEqual({
      cniVersion: '1.0.0',
      ips: [{ address: '10.0.0.2/8' }],
    });
  });

  it('replaces an entry atomically and removes it idempotently', async () => {
    await cache.write(entry);
    await cache.write({ ...entry, netns: '/var/run/netns/other' });
    const r = await cache.read('net1', 'abc123', 'eth1');
    expect(r.ok && r.entry.netns).toBe('/var/run/netns/other');
    expect(await cache.remove('net1', 'abc123', 'eth1')).toBe(true);
    expect(await cache.remove('net1', 'abc123', 'eth1')).toBe(false);
    const gone = await cache.read('net1', 'abc123', 'eth1');
    expect(gone.ok).toBe(false);
    expect(!gone.ok && gone.reason).toBe('missing');
  });

  it('lists valid entries, filtered by container, skipping junk', async () => {
    expect(await cache.list()).toEqual([]);
    await cache.write(entry);
    await cache.write({ ...entry, ifName: 'eth2' });
    await cache.write({ ...entry, containerId: 'other' });
    const results = join(dir, 'cni', 'results');
    await writeFile(join(results, 'junk'), 'not json');
    await writeFile(
      join(results, 'x-y-z'),
      JSON.stringify({ kind: 'cniCacheV1', containerId: 'a', config: '', ifName: 'b', networkName: 'c' }),
    );
    await mkdir(join(results, 'adir'));
    await writeFile(join(results, '.tmp-1-abc'), '{');
    expect(await cache.list()).toEqual([
      { networkName: 'net1', containerId: 'abc123', ifName: 'eth1' },
      { networkName: 'net1', containerId: 'abc123', ifName: 'eth2' },
      { networkName: 'net1', containerId: 'other', ifName: 'eth1' },
    ]);
    expect((await cache.list('other')).map((k) => k.ifName)).toEqual(['eth1']);
  });

  describe('hostile files come back as typed failures', () => {
    const cases: [string, string | Buffer, 'corrupt' | 'foreign', number][] = [
      ['empty file', '', 'corrupt', 6],
      ['truncated JSON', JSON.stringify({ kind: 'cniCacheV1', containerId: 'c' }).slice(0, 20), 'corrupt', 6],
      ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), 'corrupt', 6],
      ['a JSON array', '[1,2]', 'foreign', 6],
      [
        'wrong kind',
        JSON.stringify({
          kind: 'cniCacheV2',
          containerId: 'c',
          config: '',
          ifName: 'eth0',
          networkName: 'n',
        }),
        'foreign',
        6,
      ],
      [
        'bad base64 config',
        JSON.stringify({
          kind: 'cniCacheV1',
          containerId: 'c',
          config: '!!',
          ifName: 'eth0',
          networkName: 'n',
        }),
        'foreign',
        6,
      ],
      [
        'result not an object',
        JSON.stringify({
          kind: 'cniCacheV1',
          containerId: 'c',
          config: '',
          ifName: 'eth0',
          networkName: 'n',
          result: 'x',
        }),
        'foreign',
        6,
      ],
      [
        'entry for another key',
        JSON.stringify({
          kind: 'cniCacheV1',
          containerId: 'zzz',
          config: '',
          ifName: 'eth0',
          networkName: 'n',
        }),
        'foreign',
        6,
      ],
      ['no kind, not a result', '{"hello":"world"}', 'foreign', 6],
    ];
    for (const [what, content, reason, code] of cases) {
      it(what, async () => {
        await mkdir(join(dir, 'cni', 'results'), { recursive: true });
        await writeFile(join(dir, 'cni', 'results', 'n-c-eth0'), content);
        const r = await cache.read('n', 'c', 'eth0');
        expect(r.ok).toBe(false);
        if (r.ok) return;
        expect(r.reason).toBe(reason);
        expect(r.error).toBeInstanceOf(CniError);
        expect(r.error.code).toBe(code);
      });
    }
    it('a symlink is not followed', async () => {
      await mkdir(join(dir, 'cni', 'results'), { recursive: true });
      await writeFile(
        join(dir, 'secret'),
        JSON.stringify({
          kind: 'cniCacheV1',
          containerId: 'c',
          config: '',
          ifName: 'eth0',
          networkName: 'n',
        }),
      );
      await symlink(join(dir, 'secret'), join(dir, 'cni', 'results', 'n-c-eth0'));
      const r = await cache.read('n', 'c', 'eth0');
      expect(r.ok).toBe(false);
      expect(!r.ok && r.reason).toBe('foreign');
    });
    it('a directory in place of the file', async () => {
      await mkdir(join(dir, 'cni', 'results', 'n-c-eth0'), { recursive: true });
      const r = await cache.read('n', 'c', 'eth0');
      expect(!r.ok && r.reason).toBe('foreign');
    });
    it('a cached result that is not a valid result', async () => {
      await cache.write({ ...entry, result: { cniVersion: '1.0.0', ips: [{ address: 'bogus' }] } });
      const r = await cache.read('net1', 'abc123', 'eth1');
      expect(r.ok).toBe(true);
      if (r.ok) await expectCode(() => resultFromEntry(r.entry), 6);
    });
  });

  describe('keys cannot escape the results directory', () => {
    const bad: [Partial<CacheEntry>, number][] = [
      [{ networkName: '../../etc' }, 7],
      [{ networkName: '' }, 7],
      [{ networkName: 'a/b' }, 7],
      [{ containerId: '../x' }, 4],
      [{ containerId: 'a/b' }, 4],
      [{ containerId: '' }, 3],
      [{ containerId: 'a\u0000b' }, 4],
      [{ ifName: '..' }, 4],
      [{ ifName: 'a/b' }, 4],
      [{ ifName: '' }, 4],
      [{ ifName: 'x'.repeat(16) }, 4],
    ];
    for (const [patch, code] of bad) {
      it(`${JSON.stringify(patch)} -> code ${code}`, async () => {
        const e = { ...entry, ...patch };
        await expectCode(cache.write(e), code);
        await expectCode(cache.read(e.networkName, e.containerId, e.ifName), code);
        await expectCode(cache.remove(e.networkName, e.containerId, e.ifName), code);
        expect(() => validateCacheKey(e)).toThrow(CniError);
        // Nothing was created anywhere.
        expect(await lstat(join(dir, 'cni')).catch(() => undefined)).toBeUndefined();
      });
    }
    it('names the key component in the message', async () => {
      try {
        validateCacheKey({ ...entry, ifName: 'a:b' });
        throw new Error('expected a throw');
      } catch (err) {
        expect((err as CniError).msg).toContain('ifName');
        expect((err as CniError).details).toBe('interface name contains / or : or whitespace characters');
      }
    });
  });

  it('reports an unwritable cache directory as code 5', async () => {
    await writeFile(join(dir, 'cni'), 'a file where the directory should be');
    await expectCode(cache.write(entry), 5);
  });
});
