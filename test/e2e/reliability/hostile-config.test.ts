// Hostile configuration from the cluster (anyone who may write a NAD or annotate a pod): plugin `type`s that are
// paths, a conflist of 10,000 plugins, a 1 MB selection annotation, text that is not valid Unicode, duplicate
// JSON keys. Each ADD gets its exact CNI code, no plugin outside the bin dir ever runs, nothing is left attached.
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NodeHarness, type SandboxRef } from '../../support/daemon-harness.ts';
import { installFakePlugin, readCalls } from '../../support/fake-plugins/install.ts';
import { listLinks, TestScope, uniqueName } from '../../support/netns.ts';
import {
  expectDaemonAlive,
  expectNetnsGone,
  expectNoLeaks,
  NETWORKS,
  pluginProcessesFor,
  shimCode,
  waitForPluginsToFinish,
} from './support.ts';

let h: NodeHarness;
let recordDir: string;
let outside: string;
let nadCounter = 0;
const made: SandboxRef[] = [];
const all: SandboxRef[] = [];

beforeAll(async () => {
  h = await NodeHarness.start({ cniVersion: '1.0.0' });
  recordDir = await mkdtemp(join(tmpdir(), 'mts-rel-cfg-'));
  await installFakePlugin(h.binDir, 'rec', 'hang');
  // A plugin outside every bin dir: if it ever runs, it records the call.
  outside = join(h.root, 'outside');
  await mkdir(outside);
  await installFakePlugin(outside, 'evil', 'hang');
});
afterEach(async () => {
  for (const sb of made.splice(0)) for (let i = 0; i < 3; i++) await h.shim('DEL', sb);
  expectDaemonAlive(h);
});
afterAll(async () => {
  await h?.stop();
  await TestScope.cleanupAll();
  if (recordDir) await rm(recordDir, { recursive: true, force: true });
  expectNetnsGone(all);
});

const rec = (): string => join(recordDir, 'calls.jsonl');

/** A NAD whose spec.config is exactly `configText` (so it can hold duplicate keys or odd text). */
async function rawNad(configText: string): Promise<string> {
  const name = `hostile-${++nadCounter}`;
  await h.custom.createNamespacedCustomObject({
    group: 'k8s.cni.cncf.io',
    version: 'v1',
    namespace: 'default',
    plural: 'network-attachment-definitions',
    body: {
      apiVersion: 'k8s.cni.cncf.io/v1',
      kind: 'NetworkAttachmentDefinition',
      metadata: { name, namespace: 'default' },
      spec: { config: configText },
    },
  });
  return name;
}

async function podWith(networks: string): Promise<SandboxRef> {
  const sb = await h.createPod({ name: uniqueName('hc', 40), annotations: { [NETWORKS]: networks } });
  made.push(sb);
  all.push(sb);
  await new Promise((r) => setTimeout(r, 200));
  return sb;
}

interface Refusal {
  add: unknown;
  /** Plugin executions recorded for the container during ADD. */
  ran: number;
  attached: string[];
  /** The runtime's DEL right after: must succeed at once (nothing of the refused ADD may need undoing). */
  del: number;
}

/** ADDs, then DELs once; returns what a refused ADD must look like to be compared in one go. */
async function refusal(sb: SandboxRef, msg?: RegExp): Promise<Refusal> {
  const out = await h.shim('ADD', sb);
  const ran = readCalls(rec()).filter((c) => c.env['CNI_CONTAINERID'] === sb.containerId).length;
  const attached = (await listLinks(sb.netnsName)).map((l) => l.ifname).filter((n) => n !== 'lo');
  const del = shimCode(await h.shim('DEL', sb));
  if (msg) expect(String(out.json?.['msg'])).toMatch(msg);
  return { add: out.json?.['code'], ran, attached, del };
}

const refused = (code: number): Refusal => ({ add: code, ran: 0, attached: [], del: 0 });

/** ADD must fail with `code`, with nothing attached, no plugin run, and the following DEL must succeed. */
async function expectRefused(sb: SandboxRef, code: number, msg?: RegExp): Promise<void> {
  expect(await refusal(sb, msg), h.daemonLog.slice(-1500)).toEqual(refused(code));
  for (let i = 0; i < 2; i++) await h.shim('DEL', sb);
  made.splice(made.indexOf(sb), 1);
  await expectNoLeaks(h, [sb]);
}

