// Graceful shutdown and readiness (issue 5): SIGTERM lets in-flight ADDs finish and exits 0 with /readyz at 500
// meanwhile; the readiness indicator file holds ADD back (code 11) while it is missing, without exiting.

import { rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeHarness, type SandboxRef } from '../../support/daemon-harness.ts';
import { TestScope } from '../../support/netns.ts';
import { installSlowPlugin } from './_slow-plugin.ts';

let h: NodeHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
  await TestScope.cleanupAll();
});

function readyz(socketPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method: 'GET', path: '/readyz', headers: { host: 'dummy' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('graceful shutdown', () => {
  it('SIGTERM during 10 in-flight ADDs: /readyz answers 500, all 10 finish, the daemon exits 0, the socket stays', async () => {
    h = await NodeHarness.start({
      cniVersion: '1.0.0',
      daemonConfig: { maxConcurrentDelegates: 10, shutdownGraceSeconds: 20 },
    });
    await installSlowPlugin(h.binDir, 'slowsh', join(h.root, 'slow.log'), 1.5);
    await h.createNad('default', 'slow', { cniVersion: '1.0.0', name: 'slow', type: 'slowsh' });
    const pods: SandboxRef[] = [];
    for (let i = 0; i < 10; i++) {
      pods.push(
        await h.createPod({
          name: `p${i}`,
          annotations: { 'v1.multus-cni.io/default-network': 'default/slow' },
        }),
      );
    }
    const adds = pods.map((sb) => h!.shim('ADD', sb));
    await new Promise((r) => setTimeout(r, 500));
    const socket = join(h.socketDir, 'multus.sock');
    const exited = new Promise<number | null>((r) => h!.daemon!.once('exit', (code) => r(code)));
    h.daemon!.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    expect(await readyz(socket)).toBe(500);
    const results = await Promise.all(adds);
    expect(results.map((r) => r.code)).toEqual(Array(10).fill(0));
    expect(await exited).toBe(0);
    h.daemon = undefined;
    const { existsSync } = await import('node:fs');
    expect(existsSync(socket), 'the socket file stays so DELs are retried during the restart').toBe(true);
    const del = await h.shim('DEL', pods[0]!, { env: { MULTUS_SHIM_DEL_WAIT_MS: '300' } });
    expect(del.json, 'DEL against a stopped daemon asks for a retry').toMatchObject({ code: 11 });
  }, 60_000);
});

describe('readiness indicator', () => {
  it('ADD fails with code 11 while the file is missing and works once it is back; the daemon keeps running', async () => {
    const dir = await new TestScope().tempDir('multus-ts-ready-');
    const indicator = join(dir, 'ready');
    h = await NodeHarness.start({
      daemonConfig: { readinessindicatorfile: indicator, readinessIndicatorWaitSeconds: 1 },
    });
    const sb = await h.createPod({ name: 'waits' });
    const before = await h.shim('ADD', sb);
    expect(before.json).toMatchObject({ code: 11 });
    expect(String(before.json?.['msg'])).toMatch(/readiness indicator/);
    await writeFile(indicator, '');
    await new Promise((r) => setTimeout(r, 1500));
    const after = await h.shim('ADD', sb);
    expect(after.code, after.stdout).toBe(0);
    await rm(indicator);
    await new Promise((r) => setTimeout(r, 1500));
    const sb2 = await h.createPod({ name: 'waits-again' });
    expect((await h.shim('ADD', sb2)).json).toMatchObject({ code: 11 });
    expect(h.daemon?.exitCode).toBe(null);
    expect((await h.shim('DEL', sb)).code, 'DEL does not wait for readiness').toBe(0);
  }, 60_000);
});
