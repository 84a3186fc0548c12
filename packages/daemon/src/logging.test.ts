import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createLogger,
  type LogSettings,
  pinoLevel,
  requestFields,
  rotationPolicy,
  scrubSecrets,
  withRequestContext,
} from './logging.ts';
import type { CniCall } from './server/wire.ts';

const MB = 1024 * 1024;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), `mts-log-${process.pid}-`));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

function capture() {
  const lines: string[] = [];
  return {
    lines,
    json: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    stream: {
      write(s: string) {
        lines.push(s);
      },
    },
  };
}

function logger(over: Partial<LogSettings> = {}) {
  const out = capture();
  const log = createLogger({ level: 'debug', logToStderr: true, stderr: out.stream, ...over });
  return { log, out };
}

const flushed = (log: Logger) => new Promise<void>((resolve) => log.flush(() => resolve()));

function call(over: Partial<CniCall> = {}): CniCall {
  return {
    command: 'ADD',
    containerId: 'abc123',
    netns: '/var/run/netns/x',
    ifName: 'eth0',
    args: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=team-a;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc123',
    env: { SECRET_TOKEN: 'do-not-log' },
    config: Buffer.from('{"cniVersion":"0.3.1","name":"multus-cni-network","type":"multus-shim"}'),
    interfaceAttributes: undefined,
    ...over,
  };
}

describe('log levels', () => {
  it('maps upstream names (any case) onto pino levels', () => {
    expect(pinoLevel('debug')).toBe('debug');
    expect(pinoLevel('VERBOSE')).toBe('info');
    // upstream prints its warnings at the error level
    expect(pinoLevel('Error')).toBe('warn');
    expect(pinoLevel('panic')).toBe('fatal');
    expect(pinoLevel('')).toBe('info');
    expect(pinoLevel('trace')).toBe('info');
    expect(pinoLevel('silent')).toBe('info');
  });

  it('filters lines by the mapped level', () => {
    const emitted = (level: string) => {
      const { log, out } = logger({ level });
      log.debug({}, 'd');
      log.info({}, 'i');
      log.warn({}, 'w');
      log.error({}, 'e');
      log.fatal({}, 'f');
      return out.json().map((l) => l['msg']);
    };
    expect(emitted('debug')).toEqual(['d', 'i', 'w', 'e', 'f']);
    expect(emitted('verbose')).toEqual(['i', 'w', 'e', 'f']);
    expect(emitted('error')).toEqual(['w', 'e', 'f']);
    expect(emitted('panic')).toEqual(['f']);
  });

  it('writes NDJSON with an ISO time and a level name', () => {
    const { log, out } = logger();
    log.info({ a: 1 }, 'hello');
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]!.endsWith('\n')).toBe(true);
    const line = out.json()[0]!;
    expect(line).toMatchObject({ level: 'info', msg: 'hello', a: 1, component: 'multus-daemon' });
    expect(String(line['time'])).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});

