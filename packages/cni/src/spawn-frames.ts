// The frames HelperSpawner exchanges with multus-spawn (layouts: packages/shim/src/spawn-proto.h). Pure: the
// encoder turns a SpawnRequest into one request frame, the reader turns the helper's stdout, in chunks split
// anywhere, into result frames and refuses anything malformed (the helper is then treated as lost).
import { constants as osConstants } from 'node:os';
import type { SpawnRequest } from './spawner.ts';

/** The helper's limits: a larger request frame, or a larger output cap, is not sent to it. */
export const SPAWN_FRAME_MAX = 64 * 1024 * 1024;
export const SPAWN_OUTPUT_MAX = 256 * 1024 * 1024;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
/** id, timeoutMs, maxStdout, maxStderr, drainGraceMs, argc, envc. */
const REQUEST_FIXED = 24;
/** id, kind, value, stopped, stdoutLen, stderrLen. */
const RESULT_FIXED = 18;
/** Node's setTimeout treats delays outside 1..2^31-1 as 1 ms; the helper gets the delay Node would use. */
const TIMER_MAX = 2 ** 31 - 1;

export const ResultKind = { ExecFailed: 0, Exited: 1, Signaled: 2 } as const;
export const StopCode = { None: 0, Timeout: 1, Stdout: 2, Stderr: 3 } as const;

export interface ResultFrame {
  id: number;
  kind: (typeof ResultKind)[keyof typeof ResultKind];
  /** errno, exit status or signal number, by kind. */
  value: number;
  stopped: (typeof StopCode)[keyof typeof StopCode];
  stdout: Buffer;
  stderr: Buffer;
}

/** Thrown by ResultFrameReader for bytes that are not a result frame. */
export class SpawnProtocolError extends Error {
  override readonly name = 'SpawnProtocolError';
}

export function normalizeTimeout(ms: number): number {
  return ms >= 1 && ms <= TIMER_MAX ? Math.ceil(ms) : 1;
}

/**
 * One request frame, or a string saying why the helper cannot take this request (the caller then runs it
 * another way, so the answer stays what Node's spawn would give: e.g. a NUL inside a string).
 */
export function encodeSpawnRequest(id: number, req: SpawnRequest): Buffer | string {
  const strings = (list: readonly string[]) => list.map((s) => Buffer.from(`${s}\0`, 'utf8'));
  const env = Object.entries(req.env).filter(([, v]) => typeof v === 'string');
  const all = [req.file, ...req.args, ...env.flat()];
  if (all.some((s) => s.includes('\0'))) return 'a string contains NUL';
  if (req.args.length + 1 > U16_MAX || env.length > U16_MAX) return 'too many arguments or variables';
  if (!(req.maxStdout <= SPAWN_OUTPUT_MAX && req.maxStderr <= SPAWN_OUTPUT_MAX))
    return 'output caps too large';
  const parts = [...strings([req.file, req.file, ...req.args]), ...strings(env.map(([k, v]) => `${k}=${v}`))];
  const stringBytes = parts.reduce((n, p) => n + p.length, 0);
  const bodyLen = REQUEST_FIXED + stringBytes + 4 + req.stdin.length;
  if (bodyLen > SPAWN_FRAME_MAX) return 'request too large';
  const out = Buffer.allocUnsafe(4 + bodyLen);
  let off = out.writeUInt32LE(bodyLen, 0);
  off = out.writeUInt32LE(id >>> 0, off);
  off = out.writeUInt32LE(normalizeTimeout(req.timeoutMs), off);
  off = out.writeUInt32LE(clampU32(req.maxStdout), off);
  off = out.writeUInt32LE(clampU32(req.maxStderr), off);
  off = out.writeUInt32LE(clampU32(req.drainGraceMs ?? 500), off);
  off = out.writeUInt16LE(req.args.length + 1, off);
  off = out.writeUInt16LE(env.length, off);
  for (const p of parts) off += p.copy(out, off);
  off = out.writeUInt32LE(req.stdin.length, off);
  out.set(req.stdin, off);
  return out;
}

function clampU32(n: number): number {
  return Number.isFinite(n) ? Math.min(U32_MAX, Math.max(0, Math.floor(n))) : 0;
}

/** Incremental reader of result frames: push() each chunk of the helper's stdout as it arrives. */
export class ResultFrameReader {
  readonly #maxFrame: number;
  #chunks: Buffer[] = [];
  #size = 0;
  /** Length of the frame at the head, prefix included, once its prefix has arrived. */
  #need: number | undefined;