describe('plugin types that are paths', () => {
  it('relative, absolute, through a symlinked dir, "..", NUL, empty: code 7, nothing outside runs', async () => {
    await symlink(outside, join(h.binDir, 'linkdir'));
    const fromBin = `../${basename(h.root)}/outside/evil`;
    const types = [
      fromBin,
      '../../bin/sh',
      join(outside, 'evil'),
      '/bin/sh',
      'linkdir/evil',
      '..',
      'evil\u0000',
      '',
    ];
    const got: Record<string, Refusal> = {};
    for (const type of types) {
      const nad = await rawNad(JSON.stringify({ cniVersion: '1.0.0', type, hangOn: [], recordFile: rec() }));
      got[type] = await refusal(await podWith(nad));
    }
    expect(got).toEqual(Object.fromEntries(types.map((t) => [t, refused(7)])));
    expect(readCalls(rec()), 'a plugin outside the bin dir ran').toEqual([]);
  });

  it('a link the bin dir owner placed is followed (as libcni): it runs under its bin dir name', async () => {
    await symlink(join(outside, 'evil'), join(h.binDir, 'linked'));
    const nad = await rawNad(
      JSON.stringify({ cniVersion: '1.0.0', type: 'linked', hangOn: [], recordFile: rec() }),
    );
    const sb = await podWith(nad);
    expect(shimCode(await h.shim('ADD', sb))).toBe(0);
    const calls = readCalls(rec()).filter((c) => c.env['CNI_CONTAINERID'] === sb.containerId);
    expect(calls.map((c) => c.plugin)).toEqual(['linked']);
  });

  it('a non-executable entry or a directory of that name: code 7, not run', async () => {
    await writeFile(join(h.binDir, 'noexec'), '#!/bin/sh\necho {}\n');
    await chmod(join(h.binDir, 'noexec'), 0o644);
    await mkdir(join(h.binDir, 'adir'));
    const got: Record<string, Refusal> = {};
    for (const type of ['noexec', 'adir', 'no-such-plugin']) {
      const nad = await rawNad(JSON.stringify({ cniVersion: '1.0.0', type }));
      got[type] = await refusal(await podWith(nad), /failed to find plugin/);
    }
    expect(got).toEqual({ noexec: refused(7), adir: refused(7), 'no-such-plugin': refused(7) });
  });
});

describe('oversized configuration', () => {
  it('a conflist of 10,000 plugins: code 7 at once, not 10,000 executions', async () => {
    const plugins = Array.from({ length: 10_000 }, () => ({ type: 'rec', hangOn: [], recordFile: rec() }));
    const nad = await rawNad(JSON.stringify({ cniVersion: '1.0.0', name: 'many', plugins }));
    const sb = await podWith(nad);
    const add = h.shim('ADD', sb);
    const verdict = await Promise.race([
      add,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000)),
    ]);
    const ran = readCalls(rec()).filter((c) => c.env['CNI_CONTAINERID'] === sb.containerId).length;
    try {
      expect({
        answeredWithin15s: verdict !== undefined,
        pluginsRun: ran,
        code: verdict?.json?.['code'],
      }).toEqual({
        answeredWithin15s: true,
        pluginsRun: 0,
        code: 7,
      });
    } finally {
      if (verdict === undefined) {
        // Still walking the chain: stop it, and keep only the cluster network in its cache so that the DEL below
        // does not walk 10,000 plugins again.
        await h.stopDaemon('SIGKILL');
        for (const pid of pluginProcessesFor([sb.containerId])) process.kill(pid, 'SIGKILL');
        await waitForPluginsToFinish([sb.containerId]);
        const cacheFile = join(h.cniDir, sb.containerId);
        const entry = JSON.parse(await readFile(cacheFile, 'utf8')) as unknown[];
        await writeFile(cacheFile, JSON.stringify(entry.slice(0, 1)));
        await h.startDaemon();
        await add;
      }
      await h.core.deleteNamespacedPod({ namespace: 'default', name: sb.name, gracePeriodSeconds: 0 });
      await h.deleteNad('default', nad);
      await new Promise((r) => setTimeout(r, 300));
      await h.shim('DEL', sb);
      made.splice(made.indexOf(sb), 1);
    }
    await expectNoLeaks(h, [sb]);
  }, 90_000);

  it('a 1 MB annotation is refused by the API server itself (422): it never reaches the daemon', async () => {
    const huge = Array.from({ length: 256 * 1024 }, () => 'net').join(',');
    expect(huge.length).toBeGreaterThanOrEqual(1024 * 1024 - 1);
    await expect(h.createPod({ name: 'one-mb', annotations: { [NETWORKS]: huge } })).rejects.toThrow(
      /must have at most 262144 bytes/,
    );
  });

  it('the largest selection annotation the API accepts (250 KB), comma and JSON form: code 7, nothing run', async () => {
    const nad = await rawNad(
      JSON.stringify({ cniVersion: '1.0.0', type: 'rec', hangOn: [], recordFile: rec() }),
    );
    const comma = Array.from({ length: Math.floor(250_000 / (nad.length + 1)) }, () => nad).join(',');
    const json = JSON.stringify(
      Array.from({ length: Math.floor(250_000 / (nad.length + 12)) }, () => ({ name: nad })),
    );
    for (const value of [comma, json]) {
      expect(value.length).toBeGreaterThan(240_000);
      await expectRefused(await podWith(value), 7, /more than the limit/);
    }
  });
});

