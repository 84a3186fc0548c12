import { CniCode, CniError } from '@multus-ts/cni';
import { describe, expect, it } from 'vitest';
import { parseDaemonArgs } from './args.ts';
import { DEFAULT_DAEMON_CONFIG_PATH } from './defaults.ts';

function argsError(argv: string[]): CniError {
  try {
    parseDaemonArgs(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(CniError);
    return err as CniError;
  }
  throw new Error(`expected ${argv.join(' ')} to be rejected`);
}

describe('parseDaemonArgs', () => {
  it('defaults', () => {
    expect(parseDaemonArgs([])).toEqual({
      configPath: DEFAULT_DAEMON_CONFIG_PATH,
      version: false,
      help: false,
      cleanupConfigOnExit: false,
      rest: [],
    });
    expect(DEFAULT_DAEMON_CONFIG_PATH).toBe('/etc/cni/net.d/multus.d/daemon-config.json');
  });

  it.each([
    [['--config', '/a.json']],
    [['--config=/a.json']],
    [['-config', '/a.json']],
    [['-config=/a.json']],
  ])('config in Go flag forms: %j', (argv) => {
    expect(parseDaemonArgs(argv).configPath).toBe('/a.json');
  });

  it('a value may start with a dash, and a repeated flag takes the last value (Go)', () => {
    expect(parseDaemonArgs(['-config', '-weird.json']).configPath).toBe('-weird.json');
    expect(parseDaemonArgs(['-config=/a', '--config', '/b']).configPath).toBe('/b');
    expect(parseDaemonArgs(['-config=/a=b']).configPath).toBe('/a=b');
  });

  it('version, help and cleanup flags, with Go bool values', () => {
    expect(parseDaemonArgs(['--version']).version).toBe(true);
    expect(parseDaemonArgs(['-version']).version).toBe(true);
    expect(parseDaemonArgs(['-version=false']).version).toBe(false);
    expect(parseDaemonArgs(['-version=T']).version).toBe(true);
    expect(parseDaemonArgs(['-h']).help).toBe(true);
    expect(parseDaemonArgs(['--help']).help).toBe(true);
    expect(parseDaemonArgs(['--cleanup-config-on-exit']).cleanupConfigOnExit).toBe(true);
    expect(parseDaemonArgs(['-cleanup-config-on-exit=0']).cleanupConfigOnExit).toBe(false);
  });

  it('a bool flag does not consume the next argument', () => {
    const a = parseDaemonArgs(['-version', 'false']);
    expect(a.version).toBe(true);
    expect(a.rest).toEqual(['false']);
  });

  it('stops at the first non-flag and at --', () => {
    expect(parseDaemonArgs(['-config', '/a', 'install', '-x']).rest).toEqual(['install', '-x']);
    expect(parseDaemonArgs(['--', '-config', '/a'])).toMatchObject({
      configPath: DEFAULT_DAEMON_CONFIG_PATH,
      rest: ['-config', '/a'],
    });
    expect(parseDaemonArgs(['-', '-config=/a']).rest).toEqual(['-', '-config=/a']);
  });

  it('errors with Go flag texts', () => {
    const unknown = argsError(['--bogus']);
    expect(unknown.message).toBe('flag provided but not defined: -bogus');
    expect(unknown.code).toBe(CniCode.InvalidConfig);
    expect(argsError(['-bogus=1']).message).toBe('flag provided but not defined: -bogus');
    expect(argsError(['-config']).message).toBe('flag needs an argument: -config');
    expect(argsError(['---config=/a']).message).toBe('bad flag syntax: ---config=/a');
    expect(argsError(['-=x']).message).toBe('bad flag syntax: -=x');
    expect(argsError(['-version=maybe']).message).toBe(
      'invalid boolean value "maybe" for -version: parse error',
    );
    expect(argsError(['-config=']).message).toBe('flag -config needs a non-empty value');
    expect(argsError(['-Config=/a']).message).toBe('flag provided but not defined: -Config');
  });
});
