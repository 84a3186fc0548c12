import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeSpawnRequest,
  errnoName,
  normalizeTimeout,
  type ResultFrame,
  ResultFrameReader,
  SPAWN_FRAME_MAX,
  SPAWN_OUTPUT_MAX,
  SpawnProtocolError,
  signalName,
  spawnError,
} from './spawn-frames.ts';
import type { SpawnRequest } from './spawner.ts';

interface FrameSpec {
  id: number;
  kind: number;
  value: number;
  stopped: number;
  stdout: Buffer;
  stderr: Buffer;
}

/** A result frame as multus-spawn writes it; `lie` overrides individual header fields. */
function resultFrame(
  f: FrameSpec,
  lie: { frameLen?: number; outLen?: number; errLen?: number } = {},
): Buffer {
  const head = Buffer.alloc(18);
  head.writeUInt32LE(lie.frameLen ?? 18 + f.stdout.length + f.stderr.length, 0);
  head.writeUInt32LE(f.id, 4);
  head.writeUInt8(f.kind, 8);
  head.writeInt32LE(f.value, 9);
  head.writeUInt8(f.stopped, 13);
  head.writeUInt32LE(lie.outLen ?? f.stdout.length, 14);
  const errLen = Buffer.alloc(4);
  errLen.writeUInt32LE(lie.errLen ?? f.stderr.length);
  return Buffer.concat([head, f.stdout, errLen, f.stderr]);
}

const plain = (f: ResultFrame) => ({
  ...f,
  stdout: f.stdout.toString('hex'),
  stderr: f.stderr.toString('hex'),
});
const spec = (over: Partial<FrameSpec> = {}): FrameSpec => ({
  id: 7,
  kind: 1,
  value: 0,
  stopped: 0,
  stdout: Buffer.from('{"cniVersion":"1.0.0"}'),
  stderr: Buffer.from('warning\n'),
  ...over,
});

describe('ResultFrameReader', () => {
  it('decodes a frame that arrives in one chunk', () => {
    const [f, ...rest] = new ResultFrameReader().push(resultFrame(spec({ kind: 2, value: 9, stopped: 1 })));
    expect(rest).toEqual([]);
    expect(plain(f!)).toEqual(plain({ ...spec(), kind: 2, value: 9, stopped: 1 } as ResultFrame));
  });

  it('gives the same frames however the bytes are split into chunks', () => {
    const frameArb = fc.record({
      id: fc.nat({ max: 0xffffffff }),
      kind: fc.constantFrom(0, 1, 2),
      value: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      stopped: fc.constantFrom(0, 1, 2, 3),
      stdout: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
      stderr: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    });
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (frames, cuts) => {
          const bytes = Buffer.concat(frames.map((f) => resultFrame(f)));
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const reader = new ResultFrameReader();
          const got: ResultFrame[] = [];
          let from = 0;
          for (const p of [...points, bytes.length]) {
            got.push(...reader.push(bytes.subarray(from, p)));
            from = p;
          }
          expect(got.map(plain)).toEqual(frames.map((f) => plain(f as ResultFrame)));
          expect(reader.buffered).toBe(0);
        },
      ),
    );
  });

  it('returns every whole frame of a chunk and keeps the partial one for later', () => {
    const a = resultFrame(spec({ id: 1 }));
    const b = resultFrame(spec({ id: 2, stdout: Buffer.alloc(0) }));
    const c = resultFrame(spec({ id: 3, stderr: Buffer.alloc(70_000, 'e') }));
    const reader = new ResultFrameReader();
    const all = Buffer.concat([a, b, c]);
    const cut = a.length + b.length + 5;
    expect(reader.push(all.subarray(0, cut)).map((f) => f.id)).toEqual([1, 2]);
    expect(reader.buffered).toBe(5);
    expect(reader.push(all.subarray(cut, all.length - 1))).toEqual([]);
    const [last] = reader.push(all.subarray(all.length - 1));
    expect([last?.id, last?.stderr.length]).toEqual([3, 70_000]);
  });

  it('decodes byte by byte', () => {
    const bytes = resultFrame(spec({ id: 42 }));
    const reader = new ResultFrameReader();
    const ids: number[] = [];
    for (let i = 0; i < bytes.length; i++)
      ids.push(...reader.push(bytes.subarray(i, i + 1)).map((f) => f.id));
    expect(ids).toEqual([42]);
  });

  it('refuses hostile lengths as soon as the prefix arrives, without waiting for the bytes', () => {
    const tooLong = Buffer.alloc(4);
    tooLong.writeUInt32LE(0xffffffff);
    expect(() => new ResultFrameReader().push(tooLong)).toThrow(SpawnProtocolError);
    const overCaps = Buffer.alloc(4);
    overCaps.writeUInt32LE(18 + 2 * SPAWN_OUTPUT_MAX + 1);
    expect(() => new ResultFrameReader().push(overCaps)).toThrow(/outside 18\.\./);
    const small = new ResultFrameReader(1000);
    expect(() => small.push(resultFrame(spec({ stdout: Buffer.alloc(2000) })))).toThrow(SpawnProtocolError);
    for (const frameLen of [0, 1, 17]) {
      expect(() => new ResultFrameReader().push(resultFrame(spec(), { frameLen }))).toThrow(/outside/);
    }
  });

  it('refuses frames whose parts do not add up, and unknown kinds or stop reasons', () => {
    const cases: [Buffer, RegExp][] = [
      [resultFrame(spec(), { outLen: 10_000 }), /stdout runs past the frame/],
      [resultFrame(spec(), { outLen: 0xffffffff }), /stdout runs past the frame/],
      [resultFrame(spec(), { errLen: 3 }), /stderr length 3 does not match/],
      [resultFrame(spec(), { errLen: 9 }), /stderr length 9 does not match/],
      [resultFrame(spec({ kind: 3 })), /unknown kind 3/],
      [resultFrame(spec({ stopped: 4 })), /unknown stop reason 4/],
    ];
    for (const [bytes, why] of cases) expect(() => new ResultFrameReader().push(bytes)).toThrow(why);
  });
});

