// What multus-shim sends: the readiness probe, then POST /cni with exactly upstream's body
// {"env":{...the whole environment...},"config":"<base64 of stdin>"}, decoded and compared here.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type FakeDaemon,
  type RecordedRequest,
  rawReply,
  startFakeDaemon,
} from '../../support/fake-daemon.ts';
import { buildShim, cniEnv, runShim, SHIM_BINARIES, shimConfig } from './harness.ts';

interface WireBody {
  env: Record<string, string>;
  config: string;
}

function cniRequest(daemon: FakeDaemon): RecordedRequest {
  const req = daemon.requests.find((r) => r.path === '/cni');
  if (!req) throw new Error(`no POST /cni among ${daemon.requests.map((r) => r.path).join(', ')}`);
  return req;
}

function wireBody(req: RecordedRequest): WireBody {
  return JSON.parse(req.body.toString('utf8')) as WireBody;
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

describe.each(SHIM_BINARIES)('multus-shim ($name) request', (shim) => {
  let daemon: FakeDaemon;
  beforeAll(async () => {
    daemon = await startFakeDaemon(); // first, so afterAll can stop it even when the build fails
    buildShim(shim);
  });
  afterAll(() => daemon.close());
  beforeEach(() => daemon.reset());

  it('sends POST /cni straight away with the agreed head, for ADD, CHECK, GC and STATUS', async () => {
    for (const command of ['ADD', 'CHECK', 'GC', 'STATUS']) {
      daemon.reset();
      const conf = shimConfig(daemon.dir, '1.1.0');
      const r = await runShim(shim, { env: cniEnv(command), stdin: conf });
      expect(r.code).toBe(0);
      expect(daemon.requests.map((q) => `${q.method} ${q.path}`)).toEqual(['POST /cni']);
      const [cni] = daemon.requests as [RecordedRequest];
      expect(cni.head).toBe(
        [
          'POST /cni HTTP/1.1',
          'Host: dummy',
          'Content-Type: application/json',
          `Content-Length: ${cni.body.length}`,
          'Connection: close',
          'X-Multus-Ts-Output: raw',
        ].join('\r\n'),
      );
      expect(wireBody(cni).env.CNI_COMMAND).toBe(command);
    }
  });

  it("probes /readyz (upstream's wire form: POST, body null) only after the daemon said it is draining", async () => {
    let cniCalls = 0;
    daemon.route('/cni', () => (++cniCalls === 1 ? rawReply(503, '') : rawReply(200, '')));
    const r = await runShim(shim, { env: cniEnv('CHECK'), stdin: shimConfig(daemon.dir) });
    expect(r.code).toBe(0);
    expect(daemon.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      'POST /cni',
      'POST /readyz',
      'POST /cni',
    ]);
    const ready = daemon.requests[1]!;
    expect(ready.body.toString()).toBe('null');
    expect(ready.headers['content-type']).toBe('application/json');
  });

  it('DEL goes straight to /cni, so it goes through while the daemon drains (/readyz 500)', async () => {
    daemon.route('/readyz', { kind: 'http', status: 500 });
    const r = await runShim(shim, { env: cniEnv('DEL'), stdin: shimConfig(daemon.dir) });
    expect(r.code).toBe(0);
    expect(daemon.requests.map((q) => q.path)).toEqual(['/cni']);
  });

  it('sends the complete environment, keys sorted, and stdin as padded standard base64', async () => {
    const env = cniEnv('ADD', { HOME: '/root', LANG: 'C.UTF-8', Z_LAST: 'z', a_lower: 'lower', EMPTY: '' });
    const conf = shimConfig(daemon.dir, '0.3.1', { clusterNetwork: '/etc/cni/net.d/10-x.conflist' });
    const r = await runShim(shim, { env, stdin: conf });
    expect(r.code).toBe(0);
    const raw = cniRequest(daemon).body.toString('utf8');
    expect(raw.startsWith('{"env":{"')).toBe(true);
    const body = wireBody(cniRequest(daemon));
    expect(Object.keys(body)).toEqual(['env', 'config']);
    expect(body.env).toEqual(env);
    expect(Object.keys(body.env)).toEqual(Object.keys(env).sort(byteOrder));
    expect(body.config).toBe(Buffer.from(conf).toString('base64'));
    expect(body.config).toMatch(/^[A-Za-z0-9+/]*={0,2}$/);
  });

  it('JSON-escapes quotes, backslashes, control characters and U+2028/U+2029, and keeps UTF-8', async () => {
    const env = cniEnv('ADD', {
      QUOTES: 'say "hi" \\ back\\slash /',
      CONTROL: 'nl\n cr\r tab\t bs\b ff\f one\u0001 esc\u001b us\u001f del\u007f',
      UNICODE: 'é ü 中文 😀 \u2028 \u2029',
      'KEY"WITH\\ODD\u0002': 'v',
    });
    const r = await runShim(shim, { env, stdin: shimConfig(daemon.dir) });
    expect(r.code).toBe(0);
    const raw = cniRequest(daemon).body.toString('utf8');
    for (const escaped of [
      '\\"hi\\"',
      '\\\\',
      '\\n',
      '\\r',
      '\\t',
      '\\b',
      '\\f',
      '\\u0001',
      '\\u001b',
      '\\u2028',
    ]) {
      expect(raw).toContain(escaped);
    }
    expect(raw).toContain('中文 😀'); // valid UTF-8 is sent as it is
    expect(wireBody(cniRequest(daemon)).env).toEqual(env);
  });

  it('replaces each byte of invalid UTF-8 in names and values with U+FFFD, as encoding/json does', async () => {
    const script = `exec env "BAD_VALUE=$(printf 'a\\377b\\300\\200c\\355\\240\\200d')" "$(printf 'BAD\\376KEY')=x" "$0"`;
    const r = await runShim(shim, { env: cniEnv('ADD'), stdin: shimConfig(daemon.dir), bashScript: script });
    expect(r.code).toBe(0);
    const env = wireBody(cniRequest(daemon)).env;
    expect(env.BAD_VALUE).toBe('a\ufffdb\ufffd\ufffdc\ufffd\ufffd\ufffdd');
    expect(env['BAD\ufffdKEY']).toBe('x');
  }, 20_000);

  it('trims white space around names and keeps the first of duplicate names, the one getenv() sees', async () => {
    const env = { ' SPACED\t': 'kept as is ', ' DUP': 'first', DUP: 'second', ...cniEnv('ADD') };
    const r = await runShim(shim, { env, stdin: shimConfig(daemon.dir) });
    expect(r.code).toBe(0);
    const sent = wireBody(cniRequest(daemon)).env;
    expect(sent.SPACED).toBe('kept as is ');
    expect(sent.DUP).toBe('first');
    expect(Object.keys(sent).filter((k) => k === 'DUP')).toHaveLength(1);
  });

  it('round-trips stdin byte for byte through base64, including bytes that are not UTF-8', async () => {
    const high = Buffer.from(Array.from({ length: 128 }, (_, i) => 0x80 + i));
    for (const tail of [0, 1, 2]) {
      // valid JSON (encoding/json tolerates raw non-UTF-8 bytes in strings); lengths cover every padding
      const stdin = Buffer.concat([
        Buffer.from(`{"daemonSocketDir":${JSON.stringify(daemon.dir)},"blob":"`),
        high,
        Buffer.from(`"${' '.repeat(tail)}}`),
      ]);
      daemon.reset();
      const r = await runShim(shim, { env: cniEnv('ADD'), stdin });
      expect(r.code).toBe(0);
      expect(Buffer.from(wireBody(cniRequest(daemon)).config, 'base64').equals(stdin)).toBe(true);
    }
  });

  it('forwards a config of exactly 1 MiB untouched', async () => {
    const head = shimConfig(daemon.dir);
    const stdin = Buffer.alloc(1024 * 1024, 0x20);
    stdin.write(head);
    const r = await runShim(shim, { env: cniEnv('ADD'), stdin });
    expect(r.code).toBe(0);
    expect(Buffer.from(wireBody(cniRequest(daemon)).config, 'base64').equals(stdin)).toBe(true);
  });

  it('sends the daemon reply for every command (raw mode) and the request CNI_COMMAND', async () => {
    for (const command of ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS']) {
      daemon.reset();
      daemon.route('/cni', rawReply(200, `reply for ${command}`));
      const r = await runShim(shim, { env: cniEnv(command), stdin: shimConfig(daemon.dir, '1.1.0') });
      expect(r.code).toBe(0);
      expect(r.stdout.toString()).toBe(`reply for ${command}`);
      expect(wireBody(cniRequest(daemon)).env.CNI_COMMAND).toBe(command);
    }
  });
});
