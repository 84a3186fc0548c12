import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CachedContainer, cachePath, DelegateCache, decodeCacheEntry } from './delegate-cache.ts';

const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

function sample(): CachedContainer {
  return {
    containerId: 'abc123',
    netns: '/var/run/netns/p1',
    pod: { namespace: 'default', name: 'samplepod', uid: 'u-1' },
    delegates: [
      {
        name: 'cbr0',
        networkName: 'cbr0',
        ifName: 'eth0',
        master: true,
        kind: 'conflist',
        configBytes: enc({
          cniVersion: '0.3.1',
          name: 'cbr0',
          plugins: [
            { type: 'bridge', 'x-vendor': { deep: [1, { k: 'v' }] } },
            { type: 'portmap', capabilities: { portMappings: true } },
          ],
        }),
        cniArgs: [['K8S_POD_NAME', 'samplepod']],
        capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
        filterV4Gateway: false,
        filterV6Gateway: false,
      },
      {
        name: 'default/macvlan-conf',
        networkName: 'macvlan-conf',
        ifName: 'net1',
        master: false,
        kind: 'conf',
        configBytes: enc({ cniVersion: '0.3.0', type: 'macvlan', master: 'eth0', name: 'macvlan-conf' }),
        cniArgs: [],
        capabilityArgs: {},
        macRequest: 'c2:11:22:33:44:55',
        ipRequest: ['10.1.1.11/24'],
        defaultRoute: ['10.1.1.254'],
        filterV4Gateway: true,
        filterV6Gateway: false,
      },
    ],
  };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mts-dcache-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('DelegateCache', () => {
  it('round-trips an entry losslessly, with 0700 dir and 0600 file and no temp files left', async () => {
    const cache = new DelegateCache(join(dir, 'multus'));
    await cache.save(sample());
    const got = await cache.load('abc123', 'eth0');
    expect(got.status).toBe('ok');
    if (got.status !== 'ok') return;
    expect(got.foreign).toBe(false);
    expect(got.entry.pod).toEqual(sample().pod);
    expect(got.entry.netns).toBe('/var/run/netns/p1');
    const [a, b] = got.entry.delegates;
    expect(Buffer.from(a!.configBytes).equals(Buffer.from(sample().delegates[0]!.configBytes))).toBe(true);
    expect(a!.capabilityArgs).toEqual(sample().delegates[0]!.capabilityArgs);
    expect(b).toMatchObject({
      ifName: 'net1',
      macRequest: 'c2:11:22:33:44:55',
      defaultRoute: ['10.1.1.254'],
    });
    expect((await stat(join(dir, 'multus'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'multus', 'abc123'))).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, 'multus'))).toEqual(['abc123']);
    expect(await cache.list()).toEqual(['abc123']);
  });

  it('writes the upstream layout so upstream Multus can read it back', async () => {
    const cache = new DelegateCache(dir);
    await cache.save(sample());
    const arr = JSON.parse(await readFile(join(dir, 'abc123'), 'utf8')) as Record<string, unknown>[];
    expect(arr[0]).toMatchObject({ Name: 'cbr0', IsFilterV4Gateway: false, ConfList: { name: 'cbr0' } });
    expect((arr[0]!['ConfList'] as { plugins: unknown[] }).plugins).toHaveLength(2);
    expect(arr[1]).toMatchObject({
      Conf: { type: 'macvlan' },
      ipRequest: ['10.1.1.11/24'],
      'default-route': ['10.1.1.254'],
    });
    expect(JSON.parse(Buffer.from(arr[1]!['Bytes'] as string, 'base64').toString())).toMatchObject({
      master: 'eth0',
    });
  });

  it('reads an entry written by upstream Multus (no multusTs key) and derives interface names as upstream', () => {
    const bytes1 = Buffer.from(
      '{"cniVersion":"0.4.0","name":"macvlan1-config","plugins":[{"type":"macvlan"}]}',
    ).toString('base64');
    const bytes2 = Buffer.from('{"cniVersion":"0.4.0","name":"net2","type":"bridge"}').toString('base64');
    const bytes3 = Buffer.from('{"cniVersion":"0.4.0","name":"n3","type":"bridge"}').toString('base64');
    const text = JSON.stringify([
      {
        Conf: { cniVersion: '0.4.0', name: 'x' },
        ConfList: { plugins: [{ type: 'macvlan' }] },
        Name: 'default/macvlan1-config',
        IsFilterV4Gateway: false,
        IsFilterV6Gateway: false,
        Bytes: bytes1,
      },
      {
        Conf: { type: 'bridge' },
        ConfList: {},
        Name: 'default/net2',
        ifnameRequest: 'foo',
        IsFilterV4Gateway: false,
        IsFilterV6Gateway: false,
        Bytes: bytes2,
      },
      {
        Conf: { type: 'bridge' },
        ConfList: {},
        Name: 'default/n3',
        IsFilterV4Gateway: false,
        IsFilterV6Gateway: false,
        Bytes: bytes3,
      },
    ]);
    const got = decodeCacheEntry('cid', text, 'eth0');
    expect(got.status).toBe('ok');
    if (got.status !== 'ok') return;
    expect(got.foreign).toBe(true);
    expect(got.entry.delegates.map((d) => [d.ifName, d.kind, d.networkName, d.master])).toEqual([
      ['eth0', 'conflist', 'macvlan1-config', true],
      ['foo', 'conf', 'net2', false],
      ['net2', 'conf', 'n3', false],
    ]);
  });

  it.each([
    ['truncated', '[{"Conf":{},"Bytes":"eyJj'],
    ['not an array', '{"Bytes":"e30="}'],
    ['bad base64', '[{"Bytes":"***"}]'],
    ['Bytes not JSON', `[{"Bytes":"${Buffer.from('garbage').toString('base64')}"}]`],
    ['Bytes JSON but not an object', `[{"Bytes":"${Buffer.from('[1]').toString('base64')}"}]`],
    ['empty file', ''],
  ])('reports a %s file as corrupt instead of throwing', async (_what, text) => {
    await writeFile(join(dir, 'c1'), text);
    const got = await new DelegateCache(dir).load('c1', 'eth0');
    expect(got.status).toBe('corrupt');
  });

  it('reads the upstream-compatible part of an entry whose extras another multus-ts version wrote', () => {
    const bytes = Buffer.from('{"cniVersion":"1.0.0","name":"n","type":"bridge"}').toString('base64');
    const got = decodeCacheEntry(
      'cid',
      JSON.stringify([{ Name: 'default/n', Bytes: bytes, multusTs: { version: 99 } }]),
      'eth0',
    );
    expect(got).toMatchObject({
      status: 'ok',
      foreign: true,
      entry: { delegates: [{ name: 'default/n', ifName: 'eth0' }] },
    });
  });

  it('reports a missing file as missing, and remove() is idempotent', async () => {
    const cache = new DelegateCache(dir);
    expect(await cache.load('nope', 'eth0')).toEqual({ status: 'missing' });
    await cache.remove('nope');
    await cache.remove('nope');
    expect(await new DelegateCache(join(dir, 'absent')).list()).toEqual([]);
  });

  it.each(['../etc/passwd', '/abs', '', '.hidden', 'a/b', 'x\u0000y'])(
    'refuses the container ID %j',
    (id) => {
      expect(() => cachePath(dir, id)).toThrow(RangeError);
    },
  );

  it('refuses an oversized cache file', async () => {
    await writeFile(join(dir, 'big'), Buffer.alloc(17 * 1024 * 1024, 0x20));
    const got = await new DelegateCache(dir).load('big', 'eth0');
    expect(got).toMatchObject({ status: 'corrupt' });
  });
});