  constructor(maxOutput = SPAWN_OUTPUT_MAX) {
    this.#maxFrame = RESULT_FIXED + 2 * maxOutput;
  }

  /** Bytes received that do not yet form a whole frame. */
  get buffered(): number {
    return this.#size;
  }

  /** The frames completed by this chunk, in order. Throws SpawnProtocolError on a malformed frame. */
  push(chunk: Buffer): ResultFrame[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#size += chunk.length;
    }
    const frames: ResultFrame[] = [];
    for (;;) {
      if (this.#need === undefined) {
        if (this.#size < 4) break;
        const len = this.#take(4, false).readUInt32LE(0);
        if (len < RESULT_FIXED || len > this.#maxFrame) {
          throw new SpawnProtocolError(
            `result frame length ${len} is outside ${RESULT_FIXED}..${this.#maxFrame}`,
          );
        }
        this.#need = 4 + len;
      }
      if (this.#size < this.#need) break;
      const frame = this.#take(this.#need, true);
      this.#need = undefined;
      frames.push(decodeResultBody(frame.subarray(4)));
    }
    return frames;
  }

  /** The first n buffered bytes as one buffer; consumed when `consume`. */
  #take(n: number, consume: boolean): Buffer {
    const first = this.#chunks[0]!;
    let head: Buffer;
    if (first.length >= n) {
      head = first.subarray(0, n);
    } else {
      let have = 0;
      let count = 0;
      while (have < n) have += this.#chunks[count++]!.length;
      const joined = Buffer.concat(this.#chunks.slice(0, count));
      this.#chunks.splice(0, count, joined);
      head = joined.subarray(0, n);
    }
    if (consume) {
      const rest = this.#chunks[0]!.subarray(n);
      if (rest.length > 0) this.#chunks[0] = rest;
      else this.#chunks.shift();
      this.#size -= n;
    }
    return head;
  }
}

function decodeResultBody(body: Buffer): ResultFrame {
  const id = body.readUInt32LE(0);
  const kind = body.readUInt8(4);
  const value = body.readInt32LE(5);
  const stopped = body.readUInt8(9);
  if (kind > ResultKind.Signaled) throw new SpawnProtocolError(`result ${id}: unknown kind ${kind}`);
  if (stopped > StopCode.Stderr) throw new SpawnProtocolError(`result ${id}: unknown stop reason ${stopped}`);
  const outLen = body.readUInt32LE(10);
  if (outLen > body.length - RESULT_FIXED)
    throw new SpawnProtocolError(`result ${id}: stdout runs past the frame`);
  const errLen = body.readUInt32LE(14 + outLen);
  if (errLen !== body.length - RESULT_FIXED - outLen) {
    throw new SpawnProtocolError(`result ${id}: stderr length ${errLen} does not match the frame`);
  }
  return {
    id,
    kind: kind as ResultFrame['kind'],
    value,
    stopped: stopped as ResultFrame['stopped'],
    stdout: body.subarray(14, 14 + outLen),
    stderr: body.subarray(RESULT_FIXED + outLen),
  };
}

/** number -> name; of aliases (EAGAIN/EWOULDBLOCK, SIGABRT/SIGIOT, SIGIO/SIGPOLL) the first, the one Node uses. */
function reverse(table: Readonly<Record<string, number>>): Map<number, string> {
  const names = new Map<number, string>();
  for (const [name, n] of Object.entries(table)) if (!names.has(n)) names.set(n, name);
  return names;
}
const errnoNames = reverse(osConstants.errno);
const signalNames = reverse(osConstants.signals);

/** errno number -> Node's code name (ENOENT, ETXTBSY, ...). */
export function errnoName(n: number): string {
  return errnoNames.get(n) ?? `E${n}`;
}

/** signal number -> name (SIGKILL, ...). */
export function signalName(n: number): NodeJS.Signals {
  return (signalNames.get(n) ?? `SIG${n}`) as NodeJS.Signals;
}

/** The error Node's spawn gives for a failed exec, rebuilt from the helper's errno. */
export function spawnError(req: SpawnRequest, errno: number): NodeJS.ErrnoException {
  const code = errnoName(errno);
  const err: NodeJS.ErrnoException & { spawnargs?: string[] } = new Error(`spawn ${req.file} ${code}`);
  err.errno = -errno;
  err.code = code;
  err.syscall = `spawn ${req.file}`;
  err.path = req.file;
  err.spawnargs = [...req.args];
  return err;
}
