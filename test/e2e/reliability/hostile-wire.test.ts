// Hostile requests on the daemon's socket (the wire format upstream's shim and ours speak), each with the exact CNI
// code it must get, and CNI_ARGS injection through the runtime's environment: a value cannot smuggle a pair, and
// delegates receive only the pairs the daemon builds. The daemon must answer every one and stay up.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NodeHarness, type SandboxRef } from '../../support/daemon-harness.ts';
import { installFakePlugin, readCalls } from '../../support/fake-plugins/install.ts';
import { TestScope } from '../../support/netns.ts';
import {
  cniEnv,
  expectDaemonAlive,
  expectNetnsGone,
  expectNoLeaks,
  NETWORKS,
  postRaw,
  shimCode,
  wireBody,
} from './support.ts';

let h: NodeHarness;
let recordDir: string;
let sb: SandboxRef;
const made: SandboxRef[] = [];

beforeAll(async () => {
  h = await NodeHarness.start({ cniVersion: '1.0.0' });
  recordDir = await mkdtemp(join(tmpdir(), 'mts-rel-wire-'));
  // "rec": the hang fake with nothing to hang on, i.e. a recorder that takes its record file from the config.
  await installFakePlugin(h.binDir, 'rec', 'hang');
  await h.createNad('default', 'rec', {
    cniVersion: '1.0.0',
    type: 'rec',
    hangOn: [],
    recordFile: recordFile(),
  });
  sb = await h.createPod({ name: 'wire-target' });
  made.push(sb);
});
afterEach(async () => {
  expectDaemonAlive(h);
});
afterAll(async () => {
  for (const s of made) await h?.shim('DEL', s);
  await h?.stop();
  await TestScope.cleanupAll();
  if (recordDir) await rm(recordDir, { recursive: true, force: true });
  expectNetnsGone(made);
});

function recordFile(): string {
  return join(recordDir, 'rec.jsonl');
}

async function conf(): Promise<string> {
  return h.multusConf();
}

/** POSTs a body to /cni (raw output, as our shim asks) and returns HTTP status and the CNI error code. */
async function cni(
  body: string | Buffer,
  path = '/cni',
): Promise<{ status: number; code: unknown; msg: unknown }> {
  const r = await postRaw(h, path, body, { headers: { 'x-multus-ts-output': 'raw' } });
  return { status: r.status, code: r.json?.['code'], msg: r.json?.['msg'] };
}

