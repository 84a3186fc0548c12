import { describe, expect, it } from 'vitest';
import { CniCode, CniError, defineCatalogue } from './errors.ts';

const cat = defineCatalogue({
  ERR_SAMPLE: { code: CniCode.InvalidConfig, msg: 'plugin type {type} is invalid' },
});

describe('CniError', () => {
  it('renders a catalogue entry and serialises in spec key order', () => {
    const e = CniError.of(cat, 'ERR_SAMPLE', { type: '../x' }, 'why');
    expect(e.code).toBe(7);
    expect(e.id).toBe('ERR_SAMPLE');
    expect(JSON.stringify(e.toJSON('1.1.0'))).toBe(
      '{"cniVersion":"1.1.0","code":7,"msg":"plugin type ../x is invalid","details":"why"}',
    );
  });
  it('leaves unknown placeholders visible and omits empty details', () => {
    const e = CniError.of(cat, 'ERR_SAMPLE');
    expect(e.toJSON()).toEqual({ code: 7, msg: 'plugin type {type} is invalid' });
  });
  it('wraps foreign errors with code 999 and keeps CniErrors', () => {
    expect(CniError.wrap(new Error('boom')).code).toBe(999);
    const own = new CniError(11, 'later');
    expect(CniError.wrap(own)).toBe(own);
    expect(CniError.wrap('str').msg).toBe('str');
  });
});
