import { describe, expect, it } from 'vitest';
import { CniError } from './errors.ts';
import {
  LEGACY_ATTACHMENTS_KEY,
  readValidAttachments,
  VALID_ATTACHMENTS_KEY,
  withValidAttachments,
} from './gc.ts';

const a = { containerID: 'c1', ifname: 'eth0' };
const b = { containerID: 'c2', ifname: 'net1' };

describe('GC valid attachments', () => {
  it('reads either key', () => {
    expect(readValidAttachments({ [VALID_ATTACHMENTS_KEY]: [a] })).toEqual([a]);
    expect(readValidAttachments({ [LEGACY_ATTACHMENTS_KEY]: [b] })).toEqual([b]);
    expect(readValidAttachments({ [VALID_ATTACHMENTS_KEY]: [] })).toEqual([]);
  });
  it('unions both keys without duplicates, dropping unknown per-entry keys', () => {
    const conf = {
      [VALID_ATTACHMENTS_KEY]: [a, { ...b, extra: 1 }],
      [LEGACY_ATTACHMENTS_KEY]: [b, a, { containerID: 'c3', ifname: 'x' }],
    };
    expect(readValidAttachments(conf)).toEqual([a, b, { containerID: 'c3', ifname: 'x' }]);
  });
  it('returns undefined when neither key is present', () => {
    expect(readValidAttachments({ type: 'bridge' })).toBeUndefined();
  });
  const bad: [string, Record<string, unknown>][] = [
    ['not an array', { [VALID_ATTACHMENTS_KEY]: { containerID: 'c' } }],
    ['null', { [LEGACY_ATTACHMENTS_KEY]: null }],
    ['entry without ifname', { [VALID_ATTACHMENTS_KEY]: [{ containerID: 'c' }] }],
    ['numeric containerID', { [VALID_ATTACHMENTS_KEY]: [{ containerID: 1, ifname: 'eth0' }] }],
    ['valid first key, broken second', { [VALID_ATTACHMENTS_KEY]: [a], [LEGACY_ATTACHMENTS_KEY]: ['x'] }],
  ];
  for (const [what, conf] of bad) {
    it(`${what} -> code 7`, () => {
      try {
        readValidAttachments(conf);
        throw new Error('expected a throw');
      } catch (err) {
        expect(err).toBeInstanceOf(CniError);
        expect((err as CniError).code).toBe(7);
        expect((err as CniError).msg).toContain('cni.dev/');
      }
    });
  }
  it('writes both keys on a copy, leaving the input alone', () => {
    const conf = { type: 'bridge', name: 'n', 'vendor.key': [1] };
    const out = withValidAttachments(conf, [a, b]);
    expect(out).toEqual({ ...conf, [VALID_ATTACHMENTS_KEY]: [a, b], [LEGACY_ATTACHMENTS_KEY]: [a, b] });
    expect(conf).not.toHaveProperty(VALID_ATTACHMENTS_KEY);
    expect(out[VALID_ATTACHMENTS_KEY]).not.toBe(out[LEGACY_ATTACHMENTS_KEY]);
    expect(readValidAttachments(out)).toEqual([a, b]);
  });
});