describe('malformed bodies on /cni and /delegate', () => {
  for (const path of ['/cni', '/delegate']) {
    it(`${path}: not JSON, wrong types, bad base64, missing or unknown command: codes 6, 6, 6, 4, 4`, async () => {
      const env = cniEnv(sb, 'ADD');
      expect(await cni('{"env":', path)).toMatchObject({ status: 400, code: 6 });
      expect(await cni('[1,2,3]', path)).toMatchObject({ status: 400, code: 6 });
      expect(await cni(JSON.stringify({ env: { CNI_COMMAND: 7 } }), path)).toMatchObject({
        status: 400,
        code: 6,
      });
      expect(await cni(JSON.stringify({ env, config: 42 }), path)).toMatchObject({ status: 400, code: 6 });
      for (const bad of [
        '!!!!',
        'abc',
        'YWJj\nZA==',
        'YW Jj',
        '====',
        'YWJjZA=',
        '\u00e9\u00e9\u00e9\u00e9',
      ]) {
        expect(await cni(JSON.stringify({ env, config: bad }), path), bad).toMatchObject({
          status: 400,
          code: 6,
        });
      }
      const noCommand = { ...env, CNI_COMMAND: '' };
      expect(await cni(wireBody(noCommand, '{}'), path)).toMatchObject({ status: 400, code: 4 });
      expect(await cni(wireBody({ ...env, CNI_COMMAND: 'ADD;DEL' }, '{}'), path)).toMatchObject({ code: 4 });
      expect(await cni(wireBody({ ...env, CNI_COMMAND: 'add' }, '{}'), path)).toMatchObject({ code: 4 });
    });
  }

  it('a body over the 8 MiB limit: HTTP 400 with code 7 (or the connection cut), the daemon keeps answering', async () => {
    const huge = JSON.stringify({ env: cniEnv(sb, 'ADD'), config: 'A'.repeat(9 * 1024 * 1024) });
    // The daemon answers as soon as the limit is crossed and closes the connection, so a client still writing
    // may see EPIPE instead of the answer.
    const outcome = await cni(huge).then(
      (r) => `${r.status} code ${r.code}`,
      (e: NodeJS.ErrnoException) => `cut (${e.code})`,
    );
    expect(outcome).toMatch(/^400 code 7$|^cut \((EPIPE|ECONNRESET)\)$/);
    expect(await cni(wireBody(cniEnv(sb, 'VERSION'), '{}'))).toMatchObject({ status: 200 });
  });

  it('a config over 1 MiB inside a valid body: code 7', async () => {
    const big = JSON.stringify({ ...JSON.parse(await conf()), pad: 'x'.repeat(1024 * 1024) });
    expect(await cni(wireBody(cniEnv(sb, 'ADD'), big))).toMatchObject({ status: 400, code: 7 });
  });

  it('a deeply nested body (1 MiB of "[") is code 6, not a stack overflow', async () => {
    expect(await cni('['.repeat(1024 * 1024))).toMatchObject({ status: 400, code: 6 });
    const deepConfig = `{"cniVersion":"1.0.0","type":"multus-shim","x":${'['.repeat(500_000)}`;
    expect(await cni(wireBody(cniEnv(sb, 'ADD'), deepConfig))).toMatchObject({ status: 400, code: 6 });
  });

  it('invalid UTF-8: in the config it is code 6; in the request body itself, code 6 too', async () => {
    const config = Buffer.concat([
      Buffer.from('{"cniVersion":"1.0.0","name":"x'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    expect(await cni(wireBody(cniEnv(sb, 'ADD'), config))).toMatchObject({ status: 400, code: 6 });
    // The sender's bytes are not text: the daemon must not act on a guess of what they meant (here the interface
    // name it would create in the pod).
    const pod = await h.createPod({ name: 'utf8-pod' });
    made.push(pod);
    try {
      const body = Buffer.from(wireBody({ ...cniEnv(pod, 'ADD'), CNI_IFNAME: 'IFNAME' }, await conf()));
      body[body.indexOf('IFNAME')] = 0xff; // "\xffFNAME"
      expect(await cni(body)).toMatchObject({ status: 400, code: 6 });
    } finally {
      await h.shim('DEL', pod);
    }
    await expectNoLeaks(h, [pod]);
  });

  it('duplicate JSON keys: the last one wins, as in Go (the body answers the second command)', async () => {
    const first = JSON.stringify(cniEnv(sb, 'DEL'));
    const body = `{"env":${first},"config":"e30=","env":${JSON.stringify({ CNI_COMMAND: 'VERSION' })}}`;
    const r = await postRaw(h, '/cni', body);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).Result).toMatchObject({
      cniVersion: '1.1.0',
      supportedVersions: expect.any(Array),
    });
  });

  it('container IDs that are paths or hostile: code 4 for ADD, CHECK and DEL (never 999)', async () => {
    const got: string[] = [];
    for (const command of ['ADD', 'CHECK', 'DEL']) {
      for (const id of ['../../etc', 'a/b', '.hidden', 'x\u0000y', 'a b', '-rf']) {
        const r = await cni(wireBody({ ...cniEnv(sb, command), CNI_CONTAINERID: id }, await conf()));
        got.push(`${command} CNI_CONTAINERID=${JSON.stringify(id)}: ${r.status} code ${r.code}`);
      }
    }
    expect(got).toEqual(got.map((line) => line.replace(/: .*$/, ': 400 code 4')));
    await expectNoLeaks(h);
  });

  it('an interface name that is a path or too long: ADD gets code 4 (a bad CNI_IFNAME is a bad environment)', async () => {
    const got: string[] = [];
    for (const ifName of ['../x', 'a:b', 'way-too-long-ifname', '.', 'a b']) {
      const r = await cni(wireBody({ ...cniEnv(sb, 'ADD'), CNI_IFNAME: ifName }, await conf()));
      got.push(`ADD CNI_IFNAME=${JSON.stringify(ifName)}: ${r.status} code ${r.code}`);
    }
    expect(got).toEqual(got.map((line) => line.replace(/: .*$/, ': 400 code 4')));
    await expectNoLeaks(h);
  });

  it('other methods and paths: 405 and 404, no CNI work', async () => {
    expect((await postRaw(h, '/cni', '', { method: 'GET' })).status).toBe(405);
    expect((await postRaw(h, '/delegate', '', { method: 'PUT' })).status).toBe(405);
    expect((await postRaw(h, '/../cni', '{}')).status).toBe(404);
    expect((await postRaw(h, '/cni/../../etc/passwd', '{}')).status).toBe(404);
  });
});

describe('CNI_ARGS injection', () => {
  const base = () => `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_INFRA_CONTAINER_ID=${sb.containerId}`;

  it('a value holding "=", a pair without "=", a key with a blank, a control character: code 4', async () => {
    for (const args of [
      `${base()};K8S_POD_NAME=wire-target=x`,
      `${base()};K8S_POD_NAME=wire-target;EVIL`,
      `${base()};K8S_POD_NAME=wire-target;EV IL=1`,
      `${base()};K8S_POD_NAME=wire-target\nK8S_POD_NAMESPACE=kube-system`,
      `${base()};K8S_POD_NAME=wire-target;K8S_POD_UID=${'u'.repeat(200)}`,
      `${base()};K8S_POD_NAME=../../wire-target`,
    ]) {
      const out = await h.shim('ADD', sb, { env: { CNI_ARGS: args } });
      expect(shimCode(out), `CNI_ARGS=${JSON.stringify(args)}: ${out.stdout}`).toBe(4);
    }
    await expectNoLeaks(h);
  });

  it('delegates get only the pairs the daemon builds; cni-args values stay inside the JSON config', async () => {
    const pod = await h.createPod({
      name: 'args-pod',
      annotations: {
        [NETWORKS]: JSON.stringify([{ name: 'rec', 'cni-args': { note: 'a;K8S_POD_NAME=evil=1' } }]),
      },
    });
    made.push(pod);
    const args = `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=args-pod;K8S_POD_INFRA_CONTAINER_ID=${pod.containerId};K8S_POD_UID=${pod.uid};FOO=bar;IP=10.9.9.9;MAC=0a:58:0a:00:00:01`;
    const out = await h.shim('ADD', pod, { env: { CNI_ARGS: args } });
    expect(shimCode(out), out.stdout + h.daemonLog.slice(-2000)).toBe(0);
    const call = readCalls(recordFile()).find(
      (c) => c.command === 'ADD' && c.env['CNI_CONTAINERID'] === pod.containerId,
    );
    expect(call?.env['CNI_ARGS']).toBe(
      `IgnoreUnknown=true;K8S_POD_NAMESPACE=default;K8S_POD_NAME=args-pod;K8S_POD_INFRA_CONTAINER_ID=${pod.containerId};K8S_POD_UID=${pod.uid}`,
    );
    expect((call?.stdin as { args?: unknown } | undefined)?.args).toEqual({
      cni: { note: 'a;K8S_POD_NAME=evil=1' },
    });
    expect(shimCode(await h.shim('DEL', pod))).toBe(0);
    made.splice(made.indexOf(pod), 1);
    await expectNoLeaks(h);
  });
});