describe('text that is not valid Unicode, duplicate keys', () => {
  it('a lone surrogate in spec.config is code 6; in the annotation, code 7', async () => {
    const nad = await rawNad(
      `{"cniVersion":"1.0.0","type":"rec","hangOn":[],"note":"x\ud800y","recordFile":"${rec()}"}`,
    );
    await expectRefused(await podWith(nad), 6);
    await expectRefused(await podWith('\ud800'), 7);
  });

  it("invalid UTF-8 in the config on the shim's stdin: code 6", async () => {
    const sb = await h.createPod({ name: uniqueName('utf8', 40) });
    made.push(sb);
    all.push(sb);
    const conf = await h.multusConf();
    const bytes = Buffer.concat([
      Buffer.from(conf.slice(0, conf.lastIndexOf('}'))),
      Buffer.from([0x2c, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
    ]);
    const out = await h.shim('ADD', sb, { stdin: bytes });
    expect(out.json, out.stdout).toMatchObject({ cniVersion: '1.0.0', code: 6 });
    expect((await listLinks(sb.netnsName)).map((l) => l.ifname)).toEqual(['lo']);
  });

  it('duplicate keys in spec.config: the last wins, for the daemon and the plugin alike', async () => {
    const ok = await rawNad(
      `{"cniVersion":"1.0.0","type":"../../bin/sh","type":"rec","hangOn":[],"recordFile":"${rec()}"}`,
    );
    const sb = await podWith(ok);
    expect(shimCode(await h.shim('ADD', sb))).toBe(0);
    const call = readCalls(rec()).find((c) => c.env['CNI_CONTAINERID'] === sb.containerId);
    expect((call?.stdin as { type?: string } | undefined)?.type).toBe('rec');
    // Gone before the refused one is checked: its leak check looks at the whole node.
    expect(shimCode(await h.shim('DEL', sb))).toBe(0);
    made.splice(made.indexOf(sb), 1);
    const refusedNad = await rawNad(
      `{"cniVersion":"1.0.0","type":"rec","type":"../../bin/sh","recordFile":"${rec()}"}`,
    );
    await expectRefused(await podWith(refusedNad), 7);
  });

  it('duplicate "name" in a selection element: the last wins, as in Go', async () => {
    const nad = await rawNad(
      JSON.stringify({ cniVersion: '1.0.0', type: 'rec', hangOn: [], recordFile: rec() }),
    );
    const sb = await podWith(`[{"name":"no-such-network","name":"${nad}"}]`);
    const out = await h.shim('ADD', sb);
    expect(shimCode(out), out.stdout).toBe(0);
    expect(
      readCalls(rec())
        .filter((c) => c.env['CNI_CONTAINERID'] === sb.containerId)
        .map((c) => c.command),
    ).toEqual(['ADD']);
  });
});
