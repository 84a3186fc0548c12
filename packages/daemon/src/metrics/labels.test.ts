import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  apiCodeLabel,
  BoundedLabel,
  cniCodeLabel,
  httpCodeLabel,
  httpMethodLabel,
  OTHER,
  oneOf,
  WELL_KNOWN_PLUGINS,
} from './labels.ts';

describe('BoundedLabel', () => {
  it('keeps the first `cap` distinct values and folds every later one into "other"', () => {
    const l = new BoundedLabel(3);
    expect(['a', 'b', 'a', 'c'].map((v) => l.value(v))).toEqual(['a', 'b', 'a', 'c']);
    expect(l.value('d')).toBe(OTHER);
    expect(l.value('e')).toBe(OTHER);
    // values admitted before the cap was reached stay themselves
    expect(l.value('b')).toBe('b');
    expect(l.size).toBe(3);
  });

  it('always accepts the well-known set without spending the cap on it', () => {
    const l = new BoundedLabel(1, WELL_KNOWN_PLUGINS);
    for (const p of WELL_KNOWN_PLUGINS) expect(l.value(p)).toBe(p);
    expect(l.size).toBe(0);
    expect(l.value('my-cni')).toBe('my-cni');
    expect(l.value('another-cni')).toBe(OTHER);
    // a flood of made-up names after the cap cannot push out a real plugin
    for (let i = 0; i < 1000; i++) l.value(`x${i}`);
    expect(l.value('macvlan')).toBe('macvlan');
    expect(l.value('my-cni')).toBe('my-cni');
  });

  it('turns hostile and malformed values into "other" without admitting them', () => {
    const l = new BoundedLabel(100);
    const hostile: unknown[] = [
      '',
      '../../bin/sh',
      '/opt/cni/bin/bridge',
      'bridge\n# HELP fake',
      'bridge"} 1\nevil{a="',
      'a'.repeat(64),
      'plügin',
      ' bridge',
      '-leading-dash',
      '.hidden',
      'other',
      undefined,
      null,
      42,
      { toString: () => 'bridge' },
    ];
    for (const v of hostile) expect(l.value(v), String(v)).toBe(OTHER);
    expect(l.size).toBe(0);
    expect(l.value('a'.repeat(63))).toBe('a'.repeat(63));
  });

  it('a cap of 0 admits only the always-accepted set', () => {
    const l = new BoundedLabel(0, ['bridge']);
    expect(l.value('bridge')).toBe('bridge');
    expect(l.value('macvlan')).toBe(OTHER);
  });

  it('rejects a nonsensical cap', () => {
    expect(() => new BoundedLabel(-1)).toThrow(RangeError);
    expect(() => new BoundedLabel(1.5)).toThrow(RangeError);
  });

  it('never yields more distinct values than cap + always-set + "other", whatever the input', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 80 }), { maxLength: 300 }), fc.nat(20), (values, cap) => {
        const always = ['bridge', 'macvlan'];
        const l = new BoundedLabel(cap, always);
        const out = new Set(values.map((v) => l.value(v)));
        expect(out.size).toBeLessThanOrEqual(cap + always.length + 1);
        for (const v of out) expect(v === OTHER || /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v)).toBe(true);
      }),
    );
  });
});

describe('cniCodeLabel', () => {
  it('keeps the spec codes and folds the rest', () => {
    for (const c of [1, 2, 3, 4, 5, 6, 7, 8, 11, 50, 51, 999]) expect(cniCodeLabel(c)).toBe(String(c));
    expect(cniCodeLabel(100)).toBe('plugin');
    expect(cniCodeLabel(412)).toBe('plugin');
    expect(cniCodeLabel(998)).toBe('plugin');
    for (const c of [0, 9, 12, 99, 1000, -1, 2 ** 40, 1.5, Number.NaN, '7', undefined, null]) {
      expect(cniCodeLabel(c), String(c)).toBe(OTHER);
    }
  });
});

describe('httpMethodLabel', () => {
  it('lower-cases the methods promhttp knows and calls everything else "unknown"', () => {
    expect(httpMethodLabel('POST')).toBe('post');
    expect(httpMethodLabel('GET')).toBe('get');
    expect(httpMethodLabel('get')).toBe('get');
    expect(httpMethodLabel('PATCH')).toBe('patch');
    expect(httpMethodLabel('NOTIFY')).toBe('notify');
    expect(httpMethodLabel('PROPFIND')).toBe('unknown');
    expect(httpMethodLabel('Get')).toBe('unknown');
    expect(httpMethodLabel('')).toBe('unknown');
    expect(httpMethodLabel(undefined)).toBe('unknown');
  });
});

describe('status code labels', () => {
  it('HTTP codes are decimal strings within 100-599', () => {
    expect(httpCodeLabel(200)).toBe('200');
    expect(httpCodeLabel(405)).toBe('405');
    expect(httpCodeLabel(99)).toBe(OTHER);
    expect(httpCodeLabel(600)).toBe(OTHER);
    expect(httpCodeLabel(200.5)).toBe(OTHER);
  });

  it('API outcomes: a status, or "error" when there was no answer', () => {
    expect(apiCodeLabel(201)).toBe('201');
    expect(apiCodeLabel(404)).toBe('404');
    expect(apiCodeLabel('error')).toBe('error');
    expect(apiCodeLabel(70000)).toBe(OTHER);
  });

  it('oneOf keeps only listed names', () => {
    const set = new Set(['ADD', 'DEL']);
    expect(oneOf(set, 'ADD')).toBe('ADD');
    expect(oneOf(set, 'add')).toBe(OTHER);
    expect(oneOf(set, 7)).toBe(OTHER);
  });
});
