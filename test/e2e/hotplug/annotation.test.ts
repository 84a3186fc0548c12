// Hot-plug by annotation (daemon-config `hotplug: true`): editing a running pod's k8s.v1.cni.cncf.io/networks adds
// and removes its secondary interfaces in place. Real daemon, shim, macvlan/host-local plugins and namespaces; the
// pod's annotation is edited through the API as a user would.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NodeHarness, type SandboxRef } from '../../support/daemon-harness.ts';
import { ipIn, TestScope } from '../../support/netns.ts';
import {
  addressesOf,
  leases,
  macvlan,
  NETWORKS,
  podEvents,
  podLinks,
  setNetworks,
  statusPairs,
  waitFor,
} from './support.ts';

let h: NodeHarness;
const live: SandboxRef[] = [];
const CLEAN = { links: [], leases: [], cache: [] };

beforeAll(async () => {
  h = await NodeHarness.start({ cniVersion: '1.0.0', daemonConfig: { hotplug: true } });
  await h.createNad('default', 'blue', macvlan(h, 'blue', '10.60.1.0/24'));
  await h.createNad('default', 'green', macvlan(h, 'green', '10.60.2.0/24'));
  await h.createNad('default', 'red', macvlan(h, 'red', '10.60.3.0/24'));
});
afterEach(async () => {
  for (const sb of live.splice(0)) await h.shim('DEL', sb);
});
afterAll(async () => {
  await h?.stop();
  await TestScope.cleanupAll();
});

async function runningPod(name: string, networks?: string): Promise<SandboxRef> {
  const sb = await h.createPod({ name, ...(networks ? { annotations: { [NETWORKS]: networks } } : {}) });
  live.push(sb);
  const add = await h.shim('ADD', sb);
  expect(add.code, add.stdout + h.daemonLog.slice(-3000)).toBe(0);
  await h.networkStatus(sb.namespace, sb.name); // ADD's own status write, which follows its reply, is done
  return sb;
}

/** The runtime's DEL of the sandbox; then nothing this node made for it may be left. */
async function tearDown(sb: SandboxRef): Promise<void> {
  live.splice(live.indexOf(sb), 1);
  const del = await h.shim('DEL', sb);
  expect(del.code, del.stdout).toBe(0);
  expect(await podLinks(sb)).toEqual(['lo']);
  expect(await h.leftovers()).toEqual(CLEAN);
  expect(await leases(h)).toEqual([]);
}

const linksAre = (sb: SandboxRef, want: string[]) => async () =>
  JSON.stringify(await podLinks(sb)) === JSON.stringify(want);

