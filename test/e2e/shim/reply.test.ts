// How multus-shim turns the daemon's HTTP reply into CNI output: our daemon's raw replies (marked with
// X-Multus-Ts-Output: raw) are printed byte for byte; upstream's {"Result":...} and error replies are
// translated; framing (length, chunked, close), interim 1xx, huge, truncated and garbage replies.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeDaemon, rawReply, startFakeDaemon, upstreamReply } from '../../support/fake-daemon.ts';
import { buildShim, cniEnv, runShim, SHIM_BINARIES, shimConfig, shimError } from './harness.ts';

const MiB = 1024 * 1024;
const RESULT = {
  cniVersion: '1.1.0',
  interfaces: [{ name: 'eth0', mac: '0a:58:0a:01:01:05', sandbox: '/var/run/netns/test-ns' }],
  ips: [{ address: '10.1.1.5/24', gateway: '10.1.1.1', interface: 0 }],
  routes: [{ dst: '0.0.0.0/0', gw: '10.1.1.1' }],
};

describe.each(SHIM_BINARIES)('multus-shim ($name) reply handling', (shim) => {
  let daemon: FakeDaemon;
  let conf: string;
  const run = (command = 'ADD') => runShim(shim, { env: cniEnv(command), stdin: conf });

  beforeAll(async () => {
    daemon = await startFakeDaemon(); // first, so afterAll can stop it even when the build fails
    buildShim(shim);
    conf = shimConfig(daemon.dir, '0.4.0');
  });
  afterAll(() => daemon.close());
  beforeEach(() => daemon.reset());

  describe('from our daemon (raw)', () => {
    it('prints a 200 body byte for byte, whatever the bytes, and exits 0', async () => {
      const body = Buffer.concat([
        Buffer.from('{"cniVersion":"0.4.0","x":"é"}'),
        Buffer.from([0xff, 0, 0x0a]),
      ]);
      daemon.route('/cni', rawReply(200, body));
      const r = await run();
      expect(r.code).toBe(0);
      expect(r.stdout.equals(body)).toBe(true);
    });

    it('prints a non-200 body (a CNI error) byte for byte with its own code, and exits 1', async () => {
      for (const status of [400, 500]) {
        const body = '{"cniVersion":"0.4.0","code":101,"msg":"delegate failed","details":"x"}';
        daemon.route('/cni', rawReply(status, body));
        const r = await run();
        expect(r.code).toBe(1);
        expect(r.stdout.toString()).toBe(body);
      }
    });

    it('reports a non-200 reply with an empty body as its own error 999', async () => {
      daemon.route('/cni', rawReply(400, ''));
      const r = await run();
      expect(r.code).toBe(1);
      expect(r.stdout.toString()).toBe(
        shimError('0.4.0', 999, 'invalid reply from the multus daemon', 'HTTP 400 with an empty body'),
      );
    });

    it.each([
      ['chunked in 7-byte pieces', { framing: 'chunked', chunkSize: 7 }],
      ['chunked in one piece', { framing: 'chunked', chunkSize: 1 << 30 }],
      ['delimited by the close', { framing: 'close' }],
    ] as const)('reads a body %s', async (_name, framing) => {
      const body = JSON.stringify({ ...RESULT, pad: 'p'.repeat(20_000) });
      daemon.route('/cni', { ...rawReply(200, body), ...framing });
      const r = await run();
      expect(r.code).toBe(0);
      expect(r.stdout.toString()).toBe(body);
    });

    it('skips an interim 100 Continue', async () => {
      const bytes =
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-Multus-Ts-Output: RAW\r\nContent-Length: 5\r\n\r\nhello';
      daemon.route('/cni', { kind: 'bytes', bytes });
      const r = await run();
      expect(r.code).toBe(0);
      expect(r.stdout.toString()).toBe('hello');
    });

    it.each(['length', 'chunked', 'close'] as const)(
      'prints a 4 MiB body (%s framing) in full',
      async (framing) => {
        const body = Buffer.alloc(4 * MiB, 'r');
        daemon.route('/cni', { ...rawReply(200, body), framing, chunkSize: 64 * 1024 });
        const r = await run();
        expect(r.code).toBe(0);
        expect(r.stdout.length).toBe(4 * MiB);
        expect(r.stdout.equals(body)).toBe(true);
      },
    );

    it.each(['length', 'chunked', 'close'] as const)(
      'refuses a body over 4 MiB (%s framing)',
      async (framing) => {
        daemon.route('/cni', {
          ...rawReply(200, Buffer.alloc(4 * MiB + 1, 'r')),
          framing,
          chunkSize: 64 * 1024,
        });
        const r = await run();
        expect(r.code).toBe(1);
        expect(JSON.parse(r.stdout.toString())).toMatchObject({
          cniVersion: '0.4.0',
          code: 999,
          msg: 'reply from the multus daemon is too large',
        });
      },
    );
  });

  describe('garbage and broken replies', () => {
    it.each([
      ['not HTTP', 'hello world\r\n\r\n'],
      ['a bad status', 'HTTP/1.1 2x0 OK\r\n\r\n'],
      ['a bad header', 'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n'],
      ['a bad Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'],
      ['two Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'],
      ['gzip', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx'],
      ['a bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n'],
      ['a protocol switch', 'HTTP/1.1 101 Switching Protocols\r\n\r\n'],
      ['binary noise', Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) & 0xff))],
      ['an endless head', `HTTP/1.1 200 OK\r\nX-Long: ${'h'.repeat(70_000)}\r\n\r\n`],
    ])('reports %s as error 999', async (_name, bytes) => {
      daemon.route('/cni', { kind: 'bytes', bytes });
      const r = await run();
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout.toString())).toMatchObject({ cniVersion: '0.4.0', code: 999 });
    });

    it.each([
      ['no reply at all', { kind: 'close' } as const],
      ['half a head', { kind: 'bytes', bytes: 'HTTP/1.1 200 OK\r\nContent-' } as const],
      [
        'a short body',
        { kind: 'bytes', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"cni' } as const,
      ],
      [
        'an unfinished chunked body',
        { kind: 'bytes', bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab' } as const,
      ],
    ])('reports %s as "try again later" (11)', async (_name, reply) => {
      daemon.route('/cni', reply);
      const r = await run();
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout.toString())).toMatchObject({
        code: 11,
        msg: 'multus daemon went away, try again later',
      });
    });
  });

  describe("from upstream's daemon (no raw header)", () => {
    it('prints the Result object of an ADD as sent (cniVersion 1.1.0, no conversion)', async () => {
      const result = JSON.stringify(RESULT);
      daemon.route('/cni', upstreamReply(200, `{"Result":${result}}`, 'text/plain; charset=utf-8'));
      const r = await run();
      expect(r.code).toBe(0);
      expect(r.stdout.toString()).toBe(`${result}\n`);
    });

    it('reads a chunked Result (Go chunks bodies over 2 KiB)', async () => {
      const result = JSON.stringify({
        ...RESULT,
        dns: { search: Array.from({ length: 300 }, (_, i) => `d${i}.example`) },
      });
      daemon.route('/cni', {
        ...upstreamReply(200, ` {"Result" : ${result} }\n`),
        framing: 'chunked',
        chunkSize: 2048,
      });
      const r = await run();
      expect(r.code).toBe(0);
      expect(r.stdout.toString()).toBe(`${result}\n`);
    });

    it('prints nothing for a 200 to DEL, CHECK, GC and STATUS', async () => {
      for (const command of ['DEL', 'CHECK', 'GC', 'STATUS']) {
        daemon.route('/cni', upstreamReply(200, command === 'CHECK' ? '{"Result":null}' : ''));
        const r = await runShim(shim, { env: cniEnv(command), stdin: shimConfig(daemon.dir, '1.1.0') });
        expect(r.code).toBe(0);
        expect(r.stdout.length).toBe(0);
      }
    });

    it.each(['', 'null', '{}', '{"Result":null}', '{"Result":[1]}', '{"Result":{}', '{"result":{}}'])(
      'reports the ADD reply %j as error 999',
      async (body) => {
        daemon.route('/cni', upstreamReply(200, body));
        const r = await run();
        expect(r.code).toBe(1);
        expect(r.stdout.toString()).toBe(
          shimError(
            '0.4.0',
            999,
            'invalid reply from the multus daemon',
            'HTTP 200 without a "Result" object',
          ),
        );
      },
    );

    it('prints a typed CNI error with its code, adding the config cniVersion', async () => {
      daemon.route('/cni', upstreamReply(400, '{"code":51,"msg":"plugin not available","details":"d"}'));
      const r = await run('STATUS');
      expect(r.code).toBe(1);
      expect(r.stdout.toString()).toBe(
        '{"cniVersion":"0.4.0","code":51,"msg":"plugin not available","details":"d"}\n',
      );
    });

    it('keeps every field and the layout of a typed error, and an existing cniVersion', async () => {
      const pretty = '{\n    "code": 7,\n    "msg": "bad",\n    "extra": [1]\n}\n';
      daemon.route('/cni', upstreamReply(400, pretty));
      const r = await run();
      expect(r.stdout.toString()).toBe(
        '{"cniVersion":"0.4.0",\n    "code": 7,\n    "msg": "bad",\n    "extra": [1]\n}\n',
      );
      const own = '{"cniVersion":"1.0.0","code":4,"msg":"m"}';
      daemon.route('/cni', upstreamReply(400, own));
      const again = await run();
      expect(again.code).toBe(1);
      expect(again.stdout.toString()).toBe(`${own}\n`);
    });

    it.each([
      [
        400,
        'ContainerID:"c0ffee1234" Netns:"" IfName:"eth0" Args:"" Path:"" ERRORED: boom\n',
        'ContainerID:"c0ffee1234" Netns:"" IfName:"eth0" Args:"" Path:"" ERRORED: boom',
      ],
      [400, '{"code":7,"msg":""}', '{"code":7,"msg":""}'],
      [400, '{"code":-7,"msg":"negative"}', '{"code":-7,"msg":"negative"}'],
      [400, '{"code":7.5,"msg":"fraction"}', '{"code":7.5,"msg":"fraction"}'],
      [400, 'bad \u0001 ctl "quoted" é', 'bad \u0001 ctl "quoted" é'],
      [404, '404 page not found\n', '404 page not found'],
      [405, 'Method not allowed\n', 'Method not allowed'],
    ])('turns HTTP %i with %j into its own error 999 carrying the text', async (status, body, msg) => {
      daemon.route('/cni', upstreamReply(status, body, 'text/plain; charset=utf-8'));
      const r = await run();
      expect(r.code).toBe(1);
      expect(r.stdout.toString()).toBe(
        shimError('0.4.0', 999, msg, `the multus daemon answered HTTP ${status}`),
      );
    });

    it('reports an empty error reply by its status', async () => {
      daemon.route('/cni', upstreamReply(500, ''));
      const r = await run('DEL');
      expect(r.code).toBe(1);
      expect(r.stdout.toString()).toBe(shimError('0.4.0', 999, 'the multus daemon answered HTTP 500'));
    });
  });
});
