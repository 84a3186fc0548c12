// execPlugin against fake plugins that record what they receive: the exact environment and stdin, output caps,
// the timeout that kills the whole process group, error decoding, and the "text file busy" retry. Every case
// runs twice: with Node's child_process (directSpawner) and through the multus-spawn helper (HelperSpawner),
// which must behave the same.
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CNI_ENV_NAMES,
  directSpawner,
  type ExecPluginOptions,
  execPlugin as execPluginWith,
  HelperSpawner,
  PluginExecError,
  type Spawner,
} from '@multus-ts/cni';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { installFakePlugin, isAlive, RECORD_ENV, readCalls } from '../../support/fake-plugins/install.ts';
import { TestScope } from '../../support/netns.ts';
import { rejected } from './setup.ts';

afterAll(() => TestScope.cleanupAll());

const SPAWN_HELPER = join(import.meta.dirname, '../../../packages/shim/multus-spawn');

/** The helper binary is built by `make build`; a test that needs it fails when it is missing. */
function helperSpawner(): HelperSpawner {
  if (!existsSync(SPAWN_HELPER)) {
    throw new Error(`multus-spawn is missing at ${SPAWN_HELPER}: run \`make build\` first`);
  }
  return new HelperSpawner({
    helperPath: SPAWN_HELPER,
    onFallback: (reason) => {
      throw new Error(`HelperSpawner fell back to direct spawning: ${reason}`);
    },
  });
}