describe('destinations', () => {
  it('logs nothing with logToStderr false and no logFile (upstream daemon default)', () => {
    const { log, out } = logger({ logToStderr: false });
    log.error({}, 'lost');
    expect(out.lines).toEqual([]);
    expect(log.isLevelEnabled('error')).toBe(false);
  });

  it('writes to logFile, and to both when stderr is on; flush waits for the file', async () => {
    const file = join(dir, 'sub', 'multus.log');
    const { log, out } = logger({ logFile: file });
    log.info({}, 'both');
    await flushed(log);
    const onlyFile = createLogger({ level: 'verbose', logToStderr: false, logFile: file });
    onlyFile.info({}, 'file only');
    onlyFile.debug({}, 'filtered');
    await flushed(onlyFile);
    const fileLines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).msg);
    expect(fileLines).toEqual(['both', 'file only']);
    expect(out.json().map((l) => l['msg'])).toEqual(['both']);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('no line is lost at shutdown: after flush every line is in the file, whole', async () => {
    const file = join(dir, 'multus.log');
    const { log, out } = logger({ logFile: file });
    for (let i = 0; i < 2000; i++) log.info({ i }, 'burst');
    await flushed(log);
    const inFile = readFileSync(file, 'utf8').trim().split('\n');
    expect(inFile.map((l) => JSON.parse(l).i)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(out.lines).toHaveLength(2000);
  });

  it('rotates the logFile as logOptions say (rotating-file-stream underneath)', async () => {
    const file = join(dir, 'multus.log');
    const log = createLogger({
      level: 'verbose',
      logToStderr: false,
      logFile: file,
      logOptions: { maxSize: 1, maxBackups: 1, compress: false },
    });
    const pad = 'x'.repeat(1000);
    for (let i = 0; i < 2600; i++) log.info({ i, pad }, 'filler');
    await flushed(log);
    const names = readdirSync(dir).sort();
    // the file, one backup (maxBackups 1) and the library's list of backups
    expect(names).toHaveLength(3);
    expect(names).toContain('multus.log.history');
    expect(names.filter((n) => /^multus-.*\.log$/.test(n))).toHaveLength(1);
    expect(statSync(file).size).toBeLessThan(MB + 2048);
    expect(rotationPolicy({ maxSize: 1, maxBackups: 1, compress: false })).toMatchObject({ maxBytes: MB });
  });

  it('a log file that cannot be written never fails the caller', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const file = join(dir, 'multus.log', 'below-a-file.log');
    const { log, out } = logger({ logFile: join(dir, 'multus.log') });
    log.info({}, 'creates the file');
    await flushed(log);
    const broken = createLogger({ level: 'debug', logToStderr: false, logFile: file });
    expect(() => {
      for (let i = 0; i < 100; i++) broken.error({ i }, 'lost');
    }).not.toThrow();
    await flushed(broken);
    await new Promise((r) => setImmediate(r));
    expect(stderr).toHaveBeenCalledTimes(1);
    expect(String(stderr.mock.calls[0]?.[0])).toMatch(/log file .*below-a-file\.log: .*ENOTDIR/);
    expect(out.lines).toHaveLength(1);
  });
});

describe('request context', () => {
  it('every line logged while handling a request names it, without duplicating bound keys', async () => {
    const { log, out } = logger();
    await withRequestContext(call(), async () => {
      log.info({}, 'plain');
      await new Promise((r) => setTimeout(r, 1));
      const child = log.child({ containerID: 'abc123', command: 'ADD' });
      child.info({}, 'engine line');
      child.child({ pod: 'team-a/web-0', network: 'macvlan-net', ifname: 'net1' }).info({}, 'delegate line');
      log.info({ ifname: 'net2' }, 'explicit wins');
    });
    log.info({}, 'outside');
    const lines = out.json();
    expect(lines[0]).toMatchObject({
      containerID: 'abc123',
      command: 'ADD',
      pod: 'team-a/web-0',
      ifname: 'eth0',
      network: 'multus-cni-network',
    });
    expect(lines[1]).toMatchObject({ containerID: 'abc123', pod: 'team-a/web-0', ifname: 'eth0' });
    expect(lines[2]).toMatchObject({ network: 'macvlan-net', ifname: 'net1', containerID: 'abc123' });
    expect(lines[3]).toMatchObject({ ifname: 'net2', containerID: 'abc123' });
    expect(lines[4]).not.toHaveProperty('containerID');
    for (const raw of out.lines) {
      const keys = [...raw.matchAll(/"([A-Za-z]+)":/g)].map((m) => m[1]);
      expect(keys.length, raw).toBe(new Set(keys).size);
    }
  });

  it('reads what it can from a malformed request', () => {
    expect(requestFields(call({ args: 'garbage;;=;K8S_POD_NAME', config: Buffer.from('not json') }))).toEqual(
      {
        command: 'ADD',
        containerID: 'abc123',
        ifname: 'eth0',
      },
    );
    expect(requestFields(call({ args: 'K8S_POD_NAME=only', containerId: '' }))).toMatchObject({
      pod: '/only',
    });
    const long = requestFields(
      call({
        containerId: 'c'.repeat(5000),
        config: Buffer.from(JSON.stringify({ name: 'n'.repeat(5000) })),
      }),
    );
    expect(long['containerID']!.length).toBeLessThan(300);
    expect(long['network']!.length).toBeLessThan(300);
    const huge = Buffer.from(JSON.stringify({ name: 'big', pad: 'p'.repeat(2 * MB) }));
    expect(requestFields(call({ config: huge }))).not.toHaveProperty('network');
    expect(requestFields(call({ config: Buffer.from('[1,2]') }))).not.toHaveProperty('network');
  });
});

