// KubeClient.setTarget (per-node certificate rotation): new requests use the new client certificate at once, a
// watch opened with the old one keeps running until the grace period ends, and then breaks (so its informer
// re-watches with the new certificate).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  issueClientCertificate,
  type KubeEmulator,
  startKubeEmulator,
} from '../../../../test/support/kube/index.ts';
import type { KubeTarget } from './config.ts';
import { KubeClient } from './http.ts';

let emu: KubeEmulator;
let client: KubeClient | undefined;

beforeEach(async () => {
  emu = await startKubeEmulator({ tls: true, autoNamespaces: true });
  emu.auth.certificates.grant({ group: 'system:multus' });
});
afterEach(async () => {
  client?.close();
  client = undefined;
  await emu.close();
});

async function certTarget(): Promise<{ target: KubeTarget; serial: string }> {
  const c = await issueClientCertificate(emu, {
    commonName: 'system:multus:n1',
    organizations: ['system:multus'],
  });
  return {
    serial: c.serial,
    target: {
      server: emu.url,
      ca: Buffer.from(emu.caPem as string),
      cert: Buffer.from(c.certPem),
      key: Buffer.from(c.keyPem),
      insecureSkipTlsVerify: false,
      token: () => undefined,
    },
  };
}

describe('KubeClient.setTarget', () => {
  it('sends new requests with the new certificate and retires the old connections after the grace period', async () => {
    const a = await certTarget();
    const b = await certTarget();
    client = new KubeClient(a.target);
    await client.request('GET', '/api/v1/namespaces/default/pods');
    const seen: string[] = [];
    const abort = new AbortController();
    const watching = client.watch(
      '/api/v1/namespaces/default/pods',
      { resourceVersion: String(emu.store.resourceVersion) },
      (_type, obj) => seen.push(String((obj as { metadata?: { name?: string } }).metadata?.name)),
      abort.signal,
      60_000,
    );
    const outcome = watching.then(
      () => 'ended',
      (err: Error) => `broken: ${err.message}`,
    );
    while (emu.watches.size === 0) await new Promise((r) => setTimeout(r, 10));

    client.setTarget(b.target, 300);
    expect(client.target).toBe(b.target);
    await client.request('POST', '/api/v1/namespaces/default/pods', {
      body: { metadata: { name: 'p1' }, spec: { containers: [{ name: 'c', image: 'x' }] } },
    });
    expect(emu.auth.log.count('system:multus:n1', `x509:${b.serial}`)).toBe(1);
    expect(emu.auth.log.count('system:multus:n1', `x509:${a.serial}`)).toBe(2);
    // the watch opened with the old certificate still delivers, until the grace period is over
    while (seen.length === 0) await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual(['p1']);
    expect(await outcome).toMatch(/^broken: /);
  });
});