describe.each([
  ['direct (child_process)', () => directSpawner],
  ['multus-spawn helper', helperSpawner],
] as const)('execPlugin with fake plugins, spawner: %s', (_name, makeSpawner) => {
  let spawner: Spawner;
  const execPlugin = (opts: ExecPluginOptions) => execPluginWith({ ...opts, spawner });
  beforeAll(() => {
    spawner = makeSpawner();
  });
  afterAll(async () => {
    await spawner.close?.();
  });
  let scope: TestScope;
  let bin: string;
  let record: string;
  const base = { containerId: 'exec-c1', netns: '/run/netns/none', ifName: 'eth0' };

  beforeEach(async () => {
    scope = new TestScope();
    bin = await scope.tempDir('multus-ts-exec-');
    record = join(bin, 'calls.jsonl');
    for (const kind of ['recorder', 'fail', 'slow', 'garbage', 'flood'] as const) {
      await installFakePlugin(bin, kind, kind);
    }
    process.env[RECORD_ENV] = record;
    process.env['MULTUS_TS_TEST_SECRET'] = 'must-not-leak';
    scope.defer('env', () => {
      delete process.env[RECORD_ENV];
      delete process.env['MULTUS_TS_TEST_SECRET'];
    });
  });
  afterEach(async () => {
    await scope.cleanup();
  });

  it('gives the plugin exactly the CNI variables plus the pass-through list, and stdin byte for byte', async () => {
    const stdin = '{"cniVersion":"1.0.0","name":"n","type":"recorder","nested":{"a":[1,{"b":null}]}}';
    const r = await execPlugin({
      ...base,
      pluginPath: join(bin, 'recorder'),
      command: 'ADD',
      args: [
        ['IgnoreUnknown', 'true'],
        ['K8S_POD_NAME', 'web-0'],
      ],
      path: [bin, '/usr/lib/cni'],
      stdin,
      passEnv: ['PATH', RECORD_ENV],
    });
    expect(r.output).toMatchObject({ cniVersion: '1.0.0' });
    expect(r.attempts).toBe(1);
    const [call] = readCalls(record);
    expect(Object.keys(call!.env).sort()).toEqual([...CNI_ENV_NAMES, 'PATH', RECORD_ENV].sort());
    expect(call!.env).toMatchObject({
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'exec-c1',
      CNI_NETNS: '/run/netns/none',
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'IgnoreUnknown=true;K8S_POD_NAME=web-0',
      CNI_PATH: `${bin}:/usr/lib/cni`,
      PATH: process.env['PATH'],
    });
    expect(JSON.stringify(call!.stdin)).toBe(stdin);
  });

  it('starts the plugin from the process this spawner says (Node itself, or the helper)', async () => {
    const path = join(bin, 'ppid');
    await writeFile(path, '#!/bin/sh\nprintf \'{"cniVersion":"1.0.0","ppid":%s}\' "$PPID"\n');
    await chmod(path, 0o755);
    const r = await execPlugin({ ...base, pluginPath: path, command: 'ADD', stdin: '{}' });
    const expected = spawner instanceof HelperSpawner ? spawner.pid : process.pid;
    expect(expected).toBeTypeOf('number');
    expect(r.output).toEqual({ cniVersion: '1.0.0', ppid: expected });
  });

  it('passes nothing but CNI variables when the pass-through list is empty', async () => {
    await execPlugin({
      ...base,
      pluginPath: join(bin, 'recorder'),
      command: 'DEL',
      stdin: 'not json',
      passEnv: [],
    });
    // Without FAKE_CNI_RECORD the fake cannot even record: nothing reached the file.
    expect(readCalls(record)).toEqual([]);
    await execPlugin({
      ...base,
      pluginPath: join(bin, 'recorder'),
      command: 'DEL',
      stdin: 'not json',
      passEnv: [RECORD_ENV],
    });
    const [call] = readCalls(record);
    expect(Object.keys(call!.env).sort()).toEqual([...CNI_ENV_NAMES, RECORD_ENV].sort());
    expect(call!.stdin).toBe('not json');
  });

  it("returns the plugin's error JSON with its code, msg and details, and its stderr", async () => {
    const e = await rejected(
      execPlugin({
        ...base,
        pluginPath: join(bin, 'fail'),
        command: 'ADD',
        stdin: JSON.stringify({ code: 123, msg: 'no capacity', details: 'pool exhausted' }),
      }),
    );
    expect(e).toBeInstanceOf(PluginExecError);
    expect([e.code, e.msg, e.details]).toEqual([123, 'no capacity', 'pool exhausted']);
    expect(e.stderr).toBe('fake plugin fail: about to fail\n');
  });

  it('is code 6 for garbage on stdout with exit 0, and 999 with stderr in details with exit 3', async () => {
    const zero = await rejected(
      execPlugin({ ...base, pluginPath: join(bin, 'garbage'), command: 'ADD', stdin: '{}' }),
    );
    expect(zero.code).toBe(6);
    expect(zero.details).toContain('fake plugin garbage: here comes garbage');
    const three = await rejected(
      execPlugin({ ...base, pluginPath: join(bin, 'garbage'), command: 'ADD', stdin: '{"exitCode":3}' }),
    );
    expect(three.code).toBe(999);
    expect(three.msg).toMatch(/^netplugin failed: exit status 3/);
    expect(three.details).toContain('stderr: fake plugin garbage: here comes garbage');
  });

  it('kills a plugin that floods stdout or stderr past the cap (code 5)', async () => {
    const out = await rejected(
      execPlugin({
        ...base,
        pluginPath: join(bin, 'flood'),
        command: 'ADD',
        stdin: '{}',
        maxStdout: 64 * 1024,
      }),
    );
    expect(out.code).toBe(5);
    expect(out.msg).toContain('wrote more than 65536 bytes to stdout and was killed');
    const err = await rejected(
      execPlugin({
        ...base,
        pluginPath: join(bin, 'flood'),
        command: 'ADD',
        stdin: '{"stream":"stderr"}',
        maxStderr: 16 * 1024,
      }),
    );
    expect(err.code).toBe(5);
    expect(err.msg).toContain('to stderr');
  });

  it('kills the whole process group of a plugin that outlives its timeout (code 11)', async () => {
    const e = await rejected(
      execPlugin({
        ...base,
        pluginPath: join(bin, 'slow'),
        command: 'ADD',
        stdin: '{}',
        timeoutMs: 1500,
        passEnv: ['PATH', RECORD_ENV],
      }),
    );
    expect(e.code).toBe(11);
    expect(e.id).toBe('ERR_PLUGIN_TIMEOUT');
    expect(e.details).toBe('stderr: fake plugin slow: sleeping');
    const [call] = readCalls(record);
    const childPid = call!.extra?.['childPid'] as number;
    expect(typeof childPid).toBe('number');
    // The plugin is reaped by the time execPlugin returns; its own child (same group) got SIGKILL too.
    expect(isAlive(call!.pid)).toBe(false);
    for (let i = 0; i < 50 && isAlive(childPid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(isAlive(childPid)).toBe(false);
  });

  it('is code 5 when the plugin cannot be executed', async () => {
    const missing = await rejected(
      execPlugin({ ...base, pluginPath: join(bin, 'absent'), command: 'ADD', stdin: '' }),
    );
    expect(missing.code).toBe(5);
    expect(missing.msg).toContain('ENOENT');
    const plain = join(bin, 'not-executable');
    await writeFile(plain, '#!/bin/sh\nexit 0\n');
    await chmod(plain, 0o644);
    const denied = await rejected(execPlugin({ ...base, pluginPath: plain, command: 'ADD', stdin: '' }));
    expect(denied.code).toBe(5);
    expect(denied.msg).toContain('EACCES');
  });

  it('retries "text file busy" and succeeds once the writer closes the binary', async () => {
    const path = join(bin, 'busy');
    const fd = openSync(path, 'w', 0o755);
    writeSync(fd, '#!/bin/sh\necho \'{"cniVersion":"1.0.0"}\'\n');
    const closer = setTimeout(() => closeSync(fd), 300);
    try {
      const r = await execPlugin({
        ...base,
        pluginPath: path,
        command: 'VERSION',
        stdin: '',
        etxtbsyDelayMs: 100,
        etxtbsyRetries: 20,
      });
      expect(r.output).toEqual({ cniVersion: '1.0.0' });
      expect(r.attempts).toBeGreaterThan(1);
    } finally {
      clearTimeout(closer);
      try {
        closeSync(fd);
      } catch {
        // closed by the timer
      }
    }
  });

  it('gives up on "text file busy" after the retries (code 5)', async () => {
    const path = join(bin, 'busy2');
    const fd = openSync(path, 'w', 0o755);
    writeSync(fd, '#!/bin/sh\nexit 0\n');
    try {
      const e = await rejected(
        execPlugin({
          ...base,
          pluginPath: path,
          command: 'ADD',
          stdin: '',
          etxtbsyDelayMs: 10,
          etxtbsyRetries: 2,
        }),
      );
      expect(e.code).toBe(5);
      expect(e.msg).toContain('ETXTBSY');
      expect(e.details).toBe('after 3 attempts');
    } finally {
      closeSync(fd);
    }
  });
});
