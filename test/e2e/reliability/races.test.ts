// Races the runtime can cause: ADD and DEL for the same container at the same moment, and GC arriving while ADDs
// run. The daemon serialises per container and runs GC alone, so every pair ends in a consistent state (the pod's
// interfaces exist exactly when its delegate cache does), GC never tears down a container it was told is valid,
// and a final DEL leaves nothing behind.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NodeHarness, SandboxRef } from '../../support/daemon-harness.ts';
import { listLinks, TestScope } from '../../support/netns.ts';
import {
  expectDaemonAlive,
  expectNetnsGone,
  expectNoLeaks,
  NETWORKS,
  scaled,
  shimCode,
  startMacvlanNode,
  waitUntil,
} from './support.ts';

const PAIRS = scaled(12, 200);
const GC_PODS = scaled(10, 50);

let h: NodeHarness;
const made: SandboxRef[] = [];
const all: SandboxRef[] = [];

beforeAll(async () => {
  const node = await startMacvlanNode('10.61.0.0/16', true);
  h = node.h;
  all.push(node.warm!);
});
afterEach(async () => {
  for (const sb of made.splice(0)) await h.shim('DEL', sb);
});
afterAll(async () => {
  await h?.stop();
  await TestScope.cleanupAll();
  expectNetnsGone(all);
});

async function pod(name: string): Promise<SandboxRef> {
  const sb = await h.createPod({ name, annotations: { [NETWORKS]: 'mv' } });
  made.push(sb);
  all.push(sb);
  return sb;
}

async function interfaces(sb: SandboxRef): Promise<string[]> {
  return (await listLinks(sb.netnsName)).map((l) => l.ifname).sort();
}

describe('ADD and DEL for the same container at once', () => {
  it(
    `${PAIRS} pairs: both succeed, each ends consistent, a final DEL leaves nothing`,
    async () => {
      const pods: SandboxRef[] = [];
      for (let i = 0; i < PAIRS; i++) pods.push(await pod(`race-${i}`));
      await new Promise((r) => setTimeout(r, 300));
      const order = { addLast: 0, delLast: 0 };
      await Promise.all(
        pods.map(async (sb, i) => {
          // Vary who starts first, by a few milliseconds either way.
          const skew = (i % 5) * 3;
          const [add, del] = await Promise.all([
            new Promise((r) => setTimeout(r, i % 2 === 0 ? 0 : skew)).then(() => h.shim('ADD', sb)),
            new Promise((r) => setTimeout(r, i % 2 === 0 ? skew : 0)).then(() => h.shim('DEL', sb)),
          ]);
          expect(shimCode(add), `ADD ${sb.name}: ${add.stdout}`).toBe(0);
          expect(shimCode(del), `DEL ${sb.name}: ${del.stdout}`).toBe(0);
          const ifs = await interfaces(sb);
          const cached = existsSync(join(h.cniDir, sb.containerId));
          if (cached) {
            order.addLast++;
            expect(ifs, `${sb.name}: cached but not attached`).toEqual(['eth0', 'lo', 'net1']);
          } else {
            order.delLast++;
            expect(ifs, `${sb.name}: attached but not cached`).toEqual(['lo']);
          }
        }),
      );
      expect(order.addLast + order.delLast).toBe(PAIRS);
      process.stdout.write(`ADD/DEL races: ADD last ${order.addLast}, DEL last ${order.delLast}\n`);
      for (const sb of made.splice(0)) expect(shimCode(await h.shim('DEL', sb))).toBe(0);
      await expectNoLeaks(h, pods);
      expectDaemonAlive(h);
    },
    scaled(60_000, 600_000),
  );
});

describe('GC while ADDs are running', () => {
  it(
    'GC waits for the ADDs, removes only the stale containers, keeps every listed one',
    async () => {
      const stale = [await pod('gc-stale-a'), await pod('gc-stale-b')];
      for (const sb of stale) expect(shimCode(await h.shim('ADD', sb))).toBe(0);
      const fresh: SandboxRef[] = [];
      for (let i = 0; i < GC_PODS; i++) fresh.push(await pod(`gc-fresh-${i}`));
      await new Promise((r) => setTimeout(r, 300));

      const adds = Promise.all(fresh.map((sb) => h.shim('ADD', sb)));
      await waitUntil('ADDs in flight', () => fresh.some((sb) => existsSync(join(h.cniDir, sb.containerId))));
      const conf = JSON.parse(await h.multusConf()) as Record<string, unknown>;
      conf['cniVersion'] = '1.1.0';
      conf['cni.dev/valid-attachments'] = fresh.map((sb) => ({
        containerID: sb.containerId,
        ifname: 'eth0',
      }));
      const gc = await h.shim('GC', fresh[0]!, { stdin: JSON.stringify(conf) });
      const outcomes = await adds;

      expect(shimCode(gc), gc.stdout + h.daemonLog.slice(-2000)).toBe(0);
      expect(outcomes.map(shimCode)).toEqual(fresh.map(() => 0));
      for (const sb of fresh) expect(await interfaces(sb), sb.name).toEqual(['eth0', 'lo', 'net1']);
      for (const sb of stale) expect(await interfaces(sb), sb.name).toEqual(['lo']);
      expect((await h.leftovers()).cache.sort()).toEqual(fresh.map((sb) => sb.containerId).sort());

      for (const sb of made.splice(0)) expect(shimCode(await h.shim('DEL', sb))).toBe(0);
      await expectNoLeaks(h, [...stale, ...fresh]);
      expectDaemonAlive(h);
    },
    scaled(60_000, 300_000),
  );
});
