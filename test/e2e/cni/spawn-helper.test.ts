// The multus-spawn helper through HelperSpawner (many children at once, large stdin, leaky and hanging children,
// exec failures, what children inherit, the helper dying, fallback, close), against the release binary and the
// ASan/UBSan build; and the binary fed malformed request frames directly.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { chmod, copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  directSpawner,
  encodeSpawnRequest,
  HelperSpawner,
  ResultFrameReader,
  type SpawnOutcome,
  type SpawnRequest,
} from '@multus-ts/cni';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAlive } from '../../support/fake-plugins/install.ts';
import { TestScope } from '../../support/netns.ts';
import { rejected } from './setup.ts';

const SHIM_DIR = join(import.meta.dirname, '../../../packages/shim');
const RELEASE = join(SHIM_DIR, 'multus-spawn');
const ASAN = join(SHIM_DIR, 'build/multus-spawn-asan');

afterAll(() => TestScope.cleanupAll());

/** The release binary comes from `make build`; the ASan build is made here (make is incremental). */
function binaries(): { name: string; path: string }[] {
  if (!existsSync(RELEASE))
    throw new Error(`multus-spawn is missing at ${RELEASE}: run \`make build\` first`);
  execFileSync('make', ['-s', '-C', SHIM_DIR, 'asan-spawn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (!existsSync(ASAN)) throw new Error(`make asan-spawn did not produce ${ASAN}`);
  return [
    { name: 'release', path: RELEASE },
    { name: 'asan+ubsan', path: ASAN },
  ];
}
const BINARIES = binaries();

const SH = '/bin/sh';
function request(args: string[], over: Partial<SpawnRequest> = {}): SpawnRequest {
  return {
    file: SH,
    args: ['-c', ...args],
    env: { PATH: '/usr/bin:/bin' },
    stdin: new Uint8Array(),
    timeoutMs: 20_000,
    maxStdout: 1 << 20,
    maxStderr: 1 << 20,
    ...over,
  };
}

async function finished(p: Promise<SpawnOutcome | NodeJS.ErrnoException>): Promise<SpawnOutcome> {
  const r = await p;
  if (r instanceof Error) throw r;
  return r;
}

async function waitFor(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Cleanup of what a test started: the process, and its group when it leads one. */
function killProcess(pid: number): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // not a group leader, or gone already
    }
  }
}