const req = (over: Partial<SpawnRequest> = {}): SpawnRequest => ({
  file: '/opt/cni/bin/bridge',
  args: ['a', 'b'],
  env: { CNI_COMMAND: 'ADD', PATH: '/usr/bin' },
  stdin: Buffer.from('{"x":1}'),
  timeoutMs: 1500,
  maxStdout: 4096,
  maxStderr: 1024,
  ...over,
});

describe('encodeSpawnRequest', () => {
  it('lays out the header, path, argv (argv[0] = file), env and stdin as spawn-proto.h says', () => {
    const frame = encodeSpawnRequest(9, req({ drainGraceMs: 250 })) as Buffer;
    expect(Buffer.isBuffer(frame)).toBe(true);
    expect(frame.readUInt32LE(0)).toBe(frame.length - 4);
    const header = [4, 8, 12, 16, 20].map((o) => frame.readUInt32LE(o));
    expect(header).toEqual([9, 1500, 4096, 1024, 250]);
    expect([frame.readUInt16LE(24), frame.readUInt16LE(26)]).toEqual([3, 2]);
    const strings = frame
      .subarray(28, frame.length - 11)
      .toString()
      .split('\0');
    expect(strings).toEqual([
      '/opt/cni/bin/bridge',
      '/opt/cni/bin/bridge',
      'a',
      'b',
      'CNI_COMMAND=ADD',
      'PATH=/usr/bin',
      '',
    ]);
    expect(frame.readUInt32LE(frame.length - 11)).toBe(7);
    expect(frame.subarray(frame.length - 7).toString()).toBe('{"x":1}');
  });

  it('sends the delay Node would use and the default drain grace', () => {
    const timeoutOf = (timeoutMs: number) =>
      (encodeSpawnRequest(1, req({ timeoutMs })) as Buffer).readUInt32LE(8);
    expect([timeoutOf(1500), timeoutOf(0.2), timeoutOf(2.5), timeoutOf(-5), timeoutOf(Number.NaN)]).toEqual([
      1500, 1, 3, 1, 1,
    ]);
    expect(timeoutOf(2 ** 31)).toBe(1);
    expect(normalizeTimeout(2 ** 31 - 1)).toBe(2 ** 31 - 1);
    expect((encodeSpawnRequest(1, req()) as Buffer).readUInt32LE(20)).toBe(500);
  });

  it('says why instead of encoding what the helper cannot take', () => {
    expect(encodeSpawnRequest(1, req({ file: '/bin/x\0y' }))).toBe('a string contains NUL');
    expect(encodeSpawnRequest(1, req({ env: { A: 'b\0c' } }))).toBe('a string contains NUL');
    expect(encodeSpawnRequest(1, req({ args: Array(0xffff).fill('') }))).toBe(
      'too many arguments or variables',
    );
    expect(encodeSpawnRequest(1, req({ maxStdout: SPAWN_OUTPUT_MAX + 1 }))).toBe('output caps too large');
    expect(encodeSpawnRequest(1, req({ maxStderr: Number.POSITIVE_INFINITY }))).toBe('output caps too large');
    expect(encodeSpawnRequest(1, req({ stdin: new Uint8Array(SPAWN_FRAME_MAX) }))).toBe('request too large');
  });
});

describe('errno and signal names', () => {
  it("maps numbers to Node's names and rebuilds Node's spawn error", () => {
    expect([errnoName(2), errnoName(13), errnoName(26), errnoName(99999)]).toEqual([
      'ENOENT',
      'EACCES',
      'ETXTBSY',
      'E99999',
    ]);
    expect([errnoName(11), errnoName(95)]).toEqual(['EAGAIN', 'ENOTSUP']);
    expect([signalName(9), signalName(15), signalName(200)]).toEqual(['SIGKILL', 'SIGTERM', 'SIG200']);
    expect([signalName(6), signalName(29)]).toEqual(['SIGABRT', 'SIGIO']);
    const e = spawnError(req(), 26);
    expect([e.message, e.code, e.errno, e.syscall, e.path]).toEqual([
      'spawn /opt/cni/bin/bridge ETXTBSY',
      'ETXTBSY',
      -26,
      'spawn /opt/cni/bin/bridge',
      '/opt/cni/bin/bridge',
    ]);
  });
});
