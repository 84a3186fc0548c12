// multus-shim on its own: what it answers without a daemon (version, about text, VERSION) and every check
// it makes before contacting one (required variables, container ID and ifname rules, stdin limits, config
// keys). Each suite runs against the static release binary and the ASan/UBSan build.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildShim, cniEnv, runShim, SHIM_BINARIES, SHIM_VERSION, shimConfig, shimError } from './harness.ts';

const VERSION_REPLY =
  '{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}\n';

describe.each(SHIM_BINARIES)('multus-shim ($name) without a daemon', (shim) => {
  // A socket dir that never holds a socket: nothing in this file may reach a daemon.
  const noDaemon = mkdtempSync(join(tmpdir(), 'shim-local-'));
  const conf = shimConfig(noDaemon, '0.3.1');

  beforeAll(() => buildShim(shim));
  afterAll(() => rmSync(noDaemon, { recursive: true, force: true }));

  it.each(['-v', '--version', '-version'])('prints its version for %s', async (flag) => {
    const r = await runShim(shim, { env: {}, args: [flag] });
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe(`multus-shim: ${SHIM_VERSION}\n`);
  });

  it.each<Record<string, string>>([{}, { CNI_COMMAND: '' }])(
    'prints the about text on stderr without CNI_COMMAND (%j)',
    async (env) => {
      const r = await runShim(shim, { env, stdin: conf });
      expect(r.code).toBe(0);
      expect(r.stdout.length).toBe(0);
      expect(r.stderr).toContain('multus-shim');
      expect(r.stderr).toContain(
        'CNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n',
      );
    },
  );

  it('answers VERSION locally, ignoring stdin and every other variable', async () => {
    const r = await runShim(shim, { env: { CNI_COMMAND: 'VERSION' }, stdin: 'not json at all' });
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe(VERSION_REPLY);
  });

  it.each(['FOO', 'add', 'VERSION '])('rejects the unknown command %j with code 4', async (command) => {
    const r = await runShim(shim, { env: cniEnv(command), stdin: conf });
    expect(r.code).toBe(1);
    expect(r.stdout.toString()).toBe(shimError('0.3.1', 4, `unknown CNI_COMMAND: ${command}`));
  });

  it.each([
    [
      'ADD',
      ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS', 'CNI_PATH'],
      'CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME',
    ],
    ['CHECK', ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'], 'CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME'],
    ['DEL', ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'], 'CNI_CONTAINERID,CNI_IFNAME'],
    ['DEL', ['CNI_IFNAME'], 'CNI_IFNAME'],
    ['ADD', ['CNI_NETNS'], 'CNI_NETNS'],
    ['GC', ['CNI_PATH'], 'CNI_PATH'],
  ])('%s without %j reports [%s] missing (code 4)', async (command, drop, missing) => {
    for (const emptyInsteadOfUnset of [false, true]) {
      const env = cniEnv(command);
      for (const name of drop) {
        if (emptyInsteadOfUnset) env[name] = '';
        else delete env[name];
      }
      const r = await runShim(shim, { env, stdin: conf });
      expect(r.code).toBe(1);
      expect(r.stdout.toString()).toBe(shimError('0.3.1', 4, `required env variables [${missing}] missing`));
    }
  });

  it.each(['a%', '-abc', '.abc', '_abc', 'a b', 'abc\n', 'café', 'a/b'])(
    'rejects the container ID %j with code 4 and the ID as details',
    async (id) => {
      for (const command of ['ADD', 'DEL', 'CHECK']) {
        const r = await runShim(shim, { env: cniEnv(command, { CNI_CONTAINERID: id }), stdin: conf });
        expect(r.code).toBe(1);
        expect(r.stdout.toString()).toBe(shimError('0.3.1', 4, 'invalid characters in containerID', id));
      }
    },
  );

  const SPACE = 'interface name contains / or : or whitespace characters';
  it.each([
    ['.', 'interface name is . or ..', undefined],
    ['..', 'interface name is . or ..', undefined],
    ['abcdefghijklmnop', 'interface name is too long', 'interface name should be less than 16 characters'],
    ['ééééééééé', 'interface name is too long', 'interface name should be less than 16 characters'],
    ['net/1', SPACE, undefined],
    ['net:1', SPACE, undefined],
    ['net 1', SPACE, undefined],
    ['net\t1', SPACE, undefined],
    ['net\u00a01', SPACE, undefined],
    ['net\u30001', SPACE, undefined],
    ['net\u20281', SPACE, undefined],
  ])('rejects the ifname %j: %s', async (ifname, msg, details) => {
    for (const command of ['ADD', 'DEL', 'CHECK']) {
      const r = await runShim(shim, { env: cniEnv(command, { CNI_IFNAME: ifname }), stdin: conf });
      expect(r.code).toBe(1);
      expect(r.stdout.toString()).toBe(shimError('0.3.1', 4, msg, details));
    }
  });

  it('does not validate CNI_CONTAINERID or CNI_IFNAME for GC and STATUS', async () => {
    // They get past the checks and then wait for the (absent) daemon: code 11, not 4.
    for (const command of ['GC', 'STATUS']) {
      const env = cniEnv(command, {
        CNI_CONTAINERID: 'a%',
        CNI_IFNAME: 'a/b',
        MULTUS_SHIM_READY_TIMEOUT_MS: '150',
      });
      const r = await runShim(shim, { env, stdin: conf });
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout.toString())).toMatchObject({ code: 11 });
    }
  });

  it('refuses stdin over 1 MiB with code 7 before contacting anything', async () => {
    const big = Buffer.alloc(1024 * 1024 + 1, 0x20);
    const r = await runShim(shim, { env: cniEnv('ADD'), stdin: big });
    expect(r.code).toBe(1);
    expect(r.stdout.toString()).toBe(
      shimError('1.1.0', 7, 'network configuration too large', 'stdin is larger than 1048576 bytes'),
    );
  });

  it('gives up on a stdin that never ends (code 5) within the overall timeout', async () => {
    const r = await runShim(shim, {
      env: cniEnv('ADD', { MULTUS_SHIM_TIMEOUT_MS: '300' }),
      stdin: '{"cniVersion":',
      holdStdin: true,
    });
    expect(r.code).toBe(1);
    expect(r.stdout.toString()).toBe(shimError('1.1.0', 5, 'error reading from stdin', 'timed out'));
  });

  it.each([
    [{ daemonSocketDir: 42 }, 'daemonSocketDir must be a string'],
    [{ daemonSocketDir: ['/run'] }, 'daemonSocketDir must be a string'],
    [{ daemonSocketDir: '/run/\u0000x' }, 'daemonSocketDir is not a usable path'],
    [{ daemonSocketDir: `/${'d'.repeat(5000)}` }, 'daemonSocketDir is not a usable path'],
    [
      { daemonSocketDir: `/${'d'.repeat(100)}` },
      'daemonSocketDir is too long for a unix socket path (at most 107 bytes with /multus.sock)',
    ],
  ])('rejects the config %j with code 7', async (extra, details) => {
    const config = JSON.stringify({ cniVersion: '1.0.0', name: 'n', ...extra });
    const r = await runShim(shim, { env: cniEnv('ADD'), stdin: config });
    expect(r.code).toBe(1);
    expect(r.stdout.toString()).toBe(
      shimError('1.0.0', 7, 'invalid CNI configuration passed to multus-shim', details),
    );
  });

  it.each([
    ['{"cniVersion":"0.2.0"}', '0.2.0'],
    ['{"cniVersion":"0.2.0","cniVersion":"1.0.0"}', '1.0.0'], // the last duplicate wins
    ['{"cniVers\\u0069on":"0.3.0"}', '0.3.0'], // keys are compared unescaped
    ['{"nested":{"cniVersion":"0.2.0"}}', '1.1.0'], // only top-level keys count
    ['{"cniVersion":"0.2.0",}', '1.1.0'], // not JSON: nothing is trusted
    ['{"cniVersion":"0.2.0"} x', '1.1.0'],
    ['{"cniVersion":"1.0.0\\"x"}', '1.1.0'], // not a version: never echoed
    ['{"cniVersion":"99999999999999999"}', '1.1.0'],
    ['{"cniVersion":7}', '1.1.0'],
    ['[{"cniVersion":"0.2.0"}]', '1.1.0'],
    ['', '1.1.0'],
  ])('reads cniVersion for its errors from %j -> %s', async (config, version) => {
    const r = await runShim(shim, { env: cniEnv('ADD', { CNI_NETNS: '' }), stdin: config });
    expect(r.code).toBe(1);
    expect(r.stdout.toString()).toBe(shimError(version, 4, 'required env variables [CNI_NETNS] missing'));
  });

  it('starts with stdin, stdout and stderr closed without writing its reply into a socket', async () => {
    // With fd 0-2 closed the shim reopens them on /dev/null; it must still exit cleanly (no crash).
    const r = await runShim(shim, {
      env: { CNI_COMMAND: 'VERSION' },
      bashScript: 'exec "$0" <&- >&- 2>&-',
    });
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(0);
  });
});