describe('secrets', () => {
  const kubeconfig = [
    'apiVersion: v1',
    'users:',
    '- name: multus',
    '  user:',
    '    token: sekret-token-1',
    '    client-key-data: c2VrcmV0LWtleS0y',
    '    client-certificate-data: c2VrcmV0LWNlcnQtMw==',
  ].join('\n');
  const jwt = 'eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJlLXNla3JldA';
  const pem =
    '-----BEGIN RSA PRIVATE KEY-----\nTUlJRXBBSUJBQUtDQVFFQXNla3JldA==\n-----END RSA PRIVATE KEY-----';
  const secrets = [
    'sekret-token-1',
    'c2VrcmV0LWtleS0y',
    'c2VrcmV0LWNlcnQtMw',
    'sekret-bearer-4',
    'sekret-msg-5',
    'sekret-header-6',
    'sekret-nested-7',
    'do-not-log',
    'c2lnbmF0dXJlLXNla3JldA',
    'TUlJRXBBSUJBQUtDQVFFQXNla3JldA',
    'sekret-pw-8',
    'sekret-yaml-9',
  ];

  it('never logs tokens, Authorization, kubeconfig contents, keys or the request environment', () => {
    const { log, out } = logger();
    log.info(
      {
        token: 'sekret-token-1',
        kubeconfig,
        headers: { Authorization: 'Bearer sekret-header-6', accept: 'application/json' },
        user: { password: 'sekret-pw-8' },
        deeper: { a: { token: 'sekret-nested-7' } },
        env: { SECRET_TOKEN: 'do-not-log' },
        err: `request failed: Authorization: Bearer sekret-bearer-4 (${jwt})`,
        stderr: `loading ${kubeconfig}\n${pem}`,
        config: '{"name":"x","token":"sekret-yaml-9","type":"bridge"}',
        pod: 'team-a/web-0',
      },
      'using token=sekret-msg-5',
    );
    log.child({ token: 'sekret-token-1' }).info({}, 'child');
    expect(out.lines).toHaveLength(2);
    const all = out.lines.join('');
    for (const s of secrets) expect(all, s).not.toContain(s);
    const line = out.json()[0]!;
    expect(line).toMatchObject({ pod: 'team-a/web-0', token: '[redacted]', msg: 'using token=[redacted]' });
    expect((line['headers'] as Record<string, unknown>)['accept']).toBe('application/json');
    expect(String(line['stderr'])).toContain('[redacted private key]');
    expect(String(line['config'])).toContain('"type":"bridge"');
  });

  it('scrubbing keeps ordinary text and valid JSON', () => {
    const text = JSON.stringify({
      msg: 'tokens: 3 parsed, secretName ok, Bearer',
      path: '/var/run/secrets/x',
    });
    expect(scrubSecrets(text)).toBe(text);
    const nasty = JSON.stringify({ token: 'a"b\\c', note: 'password="pw1"', basic: 'basic setup' });
    const scrubbed = scrubSecrets(nasty);
    expect(JSON.parse(scrubbed)).toEqual({
      token: '[redacted]',
      note: 'password="[redacted]"',
      basic: 'basic setup',
    });
  });
});
