import { describe, expect, it } from 'vitest';
import { CniError } from './errors.ts';
import {
  decodePluginOutput,
  EXCERPT_BYTES,
  type FinishedRun,
  PluginExecError,
  stoppedRunError,
} from './exec-decode.ts';

function run(
  over: Partial<Omit<FinishedRun, 'stdout' | 'stderr'>> & { stdout?: string | Uint8Array; stderr?: string },
): FinishedRun {
  const bytes = (v: string | Uint8Array | undefined) =>
    typeof v === 'string' ? Buffer.from(v) : (v ?? Buffer.alloc(0));
  return {
    pluginPath: '/opt/cni/bin/p',
    command: 'ADD',
    exitCode: 0,
    signal: null,
    ...over,
    stdout: bytes(over.stdout),
    stderr: bytes(over.stderr),
  };
}

function failure(r: FinishedRun): PluginExecError {
  try {
    decodePluginOutput(r);
  } catch (err) {
    expect(err).toBeInstanceOf(PluginExecError);
    expect(err).toBeInstanceOf(CniError);
    return err as PluginExecError;
  }
  throw new Error('expected a failure');
}

describe('decodePluginOutput: success', () => {
  it('returns undefined for empty or blank stdout (DEL, CHECK, GC, STATUS)', () => {
    expect(decodePluginOutput(run({}))).toBeUndefined();
    expect(decodePluginOutput(run({ stdout: ' \n\t' }))).toBeUndefined();
  });

  it('returns the JSON object a plugin prints', () => {
    const out = decodePluginOutput(
      run({ stdout: '{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24"}]}\n' }),
    );
    expect(out).toEqual({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] });
  });

  it.each([
    ['garbage', 'not json at all'],
    ['truncated JSON', '{"cniVersion":"1.0.0",'],
    ['a JSON array', '[1,2]'],
    ['a JSON number', '42'],
    ['a JSON string', '"ok"'],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
  ])('is code 6 for %s on stdout, with stdout and stderr in details', (_l, stdout) => {
    const e = failure(run({ stdout, stderr: 'plugin says hi' }));
    expect(e.code).toBe(6);
    expect(e.id).toBe('ERR_PLUGIN_OUTPUT_UNDECODABLE');
    expect(e.details).toContain('stderr: plugin says hi');
    expect(e.details).toContain('stdout: ');
    expect(e.stderr).toBe('plugin says hi');
  });
});

describe('decodePluginOutput: failure', () => {
  it("returns the plugin's own error JSON untouched (code, msg, details)", () => {
    const e = failure(
      run({
        exitCode: 1,
        stdout:
          '{"cniVersion":"1.0.0","code":7,"msg":"failed to lookup master \\"foo\\"","details":"Link not found"}',
        stderr: 'log line',
      }),
    );
    expect(e.code).toBe(7);
    expect(e.msg).toBe('failed to lookup master "foo"');
    expect(e.details).toBe('Link not found');
    expect(e.stderr).toBe('log line');
    expect(e.exitCode).toBe(1);
    expect(e.pluginPath).toBe('/opt/cni/bin/p');
  });

  it('keeps plugin-private codes (100+) and 50/51', () => {
    for (const code of [50, 51, 100, 123, 999]) {
      expect(failure(run({ exitCode: 1, stdout: JSON.stringify({ code, msg: 'm' }) })).code).toBe(code);
    }
  });

  it.each([
    ['missing', { msg: 'm' }],
    ['zero', { code: 0, msg: 'm' }],
    ['negative', { code: -3, msg: 'm' }],
    ['fractional', { code: 1.5, msg: 'm' }],
    ['a string', { code: '7', msg: 'm' }],
  ])('turns a %s code into 999 and keeps the message', (_l, body) => {
    const e = failure(run({ exitCode: 2, stdout: JSON.stringify(body) }));
    expect(e.code).toBe(999);
    expect(e.msg).toBe('m');
  });

  it('is 999 "netplugin failed" with stderr in details when stdout is empty', () => {
    const e = failure(run({ exitCode: 1, stderr: 'panic: runtime error\ngoroutine 1' }));
    expect(e.code).toBe(999);
    expect(e.msg).toBe('netplugin failed: exit status 1');
    expect(e.details).toBe('stderr: panic: runtime error\ngoroutine 1');
  });

  it('says "no error message" when the plugin said nothing at all', () => {
    const e = failure(run({ exitCode: 3 }));
    expect(e.code).toBe(999);
    expect(e.details).toBe('no error message');
  });

  it('keeps both stdout and stderr when stdout is not an error JSON', () => {
    const e = failure(run({ exitCode: 1, stdout: '{"cniVersion":"1.0.0"}', stderr: 'oops' }));
    expect(e.code).toBe(999);
    expect(e.msg).toContain('not an error JSON');
    expect(e.details).toContain('stderr: oops');
    expect(e.details).toContain('stdout: {"cniVersion":"1.0.0"}');
  });

  it('reports a signal death', () => {
    const e = failure(run({ exitCode: null, signal: 'SIGSEGV' }));
    expect(e.code).toBe(999);
    expect(e.msg).toBe('netplugin failed: killed by signal SIGSEGV');
    expect(e.signal).toBe('SIGSEGV');
  });

  it('caps the stderr excerpt in details but keeps all of it on the error', () => {
    const big = 'x'.repeat(EXCERPT_BYTES * 3);
    const e = failure(run({ exitCode: 1, stderr: big }));
    expect(e.details!.length).toBeLessThan(EXCERPT_BYTES + 100);
    expect(e.stderr).toBe(big);
  });
});

describe('stoppedRunError', () => {
  it('adds what stderr said so far and keeps the code', () => {
    const base = new CniError(11, 'timed out');
    const e = stoppedRunError(base, run({ exitCode: null, signal: 'SIGKILL', stderr: 'working...' }));
    expect(e.code).toBe(11);
    expect(e.msg).toBe('timed out');
    expect(e.details).toBe('stderr: working...');
    expect(stoppedRunError(base, run({ exitCode: null, signal: 'SIGKILL' })).details).toBeUndefined();
  });
});