describe.each(BINARIES)('HelperSpawner with the $name binary', ({ path: helperPath }) => {
  let scope: TestScope;
  let dir: string;
  let logs: string[];
  let fallbacks: string[];
  let spawner: HelperSpawner;

  beforeEach(async () => {
    scope = new TestScope();
    dir = await scope.tempDir('multus-ts-spawn-');
    logs = [];
    fallbacks = [];
    spawner = new HelperSpawner({
      helperPath,
      onLog: (l) => logs.push(l),
      onFallback: (r) => fallbacks.push(r),
    });
    scope.defer('spawner', () => spawner.close());
  });
  afterEach(async () => {
    await scope.cleanup();
    // the helper says nothing on stderr unless something is wrong (a sanitizer report, above all)
    expect(logs).toEqual([]);
    expect(fallbacks).toEqual([]);
  });

  it('runs 200 children at once, each with its own environment, stdin and output', async () => {
    const runs = Array.from({ length: 200 }, (_, i) =>
      finished(
        spawner.run(
          request(['read line; printf "%s:%s" "$N" "$line"'], {
            env: { N: String(i) },
            stdin: Buffer.from(`line-${i}\n`),
          }),
        ),
      ),
    );
    const pid = spawner.pid;
    expect(pid).toBeTypeOf('number');
    const outcomes = await Promise.all(runs);
    outcomes.forEach((o, i) => {
      expect([o.exitCode, o.signal, o.stdout.toString(), o.stopped]).toEqual([
        0,
        null,
        `${i}:line-${i}`,
        undefined,
      ]);
    });
    expect(spawner.pid).toBe(pid);
  });

  it('writes a 4 MiB stdin in full, and survives a child that never reads it', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
    const echoed = await finished(
      spawner.run({ ...request([]), file: '/bin/cat', args: [], stdin: big, maxStdout: 8 << 20 }),
    );
    expect(echoed.exitCode).toBe(0);
    expect(echoed.stdout.equals(big)).toBe(true);
    let slowDone = false;
    const slow = finished(spawner.run(request(['sleep 1; exit 3'], { stdin: big }))).then((o) => {
      slowDone = true;
      return o;
    });
    // the helper keeps serving others while that child's stdin pipe is full
    const quick = await finished(spawner.run(request(['echo quick'])));
    expect([quick.stdout.toString(), slowDone]).toEqual(['quick\n', false]);
    expect((await slow).exitCode).toBe(3);
  });

  it('closes the pipes drainGraceMs after the child exits when a grandchild keeps them open', async () => {
    const started = Date.now();
    const o = await finished(spawner.run(request(['sleep 30 & echo $!'], { drainGraceMs: 300 })));
    const grandchild = Number(o.stdout.toString());
    scope.defer('grandchild', () => killProcess(grandchild));
    expect([o.exitCode, o.stopped]).toEqual([0, undefined]);
    expect(Date.now() - started).toBeLessThan(15_000);
    // the grace period only gives up on the pipes: the grandchild itself is left alone, as with child_process
    expect(isAlive(grandchild)).toBe(true);
  });

  it('kills the whole process group on timeout and keeps what was read', async () => {
    const o = await finished(spawner.run(request(['sleep 30 & echo $!; wait'], { timeoutMs: 500 })));
    const grandchild = Number(o.stdout.toString());
    scope.defer('grandchild', () => killProcess(grandchild));
    expect([o.stopped, o.signal, o.exitCode]).toEqual([{ kind: 'timeout' }, 'SIGKILL', null]);
    expect(grandchild).toBeGreaterThan(1);
    await waitFor('the grandchild to die', () => !isAlive(grandchild));
  });

  it('stops a child at the output cap and reports which stream', async () => {
    const o = await finished(
      spawner.run(request(['head -c 100000 /dev/zero; sleep 30'], { maxStdout: 1000 })),
    );
    expect([o.stopped, o.signal, o.stdout.length]).toEqual([
      { kind: 'overflow', stream: 'stdout', max: 1000 },
      'SIGKILL',
      1000,
    ]);
    const e = await finished(
      spawner.run(request(['echo out; head -c 5000 /dev/zero >&2; sleep 30'], { maxStderr: 4096 })),
    );
    expect(e.stopped).toEqual({ kind: 'overflow', stream: 'stderr', max: 4096 });
    // exactly the cap is fine
    const exact = await finished(spawner.run(request(['head -c 1000 /dev/zero'], { maxStdout: 1000 })));
    expect([exact.stopped, exact.exitCode, exact.stdout.length]).toEqual([undefined, 0, 1000]);
  });

  it('reports exec failures with the errno code child_process gives (ENOENT, EACCES, ETXTBSY)', async () => {
    const busy = join(dir, 'busy');
    const fd = openSync(busy, 'w', 0o755);
    writeSync(fd, '#!/bin/sh\nexit 0\n');
    scope.defer('busy fd', () => closeSync(fd));
    const sub = join(dir, 'sub');
    await mkdir(sub);
    for (const [file, code] of [
      [join(dir, 'absent'), 'ENOENT'],
      [sub, 'EACCES'],
      [busy, 'ETXTBSY'],
    ] as const) {
      const viaHelper = await spawner.run({ ...request([]), file, args: ['x'] });
      const viaNode = await directSpawner.run({ ...request([]), file, args: ['x'] });
      expect(viaHelper).toBeInstanceOf(Error);
      expect(viaNode).toBeInstanceOf(Error);
      const h = viaHelper as NodeJS.ErrnoException;
      expect([h.code, h.message, h.path]).toEqual([code, `spawn ${file} ${code}`, file]);
      expect(h.errno).toBe((viaNode as NodeJS.ErrnoException).errno);
      expect((viaNode as NodeJS.ErrnoException).code).toBe(code);
    }
  });

  it('runs a script without #! under /bin/sh, as child_process does', async () => {
    const script = join(dir, 'plain');
    await writeFile(script, 'echo "plain $1"\n');
    await chmod(script, 0o755);
    const req = { ...request([]), file: script, args: ['arg'] };
    const viaHelper = await finished(spawner.run(req));
    const viaNode = await finished(directSpawner.run(req));
    expect([viaHelper.exitCode, viaHelper.stdout.toString()]).toEqual([0, 'plain arg\n']);
    expect(viaHelper.stdout.toString()).toBe(viaNode.stdout.toString());
  });

  it('resets signals the helper itself inherited as ignored (plain and real-time), which exec would keep', async () => {
    const wrapper = join(dir, 'ignoring-helper');
    await writeFile(wrapper, `#!/bin/bash\ntrap '' HUP USR1 PIPE 40 50\nexec ${helperPath}\n`);
    await chmod(wrapper, 0o755);
    const ignoring = new HelperSpawner({ helperPath: wrapper });
    scope.defer('ignoring spawner', () => ignoring.close());
    const helperStatus = () => readFileSync(`/proc/${ignoring.pid}/status`, 'utf8');
    const status = await finished(
      ignoring.run({ ...request([]), file: '/bin/cat', args: ['/proc/self/status'] }),
    );
    // the helper does run with them ignored...
    const ign = BigInt(`0x${/^SigIgn:\s*(\S+)/m.exec(helperStatus())?.[1]}`);
    for (const sig of [1, 10, 13, 40, 50]) expect((ign >> BigInt(sig - 1)) & 1n).toBe(1n);
    // ...and its child has none
    expect(/^SigIgn:\s*(\S+)/m.exec(status.stdout.toString())?.[1]).toBe('0000000000000000');
  });

  it('gives children no ignored or blocked signals, a session of their own, and no extra descriptors', async () => {
    const status = await finished(
      spawner.run({ ...request([]), file: '/bin/cat', args: ['/proc/self/status'] }),
    );
    const field = (name: string) =>
      new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(status.stdout.toString())?.[1];
    expect([field('SigIgn'), field('SigBlk')]).toEqual(['0000000000000000', '0000000000000000']);
    // ps-free session check: field 6 of /proc/self/stat is the session id, field 1 the pid
    const stat = await finished(spawner.run({ ...request([]), file: '/bin/cat', args: ['/proc/self/stat'] }));
    const fields = stat.stdout.toString().split(') ')[1]!.split(' ');
    expect(fields[3]).toBe(stat.stdout.toString().split(' ')[0]); // session id == pid: setsid() ran
    // 20 at once, so sibling pipes exist in the helper while each child lists its descriptors
    const listings = await Promise.all(
      Array.from({ length: 20 }, () =>
        finished(
          spawner.run({ ...request([]), file: '/bin/ls', args: ['/proc/self/fd'], stdin: Buffer.alloc(1) }),
        ),
      ),
    );
    for (const l of listings)
      expect(l.stdout.toString().trim().split('\n').sort()).toEqual(['0', '1', '2', '3']);
  });

  it('fails runs in flight with code 11 when the helper is killed, and restarts it for the next run', async () => {
    const marker = join(dir, 'pid');
    const inFlight = spawner.run(request([`echo $$ > ${marker}; exec sleep 30`]));
    await waitFor(
      'the child to start',
      () => existsSync(marker) && readFileSync(marker, 'utf8').endsWith('\n'),
    );
    const orphan = Number(readFileSync(marker, 'utf8'));
    scope.defer('orphan', () => killProcess(orphan));
    const first = spawner.pid!;
    process.kill(first, 'SIGKILL');
    const e = await rejected(inFlight);
    expect([e.code, e.id]).toEqual([11, 'ERR_SPAWN_HELPER_LOST']);
    expect(e.details).toContain('was killed by SIGKILL');
    const next = await finished(spawner.run(request(['echo again'])));
    expect(next.stdout.toString()).toBe('again\n');
    expect(spawner.pid).not.toBe(first);
    expect(spawner.fallbackReason).toBeUndefined();
  });

  it('close() lets runs in flight finish, then leaves no helper process', async () => {
    await finished(spawner.run(request(['true'])));
    const pid = spawner.pid!;
    const last = spawner.run(request(['sleep 0.3; echo last']));
    await spawner.close();
    expect((await finished(last)).stdout.toString()).toBe('last\n');
    expect(isAlive(pid)).toBe(false);
    expect(spawner.pid).toBeUndefined();
  });
});

