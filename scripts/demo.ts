// `make demo`: the main job of multus-ts on this one machine. A local Kubernetes API emulator, the real
// multus-daemon and multus-shim, Debian's CNI plugins and real network namespaces: a "node" namespace with an
// `eth0` (a veth end), the cluster network (bridge + host-local), the quickstart NADs, three pods created and
// wired as a container runtime would, their interfaces and network-status printed, then everything deleted and
// checked for leaks. Nothing touches this machine's own network; everything lives in a temp dir and throwaway
// namespaces.

import { NodeHarness, type SandboxRef } from '../test/support/daemon-harness.ts';
import { linkAddresses, listLinks } from '../test/support/netns.ts';
import { fooBridge, macvlanConf, macvlanStatic, seedPodNetworks } from '../test/support/seeds.ts';

const bold = (s: string) => (process.stdout.isTTY ? `\u001b[1m${s}\u001b[0m` : s);
const say = (s = '') => process.stdout.write(`${s}\n`);

async function ipBrief(sb: SandboxRef): Promise<string[]> {
  const lines: string[] = [];
  for (const link of await listLinks(sb.netnsName)) {
    const addrs = (await linkAddresses(sb.netnsName, link.ifname)).filter((a) => !a.startsWith('fe80:'));
    lines.push(`${link.ifname.padEnd(8)} ${(link.operstate ?? '').padEnd(8)} ${addrs.join(' ')}`);
  }
  return lines;
}

async function main(): Promise<number> {
  const started = performance.now();
  say(
    bold('multus-ts demo: emulator + multus-daemon + multus-shim + real CNI plugins in network namespaces'),
  );
  const h = await NodeHarness.start({ daemonConfig: { logLevel: 'error' } });
  try {
    say(`node namespace ${h.node} (eth0 = one end of a veth pair), daemon socket ${h.socketDir}/multus.sock`);
    say(`generated 00-multus.conf: ${(await h.multusConf()).trim()}`);
    say();

    await h.createNad('default', 'macvlan-conf', macvlanConf(h));
    await h.createNad('default', 'foo', fooBridge(h));
    await h.createNad('default', 'macvlan-static', macvlanStatic());
    say(
      'NetworkAttachmentDefinitions: default/macvlan-conf (macvlan), default/foo (bridge), default/macvlan-static',
    );

    const pods: { name: string; annotation: string }[] = [
      { name: 'samplepod', annotation: seedPodNetworks('samplepod.yaml') },
      { name: 'samplepod-twice', annotation: seedPodNetworks('samplepod-twice.yaml') },
      {
        name: 'samplepod-static',
        annotation: JSON.stringify([
          { name: 'macvlan-static', ips: ['10.1.1.11/24'], mac: 'c2:11:22:33:44:55', interface: 'ext0' },
          { name: 'foo' },
        ]),
      },
    ];
    const sandboxes: SandboxRef[] = [];
    let failures = 0;
    for (const p of pods) {
      const sb = await h.createPod({
        name: p.name,
        annotations: { 'k8s.v1.cni.cncf.io/networks': p.annotation },
      });
      sandboxes.push(sb);
      const t0 = performance.now();
      const add = await h.shim('ADD', sb);
      const ms = (performance.now() - t0).toFixed(1);
      say();
      say(bold(`pod default/${p.name}`) + `  k8s.v1.cni.cncf.io/networks: ${p.annotation}`);
      if (add.code !== 0) {
        failures++;
        say(`  ADD failed (exit ${add.code}): ${add.stdout.trim()}`);
        continue;
      }
      say(`  CNI ADD through multus-shim: exit 0 in ${ms} ms`);
      say('  ip -br addr (in the pod network namespace):');
      for (const line of await ipBrief(sb)) say(`    ${line}`);
      const status = await h.networkStatus('default', p.name).catch(() => '(none)');
      say('  k8s.v1.cni.cncf.io/network-status:');
      for (const line of status.split('\n')) say(`    ${line}`);
    }

    say();
    say(bold('deleting the pods (CNI DEL through multus-shim)'));
    for (const sb of sandboxes) {
      const del = await h.shim('DEL', sb);
      if (del.code !== 0) failures++;
      say(
        `  ${sb.name}: DEL exit ${del.code}, pod interfaces left: ${(await listLinks(sb.netnsName)).map((l) => l.ifname).join(' ')}`,
      );
    }
    const left = await h.leftovers();
    const leaked = left.links.length + left.leases.length + left.cache.length;
    say(
      `leak check: ${left.links.length} stray links, ${left.leases.length} IP leases, ${left.cache.length} delegate cache files`,
    );
    if (leaked > 0) failures++;
    say();
    say(
      `${failures === 0 ? 'demo OK' : `demo FAILED (${failures} problems)`} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    return failures === 0 ? 0 : 1;
  } catch (err) {
    say(`demo FAILED: ${(err as Error).message}`);
    say(h.daemonLog.slice(-3000));
    return 1;
  } finally {
    await h.stop();
  }
}

process.exitCode = await main();
