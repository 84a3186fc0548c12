// Shared pieces of the hot-plug e2e tests: editing a pod's networks annotation as a user would, reading what the
// daemon did (links, addresses, network-status, events), waiting for it, and a gate plugin that holds a
// hot-plug ADD open so a test can act while it runs.
import { existsSync } from 'node:fs';
import { chmod, readdir, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { NodeHarness, SandboxRef } from '../../support/daemon-harness.ts';
import { linkAddresses, listLinks } from '../../support/netns.ts';

export const NETWORKS = 'k8s.v1.cni.cncf.io/networks';
export const STATUS = 'k8s.v1.cni.cncf.io/network-status';

const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

/** Sets (or, with null, removes) the pod's networks annotation with a merge patch, as kubectl annotate does. */
export async function setNetworks(h: NodeHarness, sb: SandboxRef, value: string | null): Promise<void> {
  await h.core.patchNamespacedPod(
    { namespace: sb.namespace, name: sb.name, body: { metadata: { annotations: { [NETWORKS]: value } } } },
    merge,
  );
}

export interface StatusEntry {
  name: string;
  interface?: string;
  ips?: string[];
  default: boolean;
}

export async function networkStatus(h: NodeHarness, sb: SandboxRef): Promise<StatusEntry[]> {
  const value = (await h.podAnnotations(sb.namespace, sb.name))[STATUS];
  return value === undefined ? [] : (JSON.parse(value) as StatusEntry[]);
}

/** `name@interface` of every status entry, in order: compact to assert on. */
export async function statusPairs(h: NodeHarness, sb: SandboxRef): Promise<string[]> {
  return (await networkStatus(h, sb)).map((s) => `${s.name}@${s.interface ?? ''}`);
}

export async function podLinks(sb: SandboxRef): Promise<string[]> {
  return (await listLinks(sb.netnsName)).map((l) => l.ifname).sort();
}

/** The IPv4 addresses of one of the pod's links (IPv6 link-local addresses come and go on their own). */
export async function addressesOf(sb: SandboxRef, ifname: string): Promise<string[]> {
  return (await linkAddresses(sb.netnsName, ifname)).filter((a) => !a.includes(':'));
}

/**
 * Every host-local lease under the harness's IPAM dir as `<network>/<ip>`. host-local keeps them one level deeper
 * than the harness's leftovers() looks (`<dataDir>/<network name>/<ip>`), so hot-plug tests count them here.
 */
export async function leases(h: NodeHarness): Promise<string[]> {
  const out: string[] = [];
  for (const dir of existsSync(h.ipamDir) ? await readdir(h.ipamDir) : []) {
    for (const net of await readdir(join(h.ipamDir, dir))) {
      const sub = join(h.ipamDir, dir, net);
      if (!(await stat(sub)).isDirectory()) continue;
      for (const f of await readdir(sub)) if (/^[0-9a-f.:]+$/i.test(f)) out.push(`${net}/${f}`);
    }
  }
  return out.sort();
}

export interface SeenEvent {
  type: string;
  reason: string;
  message: string;
}

export async function podEvents(h: NodeHarness, sb: SandboxRef): Promise<SeenEvent[]> {
  const list = await h.core.listNamespacedEvent({ namespace: sb.namespace });
  return list.items
    .filter((e) => e.involvedObject.name === sb.name && e.involvedObject.uid === sb.uid)
    .map((e) => ({ type: e.type ?? '', reason: e.reason ?? '', message: e.message ?? '' }));
}

/** Polls `check` until it returns a value other than undefined/false; fails naming `what` after `ms`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 20_000,
  h?: NodeHarness,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const tail = h ? `\n--- daemon log tail ---\n${h.daemonLog.slice(-4000)}` : '';
  throw new Error(
    `timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}${tail}`,
  );
}

/** A macvlan NAD on `master` with host-local addresses from `subnet` (in the harness's temp IPAM dir). */
export function macvlan(
  h: NodeHarness,
  name: string,
  subnet: string,
  master = 'eth0',
): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name,
    type: 'macvlan',
    master,
    mode: 'bridge',
    ipam: h.hostLocal(name, { subnet }),
  };
}

/**
 * Installs `gate` into the harness's bin dir: a chained plugin that passes prevResult through, but first writes
 * its config's `started` file and, while the config's `gate` file exists, waits (at most 30 s). Tests use it to
 * catch a hot-plug ADD in the middle.
 */
export async function installGatePlugin(h: NodeHarness): Promise<void> {
  const js = join(h.root, 'gate-plugin.cjs');
  await writeFile(
    js,
    `const fs = require('node:fs');
const cmd = process.env.CNI_COMMAND;
if (cmd === 'VERSION') {
  process.stdout.write(JSON.stringify({ cniVersion: '1.0.0', supportedVersions: ['0.4.0', '1.0.0'] }));
  process.exit(0);
}
const conf = JSON.parse(fs.readFileSync(0, 'utf8'));
if (cmd === 'ADD') {
  if (conf.started) fs.writeFileSync(conf.started, String(process.pid));
  const until = Date.now() + 30000;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  while (conf.gate && fs.existsSync(conf.gate) && Date.now() < until) Atomics.wait(cell, 0, 0, 50);
  process.stdout.write(JSON.stringify({ ...conf.prevResult, cniVersion: conf.cniVersion }));
}
`,
  );
  const launcher = join(h.binDir, 'gate');
  await writeFile(launcher, `#!/bin/sh\nexec "${process.execPath}" "${js}"\n`);
  await chmod(launcher, 0o755);
}

/** POST on the daemon's socket (the /delegate API); the body is JSON-encoded. */
export function post(
  h: NodeHarness,
  path: string,
  body: unknown,
): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: join(h.socketDir, 'multus.sock'),
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', host: 'dummy' },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8').on('data', (c: string) => {
          data += c;
        });
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(data);
          } catch {
            json = data;
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
