// Hot-plug interrupted: the daemon killed while a hot-plug ADD runs, and the runtime's DEL of the pod arriving
// during one. A gate plugin chained after macvlan holds the ADD open (the macvlan link and its address already
// exist at that point), so the interruption lands exactly in the middle.
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NodeHarness, type SandboxRef } from '../../support/daemon-harness.ts';
import { TestScope } from '../../support/netns.ts';
import {
  addressesOf,
  installGatePlugin,
  leases,
  podLinks,
  setNetworks,
  statusPairs,
  waitFor,
} from './support.ts';

let h: NodeHarness;
const live: SandboxRef[] = [];
const gate = () => join(h.root, 'gate');
const started = () => join(h.root, 'gate-started');

beforeAll(async () => {
  h = await NodeHarness.start({ cniVersion: '1.0.0', daemonConfig: { hotplug: true } });
  await installGatePlugin(h);
  await h.createNad('default', 'held', {
    cniVersion: '1.0.0',
    name: 'held',
    plugins: [
      {
        type: 'macvlan',
        master: 'eth0',
        mode: 'bridge',
        ipam: h.hostLocal('held', { subnet: '10.61.1.0/24' }),
      },
      { type: 'gate', gate: join(h.root, 'gate'), started: join(h.root, 'gate-started') },
    ],
  });
});
afterEach(async () => {
  await rm(gate(), { force: true });
  await rm(started(), { force: true });
  for (const sb of live.splice(0)) await h.shim('DEL', sb);
});
afterAll(async () => {
  await h?.stop();
  await TestScope.cleanupAll();
});

async function runningPod(name: string): Promise<SandboxRef> {
  const sb = await h.createPod({ name });
  live.push(sb);
  const add = await h.shim('ADD', sb);
  expect(add.code, add.stdout + h.daemonLog.slice(-3000)).toBe(0);
  await h.networkStatus(sb.namespace, sb.name); // ADD's own status write, which follows its reply, is done
  return sb;
}

/** Closes the gate and waits until the held ADD is inside the gate plugin (macvlan done, result not cached). */
async function holdNextAdd(): Promise<void> {
  await writeFile(gate(), 'closed');
  await rm(started(), { force: true });
}

const heldLeases = async () => (await leases(h)).filter((l) => l.startsWith('held/'));

describe('hot-plug interrupted', () => {
  it('the daemon killed in the middle of a hot-plug ADD finishes it after the restart, leaking nothing', async () => {
    const sb = await runningPod('hp-kill');
    await holdNextAdd();
    await setNetworks(h, sb, 'held');
    await waitFor('the hot-plug ADD to be inside the gate', () => existsSync(started()), 20_000, h);
    expect(await podLinks(sb)).toEqual(['eth0', 'lo', 'net1']);
    await h.stopDaemon('SIGKILL');
    // The orphaned plugin may finish now; its answer has no one to go to.
    await rm(gate(), { force: true });
    expect(await statusPairs(h, sb)).toEqual(['cbr0@eth0']);

    await h.startDaemon();
    await waitFor(
      'network-status with the finished attachment',
      async () => (await statusPairs(h, sb)).join() === 'cbr0@eth0,default/held@net1',
      30_000,
      h,
    );
    expect(await podLinks(sb)).toEqual(['eth0', 'lo', 'net1']);
    // The half-made attachment was deleted before it was made again: one address, the one the link has.
    const ip = (await addressesOf(sb, 'net1'))[0] ?? '';
    expect(await heldLeases()).toEqual([`held/${ip.split('/')[0]}`]);

    live.splice(live.indexOf(sb), 1);
    expect((await h.shim('DEL', sb)).code).toBe(0);
    expect(await podLinks(sb)).toEqual(['lo']);
    expect(await h.leftovers()).toEqual({ links: [], leases: [], cache: [] });
    expect(await leases(h)).toEqual([]);
  });

  it('an edit made while the daemon was down is applied when it starts again', async () => {
    await h.createNad('default', 'plain', {
      cniVersion: '1.0.0',
      name: 'plain',
      type: 'macvlan',
      master: 'eth0',
      mode: 'bridge',
      ipam: h.hostLocal('plain', { subnet: '10.61.2.0/24' }),
    });
    const sb = await runningPod('hp-down');
    await h.stopDaemon('SIGTERM');
    await setNetworks(h, sb, 'plain');
    await h.startDaemon();
    await waitFor(
      'net1 after the start',
      async () => (await podLinks(sb)).join() === 'eth0,lo,net1',
      20_000,
      h,
    );
    // The link shows up before the plugin has given it its address: wait for that too.
    await waitFor(
      'net1 address',
      async () => /^10\.61\.2\./.test((await addressesOf(sb, 'net1'))[0] ?? ''),
      20_000,
      h,
    );
    await waitFor('status', async () => (await statusPairs(h, sb)).join() === 'cbr0@eth0,default/plain@net1');
    live.splice(live.indexOf(sb), 1);
    expect((await h.shim('DEL', sb)).code).toBe(0);
    expect(await h.leftovers()).toEqual({ links: [], leases: [], cache: [] });
    expect(await leases(h)).toEqual([]);
  });

  it('the runtime DEL of the pod during a hot-plug ADD waits for it and then removes everything', async () => {
    const sb = await runningPod('hp-del');
    await holdNextAdd();
    await setNetworks(h, sb, 'held');
    await waitFor('the hot-plug ADD to be inside the gate', () => existsSync(started()), 20_000, h);
    live.splice(live.indexOf(sb), 1);
    const del = h.shim('DEL', sb);
    // DEL is serialised behind the pass: it cannot have run yet.
    await new Promise((r) => setTimeout(r, 500));
    expect(await podLinks(sb)).toEqual(['eth0', 'lo', 'net1']);
    await rm(gate(), { force: true });
    const out = await del;
    expect(out.code, out.stdout + h.daemonLog.slice(-3000)).toBe(0);
    expect(await podLinks(sb)).toEqual(['lo']);
    expect(await h.leftovers()).toEqual({ links: [], leases: [], cache: [] });
    expect(await leases(h)).toEqual([]);
    // Nothing comes back: the pod's sandbox is gone, so later passes have nothing to act on.
    await setNetworks(h, sb, null);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await h.leftovers()).toEqual({ links: [], leases: [], cache: [] });
    expect(await leases(h)).toEqual([]);
  });
});
