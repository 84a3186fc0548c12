import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { editPlugins, objectMembers, setMember, skipValue } from './json-edit.ts';

describe('lossless JSON edits', () => {
  it('replaces a member in place and keeps every other byte', () => {
    const text = '{ "a" : 1.0 , "name":"old", "big": 123456789012345678901234567890 }';
    expect(setMember(text, 0, 'name', '"new"')).toBe(
      '{ "a" : 1.0 , "name":"new", "big": 123456789012345678901234567890 }',
    );
  });
  it('inserts a missing member first', () => {
    expect(setMember('{"a":1}', 0, 'b', '2')).toBe('{"b":2,"a":1}');
    expect(setMember('  {\n}', 0, 'b', '2')).toBe('  {"b":2\n}');
  });
  it('replaces every duplicate so the parsed value is unambiguous', () => {
    expect(setMember('{"k":1,"x":{"k":9},"k":2}', 0, 'k', '3')).toBe('{"k":3,"x":{"k":9},"k":3}');
  });
  it('handles escapes and brackets inside strings', () => {
    const text = '{"s":"a\\"}{[","n\\u0061me":"x"}';
    expect(objectMembers(text, 0).map((m) => m.key)).toEqual(['s', 'name']);
    expect(JSON.parse(setMember(text, 0, 'name', '"y"'))).toEqual({ s: 'a"}{[', name: 'y' });
  });
  it('edits each plugin of a conflist, or the single config', () => {
    const set = (t: string, start: number) => setMember(t, start, 'z', 'true');
    expect(editPlugins('{"type":"a"}', set)).toBe('{"z":true,"type":"a"}');
    expect(JSON.parse(editPlugins('{"plugins":[{"type":"a"},{"type":"b","plugins":1}]}', set))).toEqual({
      plugins: [
        { z: true, type: 'a' },
        { z: true, type: 'b', plugins: 1 },
      ],
    });
  });
  it('scans deep nesting without recursion', () => {
    const deep = `${'['.repeat(100000)}${']'.repeat(100000)}`;
    expect(skipValue(deep, 0)).toBe(deep.length);
  });
  it('property: the edited text parses to the object with that one key set, key order kept', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue()),
        fc.string({ maxLength: 6 }),
        fc.jsonValue(),
        fc.boolean(),
        (obj, key, value, pretty) => {
          const text = JSON.stringify(obj, null, pretty ? 2 : undefined);
          const out = setMember(text, 0, key, JSON.stringify(value));
          const parsed = JSON.parse(out) as Record<string, unknown>;
          const expected = JSON.parse(text) as Record<string, unknown>;
          const hadKey = Object.hasOwn(expected, key);
          Object.defineProperty(expected, key, {
            value: JSON.parse(JSON.stringify(value)),
            enumerable: true,
            writable: true,
            configurable: true,
          });
          expect(parsed).toEqual(expected);
          const keys = Object.keys(JSON.parse(text) as object);
          if (hadKey) expect(Object.keys(parsed)).toEqual(keys);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
