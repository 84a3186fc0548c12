import { describe, expect, it } from 'vitest';
import { CniError } from './errors.ts';
import { PluginExecError } from './exec-decode.ts';
import { CniErrorList, describePlugin, pluginFailed, prefixError } from './runtime-errors.ts';

describe('describePlugin', () => {
  it('names the type, and the name when the plugin has one', () => {
    expect(describePlugin({ type: 'bridge' })).toBe('type="bridge"');
    expect(describePlugin({ type: 'bridge', name: 'br' })).toBe('type="bridge" name="br"');
    expect(describePlugin({ type: 'a"b' })).toBe('type="a\\"b"');
  });
});

describe('pluginFailed', () => {
  it("wraps the message like libcni and keeps the plugin's code and details", () => {
    const e = pluginFailed(
      { type: 'macvlan' },
      'add',
      new CniError(7, 'failed to lookup master', 'Link not found'),
    );
    expect(e.code).toBe(7);
    expect(e.msg).toBe('plugin type="macvlan" failed (add): failed to lookup master');
    expect(e.details).toBe('Link not found');
  });

  it('keeps the plugin run info (stderr) of a PluginExecError', () => {
    const run = { pluginPath: '/p', command: 'DEL' as const, exitCode: 1, signal: null, stderr: 'why' };
    const e = pluginFailed({ type: 'p' }, 'delete', new PluginExecError(new CniError(100, 'm'), run));
    expect(e).toBeInstanceOf(PluginExecError);
    expect((e as PluginExecError).stderr).toBe('why');
    expect(e.code).toBe(100);
  });

  it('turns a non-CniError into code 999', () => {
    expect(prefixError(new Error('boom'), 'x').code).toBe(999);
    expect(prefixError('text', 'x').msg).toBe('x: text');
  });
});

describe('CniErrorList', () => {
  it("takes the first error's code and lists every message", () => {
    const list = new CniErrorList([new CniError(123, 'a', 'da'), new CniError(7, 'b')]);
    expect(list.code).toBe(123);
    expect(list.msg).toBe('a; b');
    expect(list.details).toBe('da');
    expect(list.errors).toHaveLength(2);
  });

  it('refuses an empty list', () => {
    expect(() => new CniErrorList([])).toThrow(TypeError);
  });
});
