// Fuzzed `/cni` and `/delegate` bodies against the real daemon socket (fast-check): raw bytes, and structured
// bodies built from the wire format with hostile environments and mutated 00-multus.conf configs. Every request
// gets HTTP 200 or a 400 with a CNI error whose code is an exact one (never 999, "internal", from the daemon
// itself), the daemon never crashes or hangs, and nothing is left behind. Bounded in `make test`; >= 10^5 bodies
// under `make soak` (RELIABILITY_SOAK=1). FUZZ_SEED=<n> replays a run.
//
// Safety: CNI_NETNS is never a namespace that exists (a delegate could otherwise configure it), and the configs
// name no plugin but the cluster network's, so a fuzzed ADD can only fail or return an empty result.
import { existsSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeHarness, type SandboxRef } from '../../support/daemon-harness.ts';
import { TestScope } from '../../support/netns.ts';
import {
  expectDaemonAlive,
  expectNetnsGone,
  expectNoLeaks,
  postRaw,
  SOAK,
  scaled,
  wireBody,
} from './support.ts';

const RUNS = scaled(150, 50_000);
const SEED = Number(process.env['FUZZ_SEED'] ?? (SOAK ? Date.now() % 2 ** 31 : 20_241_122));
/** Exact codes: the spec's (1-7, 11) and ours (100+). 999 only when a delegate plugin itself said so. */
const EXACT = new Set([1, 2, 3, 4, 5, 6, 7, 11]);
const HEAP_MIB = 64;

let h: NodeHarness;
let target: SandboxRef;
let multusConf: Record<string, unknown>;
const stats = { requests: 0, byCode: new Map<string, number>() };

beforeAll(async () => {
  // A small V8 heap: a request that leaks memory makes the daemon die of OOM, which the checks below catch (RSS
  // alone says little: V8 collects lazily).
  h = await NodeHarness.start({
    cniVersion: '1.0.0',
    daemonConfig: { logLevel: 'error' },
    nodeArgs: [`--max-old-space-size=${HEAP_MIB}`],
  });
  target = await h.createPod({ name: 'fuzz-target' });
  multusConf = JSON.parse(await h.multusConf()) as Record<string, unknown>;
});
afterAll(async () => {
  process.stdout.write(
    `fuzz: seed ${SEED}, ${stats.requests} requests, codes ${JSON.stringify(Object.fromEntries(stats.byCode))}\n`,
  );
  await h?.stop();
  await TestScope.cleanupAll();
  if (target) expectNetnsGone([target]);
});

