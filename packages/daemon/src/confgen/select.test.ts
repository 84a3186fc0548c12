import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniError } from '@multus-ts/cni';
import { describe, expect, it } from 'vitest';
import { goExt, goJoin, isPrimaryCandidate, selectPrimaryConfig } from './select.ts';

const dir = '/host/etc/cni/net.d';

describe('selectPrimaryConfig (§2.5)', () => {
  it('skips 00-multus*, keeps only .conf and .conflist, sorts, first wins', () => {
    const names = [
      '99-last.conflist',
      '00-multus.conf',
      '00-multus.conflist',
      '00-multus-old.conf',
      '05-loopback.json',
      '10-calico.conflist',
      '10-calico.conflist.bak',
      '.10-calico.conflist.swp',
      'README',
      '20-flannel.conf',
    ];
    expect(selectPrimaryConfig(names, { dir })).toEqual({
      fileName: '10-calico.conflist',
      path: '/host/etc/cni/net.d/10-calico.conflist',
      explicit: false,
    });
  });

  it('sorts byte-wise like Go (upper case before lower case, digits first)', () => {
    expect(selectPrimaryConfig(['b.conf', 'B.conf', '1.conf'], { dir })?.fileName).toBe('1.conf');
    expect(selectPrimaryConfig(['b.conf', 'B.conf'], { dir })?.fileName).toBe('B.conf');
    // U+FF21 (3 UTF-8 bytes) sorts before U+1F600 (4 bytes, a surrogate pair in UTF-16) in both orders,
    // but U+E000 sorts before U+1F600 only byte-wise.
    expect(selectPrimaryConfig(['\u{1F600}.conf', '\uE000.conf'], { dir })?.fileName).toBe('\uE000.conf');
  });

  it('nothing usable -> undefined (the caller waits)', () => {
    expect(selectPrimaryConfig([], { dir })).toBeUndefined();
    expect(selectPrimaryConfig(['00-multus.conf', 'x.json', 'conf'], { dir })).toBeUndefined();
  });

  it('skips directories when given Dirents', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'mts-sel-'));
    try {
      mkdirSync(join(tmp, '05-dir.conf'));
      writeFileSync(join(tmp, '10-real.conf'), '{}');
      const entries = readdirSync(tmp, { withFileTypes: true });
      expect(selectPrimaryConfig(entries, { dir: tmp })?.fileName).toBe('10-real.conf');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('multusMasterCNI bypasses discovery', () => {
    expect(selectPrimaryConfig(['10-a.conf'], { dir, multusMasterCNI: '50-mine.json' })).toEqual({
      fileName: '50-mine.json',
      path: '/host/etc/cni/net.d/50-mine.json',
      explicit: true,
    });
  });

  it('the recursive-name guard: upstream literal path, and our own file by name', () => {
    for (const master of [
      `${dir}/00-multus.conf`,
      '00-multus.conf',
      '00-multus.conflist',
      'sub/../00-multus.conf',
    ]) {
      let err: unknown;
      try {
        selectPrimaryConfig([], { dir, multusMasterCNI: master });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CniError);
      expect((err as CniError).message).toBe(
        `cannot specify ${dir}/00-multus.conf to prevent recursive config load`,
      );
    }
    expect(() =>
      selectPrimaryConfig([], { dir: '/a', multusMasterCNI: 'x.conf', outputPath: '/a/x.conf' }),
    ).toThrow('recursive');
  });
});

describe('Go path helpers', () => {
  it('goExt follows filepath.Ext', () => {
    expect(goExt('a.conf')).toBe('.conf');
    expect(goExt('.conf')).toBe('.conf');
    expect(goExt('a.b.conflist')).toBe('.conflist');
    expect(goExt('conf')).toBe('');
    expect(goExt('a.')).toBe('.');
    expect(isPrimaryCandidate('.conf')).toBe(true);
    expect(isPrimaryCandidate('x.CONF')).toBe(false);
  });

  it('goJoin cleans like filepath.Join', () => {
    expect(goJoin('/host/etc/cni/net.d/', '10-a.conf')).toBe('/host/etc/cni/net.d/10-a.conf');
    expect(goJoin('/a//b', './c')).toBe('/a/b/c');
    expect(goJoin('', 'x.conf')).toBe('x.conf');
    expect(goJoin('', '')).toBe('');
  });
});
