// kill -9 of the daemon in the middle of a burst of concurrent ADDs, a restart, then DEL of every pod: the runtime
// sees each ADD either succeed or fail with code 11 (try again), and after the DELs nothing is left: no links, no
// host-local leases, no delegate or result cache entries. The delegate cache is written before any delegate runs,
// so even attachments that orphaned plugins finished after the daemon died are found by DEL.
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeHarness, SandboxRef, ShimOutcome } from '../../support/daemon-harness.ts';
import { TestScope } from '../../support/netns.ts';
import {
  expectDaemonAlive,
  expectNetnsGone,
  expectNoLeaks,
  NETWORKS,
  scaled,
  shimCode,
  startMacvlanNode,
  waitForPluginsToFinish,
  waitUntil,
} from './support.ts';

const PODS = scaled(50, 100);
const ROUNDS = scaled(2, 6);

let h: NodeHarness;
const all: SandboxRef[] = [];

beforeAll(async () => {
  const node = await startMacvlanNode('10.41.0.0/16', true);
  h = node.h;
  all.push(node.warm!);
});
afterAll(async () => {
  await h?.stop();
  await TestScope.cleanupAll();
  expectNetnsGone(all);
});

function cacheFiles(): string[] {
  return readdirSync(h.cniDir).filter((f) => f !== 'results' && !f.startsWith('.'));
}

describe('kill -9 during concurrent ADDs', () => {
  for (let round = 1; round <= ROUNDS; round++) {
    it(
      `round ${round}: ${PODS} ADDs, SIGKILL ${round % 2 === 1 ? 'early' : 'halfway'}, restart, DEL everything: every ADD is 0 or 11, no leaks`,
      async () => {
        const pods: SandboxRef[] = [];
        for (let i = 0; i < PODS; i++) {
          const sb = await h.createPod({ name: `k9-r${round}-p${i}`, annotations: { [NETWORKS]: 'mv' } });
          pods.push(sb);
          all.push(sb);
        }
        await new Promise((r) => setTimeout(r, 300));

        let finished = 0;
        const adds: Promise<ShimOutcome>[] = pods.map((sb) =>
          h.shim('ADD', sb).then((out) => {
            finished++;
            return out;
          }),
        );
        // Kill in the middle of the burst. Odd rounds kill early, while delegate caches are being written and no
        // ADD has answered yet; even rounds once a fifth of the ADDs answered and the rest are running or queued.
        const early = round % 2 === 1;
        await waitUntil(
          early ? 'the first delegate caches' : 'a fifth of the ADDs to finish',
          () => (early ? cacheFiles().length >= PODS / 5 : finished >= PODS / 5),
          60_000,
        );
        const finishedAtKill = finished;
        const inFlightAtKill = cacheFiles().length - finishedAtKill;
        const exit = await h.stopDaemon('SIGKILL');
        expect(exit).toBeNull();
        expect(finishedAtKill, 'the kill came after the burst ended').toBeLessThan(PODS);
        expect(inFlightAtKill, 'no ADD had its cache written but no answer yet').toBeGreaterThan(0);
        process.stdout.write(`kill9 round ${round} (${early ? 'early' : 'late'} kill): `);

        await h.startDaemon();
        const outcomes = await Promise.all(adds);
        const codes = outcomes.map(shimCode);
        const unexpected = outcomes
          .map((o, i) => ({ pod: pods[i]!.name, code: codes[i], out: o.stdout }))
          .filter((o) => o.code !== 0 && o.code !== 11);
        expect(unexpected, h.daemonLog.slice(-3000)).toEqual([]);
        const cutOff = codes.filter((c) => c === 11).length;
        process.stdout.write(
          `${finishedAtKill}/${PODS} ADDs done and ${inFlightAtKill} more cached at the kill, ${cutOff} cut off (code 11)\n`,
        );
        expect(cutOff, 'no ADD was cut off by the kill').toBeGreaterThan(0);

        // Plugins the dead daemon started keep running (own process group); a runtime retries DEL until the
        // sandbox is gone, so the DEL that counts is the one after they finished.
        await waitForPluginsToFinish(pods.map((p) => p.containerId));
        const dels = await Promise.all(pods.map((sb) => h.shim('DEL', sb)));
        const failedDels = dels
          .map((d, i) => ({ pod: pods[i]!.name, code: shimCode(d), out: d.stdout }))
          .filter((d) => d.code !== 0);
        expect(failedDels, h.daemonLog.slice(-3000)).toEqual([]);
        await expectNoLeaks(h, pods);
        expectDaemonAlive(h);
      },
      scaled(120_000, 300_000),
    );
  }
});
