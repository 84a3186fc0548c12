import { describe, expect, it } from 'vitest';
import { parseGoDuration } from './go-duration.ts';
import { compareSemVer, parseSemVer } from './go-semver.ts';
import { scanJson } from './json-scan.ts';

describe('parseGoDuration', () => {
  it.each([
    ['10m', 600e9],
    ['1h30m', 5400e9],
    ['1.5h', 5400e9],
    ['300ms', 300e6],
    ['2us', 2000],
    ['2µs', 2000],
    ['2μs', 2000],
    ['5ns', 5],
    ['0', 0],
    ['-1m', -60e9],
    ['+.5s', 0.5e9],
    ['1.s', 1e9],
  ])('%s', (s, ns) => {
    expect(parseGoDuration(s)).toBe(ns);
  });

  it.each([
    ['', 'time: invalid duration ""'],
    ['10', 'time: missing unit in duration "10"'],
    ['1x', 'time: unknown unit "x" in duration "1x"'],
    ['.s', 'time: invalid duration ".s"'],
    ['m', 'time: invalid duration "m"'],
    ['-', 'time: invalid duration "-"'],
    ['9999999999h', 'time: invalid duration "9999999999h"'],
  ])('rejects %j', (s, msg) => {
    expect(() => parseGoDuration(s)).toThrow(msg);
  });
});

describe('parseSemVer (blang)', () => {
  it('parses and orders', () => {
    const v = (s: string) => parseSemVer(s);
    expect(v('1.2.3')).toEqual({ major: 1, minor: 2, patch: 3, pre: [] });
    expect(compareSemVer(v('0.4.0'), v('0.3.1'))).toBe(1);
    expect(compareSemVer(v('0.4.0-rc1'), v('0.4.0'))).toBe(-1);
    expect(compareSemVer(v('1.0.0-alpha'), v('1.0.0-alpha.1'))).toBe(-1);
    expect(compareSemVer(v('1.0.0-2'), v('1.0.0-10'))).toBe(-1);
    expect(compareSemVer(v('1.0.0-a'), v('1.0.0-1'))).toBe(1);
    expect(compareSemVer(v('1.0.0+build'), v('1.0.0'))).toBe(0);
  });

  it.each([
    ['', 'Version string empty'],
    ['1.0', 'No Major.Minor.Patch elements found'],
    ['v1.0.0', 'Invalid character(s) found in major number "v1"'],
    ['01.0.0', 'Major number must not contain leading zeroes "01"'],
    ['1.x.0', 'Invalid character(s) found in minor number "x"'],
    ['1.0.0a', 'Invalid character(s) found in patch number "0a"'],
    ['1.0.00', 'Patch number must not contain leading zeroes "00"'],
    ['1.0.0-', 'Prerelease is empty'],
    ['1.0.0-01', 'Numeric PreRelease version must not contain leading zeroes "01"'],
    ['1.0.0-a_b', 'Invalid character(s) found in prerelease "a_b"'],
    ['1.0.0+', 'Build meta data is empty'],
  ])('rejects %j', (s, msg) => {
    expect(() => parseSemVer(s)).toThrow(msg);
  });
});

describe('scanJson', () => {
  it('depth and duplicate keys at any level, ignoring brackets and quotes inside strings', () => {
    const s = scanJson('{"a":1,"b":{"c":[{"d":"x{[\\"]"}],"c":2},"a":3,"e\\u0061":0,"ea":1}', 64);
    expect(s.maxDepth).toBe(4);
    expect(s.deepestPath).toBe('b.c[]');
    expect(s.duplicateKeys).toEqual(['b.c', 'a', 'ea']);
  });

  it('a value equal to a key name is not a duplicate', () => {
    expect(scanJson('{"a":"a","b":["a","a"]}', 64).duplicateKeys).toEqual([]);
  });

  it('stops early on hostile depth without recursion', () => {
    const s = scanJson('['.repeat(1_000_000), 64);
    expect(s.maxDepth).toBe(65);
  });

  it('bounds the number of reported duplicates', () => {
    const text = `{${Array.from({ length: 50 }, () => '"k":1').join(',')}}`;
    expect(scanJson(text, 64).duplicateKeys).toHaveLength(10);
  });
});