describe('hot-plug by editing the networks annotation', () => {
  it('adds a network to a running pod that had none, then removes it (#43)', async () => {
    const patches = () => h.emulator.stats.count({ verb: 'patch', resource: 'pods/status' });
    const before = patches();
    const sb = await runningPod('hp-add');
    expect(await podLinks(sb)).toEqual(['eth0', 'lo']);
    // The pass after the ADD finds nothing to do: still one network-status PATCH per ADD.
    await new Promise((r) => setTimeout(r, 500));
    expect(patches() - before).toBe(1);

    await setNetworks(h, sb, 'blue');
    await waitFor('net1 in the pod', linksAre(sb, ['eth0', 'lo', 'net1']), 20_000, h);
    const [ip] = await addressesOf(sb, 'net1');
    expect(ip).toMatch(/^10\.60\.1\.\d+\/24$/);
    await waitFor(
      'network-status with net1',
      async () => (await statusPairs(h, sb)).join() === 'cbr0@eth0,default/blue@net1',
    );
    await waitFor('an AddedInterface event', async () =>
      (await podEvents(h, sb)).some(
        (e) =>
          e.type === 'Normal' &&
          e.reason === 'AddedInterface' &&
          e.message === `Add net1 [${ip}] from default/blue`,
      ),
    );

    await setNetworks(h, sb, null);
    await waitFor('net1 gone', linksAre(sb, ['eth0', 'lo']), 20_000, h);
    await waitFor(
      'network-status without net1',
      async () => (await statusPairs(h, sb)).join() === 'cbr0@eth0',
    );
    await waitFor('a RemovedInterface event', async () =>
      (await podEvents(h, sb)).some(
        (e) => e.reason === 'RemovedInterface' && e.message === 'Remove net1 from default/blue',
      ),
    );
    // The address went back to the pool.
    expect((await leases(h)).filter((l) => l.startsWith('blue/'))).toEqual([]);
    await tearDown(sb);
  });

  it('swaps networks, and the interfaces that stay keep their names and addresses', async () => {
    const sb = await runningPod('hp-swap', 'blue,green');
    expect(await podLinks(sb)).toEqual(['eth0', 'lo', 'net1', 'net2']);
    const greenIp = (await addressesOf(sb, 'net2'))[0];
    expect(greenIp).toMatch(/^10\.60\.2\./);

    // Removing the first network does not rename the second.
    await setNetworks(h, sb, 'green');
    await waitFor('net1 gone, net2 kept', linksAre(sb, ['eth0', 'lo', 'net2']), 20_000, h);
    expect(await addressesOf(sb, 'net2')).toEqual([greenIp]);
    await waitFor('status', async () => (await statusPairs(h, sb)).join() === 'cbr0@eth0,default/green@net2');

    // A swap: green goes, red comes, and takes the lowest free name.
    await setNetworks(h, sb, 'red');
    await waitFor(
      'red on net1',
      async () =>
        (await podLinks(sb)).join() === 'eth0,lo,net1' &&
        /^10\.60\.3\./.test((await addressesOf(sb, 'net1'))[0] ?? ''),
    );
    await waitFor('status', async () => (await statusPairs(h, sb)).join() === 'cbr0@eth0,default/red@net1');

    // Named interfaces are identities too: the same network under a new name is a remove plus an add.
    await setNetworks(h, sb, JSON.stringify([{ name: 'red', interface: 'data0' }, { name: 'blue' }]));
    await waitFor('data0 and net1', linksAre(sb, ['data0', 'eth0', 'lo', 'net1']), 20_000, h);
    await waitFor(
      'data0 address',
      async () => /^10\.60\.3\./.test((await addressesOf(sb, 'data0'))[0] ?? ''),
      20_000,
      h,
    );
    await waitFor(
      'net1 address',
      async () => /^10\.60\.1\./.test((await addressesOf(sb, 'net1'))[0] ?? ''),
      20_000,
      h,
    );
    await waitFor(
      'status',
      async () => (await statusPairs(h, sb)).join() === 'cbr0@eth0,default/red@data0,default/blue@net1',
    );
    await tearDown(sb);
  });

  it('an invalid edit changes nothing and records a Warning; a missing NAD is picked up once it exists', async () => {
    const sb = await runningPod('hp-invalid', 'blue');
    const ip = (await addressesOf(sb, 'net1'))[0];
    await setNetworks(h, sb, '[{"name":"blue"');
    await waitFor('a HotplugRejected warning', async () =>
      (await podEvents(h, sb)).some(
        (e) => e.type === 'Warning' && e.reason === 'HotplugRejected' && /not valid JSON/.test(e.message),
      ),
    );
    expect(await podLinks(sb)).toEqual(['eth0', 'lo', 'net1']);
    expect(await addressesOf(sb, 'net1')).toEqual([ip]);
    expect(await statusPairs(h, sb)).toEqual(['cbr0@eth0', 'default/blue@net1']);

    await setNetworks(h, sb, JSON.stringify([{ name: 'blue', interface: 'bad/name' }, 'green']));
    await waitFor(
      'a second HotplugRejected warning',
      async () => (await podEvents(h, sb)).filter((e) => e.reason === 'HotplugRejected').length >= 2,
    );
    expect(await podLinks(sb)).toEqual(['eth0', 'lo', 'net1']);

    // What ADD can do but hot-plug cannot: a new default route would change the cluster network's routes.
    await setNetworks(
      h,
      sb,
      JSON.stringify([{ name: 'blue' }, { name: 'green', 'default-route': ['10.60.2.1'] }]),
    );
    await waitFor('a default-route rejection', async () =>
      (await podEvents(h, sb)).some((e) => e.reason === 'HotplugRejected' && /default-route/.test(e.message)),
    );
    expect(await podLinks(sb)).toEqual(['eth0', 'lo', 'net1']);

    // A network whose NAD does not exist yet: nothing changes (all or nothing), NoNetworkFound, and a retry later.
    await setNetworks(h, sb, 'blue,late-purple');
    await waitFor('a NoNetworkFound warning', async () =>
      (await podEvents(h, sb)).some(
        (e) => e.type === 'Warning' && e.reason === 'NoNetworkFound' && /late-purple/.test(e.message),
      ),
    );
    expect(await podLinks(sb)).toEqual(['eth0', 'lo', 'net1']);
    await h.createNad('default', 'late-purple', macvlan(h, 'late-purple', '10.60.4.0/24'));
    await waitFor('net2 once the NAD exists', linksAre(sb, ['eth0', 'lo', 'net1', 'net2']), 30_000, h);
    expect(await addressesOf(sb, 'net1')).toEqual([ip]);
    await waitFor(
      'status',
      async () =>
        (await statusPairs(h, sb)).join() === 'cbr0@eth0,default/blue@net1,default/late-purple@net2',
    );
    await tearDown(sb);
  });

  it('a failed network-status write is written again', async () => {
    const sb = await runningPod('hp-status');
    h.emulator.faults.failNext(2, { code: 500, match: { verb: 'patch', resource: 'pods/status' } });
    await setNetworks(h, sb, 'green');
    await waitFor('net1 in the pod', linksAre(sb, ['eth0', 'lo', 'net1']), 20_000, h);
    await waitFor('a Warning about the write', async () =>
      (await podEvents(h, sb)).some((e) => e.reason === 'HotplugFailed' && /network-status/.test(e.message)),
    );
    await waitFor(
      'network-status written on a retry',
      async () => (await statusPairs(h, sb)).join() === 'cbr0@eth0,default/green@net1',
    );
    // The retry wrote the status only: the interface was not added twice.
    expect((await leases(h)).filter((l) => l.startsWith('green/'))).toHaveLength(1);
    await tearDown(sb);
  });

  it('a delegate that fails is retried with backoff until it succeeds', async () => {
    const master = `hpm${process.pid.toString(36)}`.slice(0, 15);
    await h.createNad('default', 'late-master', macvlan(h, 'late-master', '10.60.5.0/24', master));
    const sb = await runningPod('hp-retry');
    try {
      await setNetworks(h, sb, 'late-master');
      await waitFor('a HotplugFailed warning', async () =>
        (await podEvents(h, sb)).some(
          (e) =>
            e.type === 'Warning' &&
            e.reason === 'HotplugFailed' &&
            /Add net1 from default\/late-master/.test(e.message),
        ),
      );
      expect(await podLinks(sb)).toEqual(['eth0', 'lo']);
      // The macvlan parent appears on the node: the next retry succeeds.
      await ipIn(h.node, 'link', 'add', master, 'type', 'bridge');
      await ipIn(h.node, 'link', 'set', master, 'up');
      await waitFor('net1 after the retry', linksAre(sb, ['eth0', 'lo', 'net1']), 30_000, h);
      await waitFor(
        'net1 address',
        async () => /^10\.60\.5\./.test((await addressesOf(sb, 'net1'))[0] ?? ''),
        20_000,
        h,
      );
      await waitFor(
        'status',
        async () => (await statusPairs(h, sb)).join() === 'cbr0@eth0,default/late-master@net1',
      );
      // The failures were reported once each, not once per retry.
      const warnings = (await podEvents(h, sb)).filter((e) => e.type === 'Warning');
      expect(new Set(warnings.map((w) => w.message)).size).toBe(warnings.length);
      await tearDown(sb);
    } finally {
      await ipIn(h.node, 'link', 'del', master).catch(() => undefined);
    }
  });
});