function rssKiB(): number {
  const status = readFileSync(`/proc/${h.daemon?.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

const hostileText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '..',
    '../../etc',
    '/',
    'a/b',
    '\u0000',
    ';',
    '=',
    'a=b;c',
    '\ud800',
    '\uffff',
    '-rf',
  ),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ minLength: 300, maxLength: 70_000, unit: fc.constantFrom('a', ';', '=') }),
);

const command = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION') },
  { weight: 1, arbitrary: hostileText },
);

const cniArgs = fc.oneof(
  { weight: 3, arbitrary: fc.constant('IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=fuzz-target') },
  fc
    .array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom('K8S_POD_NAMESPACE', 'K8S_POD_NAME', 'K8S_POD_UID', 'IgnoreUnknown', 'IP'),
          hostileText,
        ),
        fc.oneof(fc.constantFrom('default', 'fuzz-target', '10.1.2.3', '1'), hostileText),
      ),
      { maxLength: 6 },
    )
    .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join(';')),
  hostileText,
);

const containerId = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[a-z0-9]{1,64}$/) },
  { weight: 1, arbitrary: hostileText },
);

/** Never an existing path: a fuzzed netns must not name a real namespace. */
const netns = fc
  .oneof(fc.constantFrom('/var/run/netns/nonexistent-fuzz', ''), hostileText)
  .map((p) => (existsSync(p) ? '/nonexistent-fuzz/netns' : p));

const fullEnv = fc.record({
  CNI_COMMAND: command,
  CNI_CONTAINERID: containerId,
  CNI_NETNS: netns,
  CNI_IFNAME: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('eth0', 'net1') }, hostileText),
  CNI_ARGS: cniArgs,
  CNI_PATH: fc.oneof(fc.constant('/opt/cni/bin'), hostileText),
});
/** Mostly complete environments (to get past the first checks), sometimes with variables missing. */
const env = fc.oneof(
  { weight: 3, arbitrary: fullEnv },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fullEnv, fc.subarray(['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS']))
      .map(([e, drop]) => Object.fromEntries(Object.entries(e).filter(([k]) => !drop.includes(k)))),
  },
);

/** 00-multus.conf with some top-level keys replaced by anything (or removed), or plain hostile JSON/bytes. */
const config = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined).map(() => Buffer.from(JSON.stringify(multusConf))) },
  fc
    .dictionary(
      fc.constantFrom(
        'cniVersion',
        'name',
        'type',
        'clusterNetwork',
        'delegates',
        'defaultNetworks',
        'runtimeConfig',
        'capabilities',
        'cni.dev/valid-attachments',
        'prevResult',
        'cniVersions',
        'plugins',
      ),
      fc.oneof(fc.anything(), fc.constant(undefined)),
      { maxKeys: 3 },
    )
    .map((edits) => Buffer.from(JSON.stringify({ ...multusConf, ...edits }))),
  fc.json().map((j) => Buffer.from(j)),
  fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
);

const body = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({ env, config, extra: fc.option(fc.anything(), { nil: undefined }) })
      .map(({ env: e, config: c, extra }) =>
        JSON.stringify({
          env: e,
          config: c.toString('base64'),
          ...(extra === undefined ? {} : { interfaceAttributes: extra }),
        }),
      ),
  },
  { weight: 2, arbitrary: fc.json() },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 4096 }).map((b) => Buffer.from(b)) },
);

async function checkOne(path: string, payload: string | Buffer): Promise<void> {
  const r = await postRaw(h, path, payload, { timeoutMs: 30_000, headers: { 'x-multus-ts-output': 'raw' } });
  stats.requests++;
  const key = r.status === 200 ? 'ok' : String(r.json?.['code']);
  stats.byCode.set(key, (stats.byCode.get(key) ?? 0) + 1);
  expect([200, 400], r.body).toContain(r.status);
  if (r.status === 200) return;
  const code = r.json?.['code'];
  const msg = String(r.json?.['msg'] ?? '');
  expect(typeof code === 'number' && Number.isInteger(code), r.body).toBe(true);
  expect(typeof r.json?.['msg'], r.body).toBe('string');
  // 999 is only a delegate's own verdict ("plugin type=... failed"), never the daemon's own.
  const fromDelegate = /^plugin type="|netplugin failed/.test(msg);
  expect(
    EXACT.has(code as number) || (code as number) >= 100 || fromDelegate,
    `code ${code}: ${r.body}`,
  ).toBe(true);
  if (code === 999) expect(fromDelegate, r.body).toBe(true);
}

describe('fuzzed request bodies', () => {
  for (const path of ['/cni', '/delegate']) {
    it(
      `${path}: ${RUNS} bodies, each HTTP 200 or an exact CNI error; the daemon stays up`,
      async () => {
        await fc.assert(
          fc.asyncProperty(body, async (payload) => {
            await checkOne(path, payload);
          }),
          { numRuns: RUNS, seed: SEED, endOnFailure: !SOAK, verbose: 1 },
        );
        expectDaemonAlive(h);
        expect((await postRaw(h, '/healthz', '', { method: 'GET' })).status).toBe(200);
      },
      scaled(120_000, 3_600_000),
    );
  }

  it("afterwards: the runtime's DELs leave nothing attached or cached; the heap-capped daemon survived", async () => {
    expectDaemonAlive(h);
    // A fuzzed ADD whose rollback could not finish (e.g. a netns path the plugin cannot open) keeps its cache
    // for the runtime's DEL, as designed: send those DELs (bounded retries: up to three) first.
    for (const id of (await h.leftovers()).cache.filter((f) => !f.startsWith('.'))) {
      const env = {
        CNI_COMMAND: 'DEL',
        CNI_CONTAINERID: id,
        CNI_IFNAME: 'eth0',
        CNI_ARGS: 'IgnoreUnknown=1',
      };
      for (let i = 0; i < 3; i++) await postRaw(h, '/cni', wireBody(env, JSON.stringify(multusConf)));
    }
    await expectNoLeaks(h, [target]);
    const rssMiB = rssKiB() / 1024;
    process.stdout.write(`fuzz: daemon RSS ${rssMiB.toFixed(1)} MiB (V8 heap capped at ${HEAP_MIB} MiB)\n`);
    expect(rssMiB).toBeLessThan(400);
  });
});
