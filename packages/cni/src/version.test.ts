import { describe, expect, it } from 'vitest';
import { CniError } from './errors.ts';
import {
  assertSupportedVersion,
  compareVersions,
  isSupportedVersion,
  negotiateVersion,
  parseVersionReply,
  SUPPORTED_VERSIONS,
  VersionReplySchema,
  versionAtLeast,
  versionReply,
} from './version.ts';

function codeOf(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CniError);
    return (err as CniError).code;
  }
  throw new Error('expected a CniError');
}

describe('versions', () => {
  it('lists the seven spec versions oldest first', () => {
    expect(SUPPORTED_VERSIONS).toEqual(['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
    for (let i = 1; i < SUPPORTED_VERSIONS.length; i++) {
      expect(compareVersions(SUPPORTED_VERSIONS[i - 1]!, SUPPORTED_VERSIONS[i]!)).toBe(-1);
    }
  });
  it('knows which versions it supports', () => {
    expect(isSupportedVersion('0.3.1')).toBe(true);
    expect(isSupportedVersion('1.2.0')).toBe(false);
    expect(isSupportedVersion('1.0')).toBe(false);
    expect(isSupportedVersion(1)).toBe(false);
    expect(assertSupportedVersion('1.1.0')).toBe('1.1.0');
    expect(codeOf(() => assertSupportedVersion('2.0.0'))).toBe(1);
    expect(codeOf(() => assertSupportedVersion(undefined))).toBe(1);
  });
  it('compares numerically, not lexically', () => {
    expect(compareVersions('0.10.0', '0.9.0')).toBe(1);
    expect(compareVersions('1.0.0', '1.0.0')).toBe(0);
    expect(compareVersions('0.4.0', '1.0.0')).toBe(-1);
    expect(versionAtLeast('0.4.0', '0.4.0')).toBe(true);
    expect(versionAtLeast('0.3.1', '0.4.0')).toBe(false);
  });
  it('refuses anything that is not strict X.Y.Z with code 1', () => {
    for (const bad of [
      '',
      '1',
      '1.0',
      'v1.0.0',
      '1.0.0-rc1',
      '01.0.0',
      '1.0.0.0',
      ' 1.0.0',
      '1.0.x',
      '9999999999.0.0',
    ]) {
      expect(codeOf(() => compareVersions(bad, '1.0.0'))).toBe(1);
    }
  });
  it('negotiates cniVersions: highest supported wins, newer ones are ignored', () => {
    expect(negotiateVersion('0.3.1', ['1.0.0', '0.4.0'])).toBe('1.0.0');
    expect(negotiateVersion('0.3.1', ['1.0.0', '1.5.0'])).toBe('1.0.0');
    expect(negotiateVersion('1.0.0', ['0.4.0'])).toBe('1.0.0');
    expect(negotiateVersion('0.4.0', ['9.0.0'])).toBe('0.4.0');
    expect(negotiateVersion('0.4.0', undefined)).toBe('0.4.0');
    expect(negotiateVersion('0.4.0', [])).toBe('0.4.0');
    expect(negotiateVersion('', ['0.3.1'])).toBe('0.3.1');
    expect(negotiateVersion('1.1.0', ['1.0.0'], ['0.4.0', '1.0.0'])).toBe('1.0.0');
    expect(codeOf(() => negotiateVersion('1.0.0', ['one']))).toBe(1);
  });
  it('builds and parses VERSION replies', () => {
    const reply = versionReply('1.1.0');
    expect(reply).toEqual({ cniVersion: '1.1.0', supportedVersions: [...SUPPORTED_VERSIONS] });
    expect(VersionReplySchema.safeParse(reply).success).toBe(true);
    expect(parseVersionReply({ cniVersion: '1.0.0', supportedVersions: ['0.4.0', '1.0.0'], x: 1 })).toEqual({
      cniVersion: '1.0.0',
      supportedVersions: ['0.4.0', '1.0.0'],
    });
    expect(parseVersionReply({ cniVersion: '0.2.0' }).supportedVersions).toEqual(['0.1.0', '0.2.0']);
    expect(codeOf(() => parseVersionReply({ cniVersion: '1.0.0' }))).toBe(6);
    expect(codeOf(() => parseVersionReply({ supportedVersions: ['1.0.0'] }))).toBe(6);
    expect(codeOf(() => parseVersionReply('1.0.0'))).toBe(6);
    expect(codeOf(() => parseVersionReply(null))).toBe(6);
    expect(codeOf(() => parseVersionReply({ cniVersion: 1, supportedVersions: [] }))).toBe(6);
  });
});