describe('HelperSpawner without a usable helper', () => {
  it('falls back to direct spawning for good and says so once', async () => {
    const scope = new TestScope();
    try {
      const dir = await scope.tempDir('multus-ts-spawn-');
      const notExecutable = join(dir, 'multus-spawn');
      await writeFile(notExecutable, '#!/bin/sh\n');
      for (const [helperPath, code] of [
        [join(dir, 'absent'), 'ENOENT'],
        [notExecutable, 'EACCES'],
      ] as const) {
        const reasons: string[] = [];
        const spawner = new HelperSpawner({ helperPath, onFallback: (r) => reasons.push(r) });
        for (const word of ['one', 'two']) {
          expect((await finished(spawner.run(request([`echo ${word}`])))).stdout.toString()).toBe(
            `${word}\n`,
          );
        }
        expect(reasons).toEqual([`cannot start ${helperPath}: ${code}`]);
        expect(spawner.pid).toBeUndefined();
        await spawner.close();
      }
    } finally {
      await scope.cleanup();
    }
  });
});

describe('HelperSpawner with a helper that misbehaves', () => {
  let scope: TestScope;
  let helperPath: string;
  beforeEach(async () => {
    scope = new TestScope();
    helperPath = join(await scope.tempDir('multus-ts-spawn-'), 'multus-spawn');
  });
  afterEach(() => scope.cleanup());
  const fakeHelper = async (body: string) => {
    await writeFile(helperPath, `#!/bin/sh\n${body}\n`);
    await chmod(helperPath, 0o755);
  };

  it('treats output that is not a result frame as a lost helper (code 11), and restarts it', async () => {
    await fakeHelper("printf 'garbage!'; exec /bin/cat >/dev/null");
    const spawner = new HelperSpawner({ helperPath });
    scope.defer('spawner', () => spawner.close());
    const e = await rejected(spawner.run(request(['echo x'])));
    expect([e.code, e.id]).toEqual([11, 'ERR_SPAWN_HELPER_LOST']);
    expect(e.details).toMatch(/wrote an invalid result frame \(result frame length \d+ is outside/);
    await copyFile(RELEASE, helperPath);
    const next = await finished(spawner.run(request(['echo restarted'])));
    expect(next.stdout.toString()).toBe('restarted\n');
  });

  it('treats an answer to a request it never got as a lost helper', async () => {
    // a well-formed result frame for id 999: frameLen 18, id, kind 1, value 0, stopped 0, two empty strings
    const frame = '\\022\\000\\000\\000\\347\\003\\000\\000\\001' + '\\000'.repeat(13);
    await fakeHelper(`printf '${frame}'; exec /bin/cat >/dev/null`);
    const spawner = new HelperSpawner({ helperPath });
    scope.defer('spawner', () => spawner.close());
    const e = await rejected(spawner.run(request(['echo x'])));
    expect([e.code, e.details]).toEqual([11, `${helperPath} answered unknown request 999`]);
  });

  it('falls back to direct spawning after three helpers in a row die before answering', async () => {
    await fakeHelper('exit 1');
    const reasons: string[] = [];
    const spawner = new HelperSpawner({ helperPath, onFallback: (r) => reasons.push(r) });
    for (let i = 0; i < 3; i++) {
      const e = await rejected(spawner.run(request(['echo x'])));
      expect([e.code, e.details]).toEqual([11, `${helperPath} exited with status 1`]);
    }
    expect(reasons).toEqual([
      `3 helpers in a row died before answering; the last: ${helperPath} exited with status 1`,
    ]);
    expect((await finished(spawner.run(request(['echo direct'])))).stdout.toString()).toBe('direct\n');
    expect(reasons).toHaveLength(1);
  });
});

describe.each(BINARIES)('the $name binary fed malformed request frames', ({ path: binary }) => {
  const valid = encodeSpawnRequest(1, request(['echo hi'], { stdin: Buffer.from('abc') })) as Buffer;
  /** The valid frame with its body changed in place (or extended), its length prefix fixed to match. */
  const withBody = (mutate: (body: Buffer) => void, extra = Buffer.alloc(0)): Buffer => {
    const body = Buffer.from(valid.subarray(4));
    mutate(body);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(body.length + extra.length);
    return Buffer.concat([len, body, extra]);
  };
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  };
  let seed = 12345;
  const garbage = Buffer.alloc(4096);
  for (let i = 0; i < garbage.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    garbage[i] = seed >>> 24;
  }
  garbage.writeUInt32LE(200, 0); // a plausible length, then noise

  const cases: [string, Buffer, RegExp][] = [
    ['a frame cut short by EOF', valid.subarray(0, valid.length - 3), /input ends inside a frame/],
    ['EOF inside the length prefix', valid.subarray(0, 2), /input ends inside a frame/],
    ['argc 0', withBody((b) => b.writeUInt16LE(0, 20)), /argc is 0/],
    ['argc past the end', withBody((b) => b.writeUInt16LE(500, 20)), /argv runs past the end|env runs past/],
    ['envc past the end', withBody((b) => b.writeUInt16LE(9, 22)), /env runs past the end/],
    ['no NUL anywhere', Buffer.concat([u32(40), Buffer.alloc(24, 1), Buffer.alloc(16, 0x41)]), /argc|NUL/],
    [
      'frameLen over the cap',
      Buffer.concat([u32(64 * 1024 * 1024 + 1), Buffer.alloc(64)]),
      /over the 64 MiB/,
    ],
    ['frameLen below the minimum', Buffer.concat([u32(5), Buffer.alloc(5)]), /shorter than the smallest/],
    ['stdinLen past the end', withBody((b) => b.writeUInt32LE(99, b.length - 7)), /stdin runs past/],
    ['bytes after stdin', withBody(() => {}, Buffer.from('xyz')), /trailing bytes/],
    ['maxStdout over the limit', withBody((b) => b.writeUInt32LE(0x40000000, 8)), /over the 256 MiB/],
    ['garbage', garbage, /malformed request frame/],
  ];

  it.each(cases)('%s: one line on stderr, exit 2, no output', (_name, input, why) => {
    const r = spawnSync(binary, [], { input, timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stdout.length).toBe(0);
    const stderr = r.stderr.toString();
    expect(stderr).toMatch(/^multus-spawn: malformed request frame: [^\n]+\n$/);
    expect(stderr).toMatch(why);
  });

  it('answers a valid frame and exits 0 at EOF', () => {
    const r = spawnSync(binary, [], { input: valid, timeout: 20_000 });
    expect([r.status, r.stderr.toString()]).toEqual([0, '']);
    const frames = new ResultFrameReader().push(r.stdout);
    expect(frames.map((f) => [f.id, f.kind, f.value, f.stopped, f.stdout.toString()])).toEqual([
      [1, 1, 0, 0, 'hi\n'],
    ]);
  });
});
