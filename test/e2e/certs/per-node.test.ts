// perNodeCertificate end to end: the real daemon, the API emulator in TLS mode, a bootstrap token that may only
// create, get and watch CSRs, and a test-side approver/signer (openssl, the emulator's CA). The daemon gets its
// certificate before it starts its informers, serves ADD as system:multus:node-1, reuses the stored certificate
// after a restart (no new CSR), and rotates a certificate that is due while it runs.
import { spawn } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DAEMON_MAIN, NodeHarness, type SandboxRef } from '../../support/daemon-harness.ts';
import {
  type CsrApprover,
  issueClientCertificate,
  kubeConfigFor,
  type PolicyRule,
  RESOURCES,
  type ResourceDef,
  startCsrApprover,
  writeKubeconfig,
} from '../../support/kube/index.ts';
import { TestScope } from '../../support/netns.ts';
import { findObject, loadYamlObjects, PLAIN_MANIFEST } from '../manifests/_manifests.ts';

const BOOTSTRAP = 'bootstrap-node-1';
const NODE_USER = 'system:multus:node-1';
const CSR_RULE: PolicyRule = {
  apiGroups: ['certificates.k8s.io'],
  resources: ['certificatesigningrequests'],
  verbs: ['create', 'get', 'watch'],
};
const CSR_RESOURCE = 'certificatesigningrequests.certificates.k8s.io';
const CSR_DEF = RESOURCES.find((d) => d.plural === 'certificatesigningrequests') as ResourceDef;
const role = findObject(loadYamlObjects(PLAIN_MANIFEST), 'ClusterRole', 'multus') as unknown as {
  rules: PolicyRule[];
};

let h: NodeHarness;
let approver: CsrApprover;
let certDir: string;
const made: SandboxRef[] = [];

beforeAll(async () => {
  h = await NodeHarness.start({
    deferDaemon: true,
    emulator: {
      tls: true,
      tokens: [
        {
          token: BOOTSTRAP,
          user: 'system:node:node-1',
          groups: ['system:nodes', 'system:authenticated'],
          rules: [CSR_RULE],
        },
      ],
    },
  });
  // The harness's own clients need the CA in TLS mode.
  const kc = kubeConfigFor(h.emulator);
  h.core = kc.makeApiClient(k8s.CoreV1Api);
  h.custom = kc.makeApiClient(k8s.CustomObjectsApi);
  // What a cluster binds to the group system:multus: the DaemonSet's ClusterRole, and CSRs for rotation.
  h.emulator.auth.certificates.grant({ group: 'system:multus', rules: [...role.rules, CSR_RULE] });
  const bootstrapKubeconfig = await writeKubeconfig(h.root, h.emulator.url, BOOTSTRAP, {
    caPem: h.emulator.caPem as string,
    fileName: 'bootstrap.kubeconfig',
  });
  certDir = join(h.root, 'multus-certs');
  const cfg = JSON.parse(await readFile(h.daemonConfigPath, 'utf8')) as Record<string, unknown>;
  // `kubeconfig` stays (an admin token without the CA): with perNodeCertificate it must be ignored.
  await writeFile(
    h.daemonConfigPath,
    JSON.stringify({ ...cfg, perNodeCertificate: { enabled: true, bootstrapKubeconfig, certDir } }),
  );
  await h.createNad('default', 'mv', {
    cniVersion: '0.3.1',
    type: 'macvlan',
    master: 'eth0',
    mode: 'bridge',
    ipam: h.hostLocal('mv', { subnet: '10.9.1.0/24' }),
  });
  approver = await startCsrApprover(h.emulator);
}, 60_000);
afterEach(async () => {
  for (const sb of made.splice(0)) await h.shim('DEL', sb);
});
afterAll(async () => {
  await approver?.stop();
  await h?.stop();
  await TestScope.cleanupAll();
});

/** Creates a pod with a macvlan attachment, runs ADD through the shim, and checks its network-status. */
async function addPod(name: string): Promise<void> {
  const sb = await h.createPod({ name, annotations: { 'k8s.v1.cni.cncf.io/networks': 'mv' } });
  made.push(sb);
  h.emulator.auth.log.reset();
  h.emulator.stats.reset();
  const out = await h.shim('ADD', sb);
  expect(out.code, `${out.stdout}\n${h.daemonLog.slice(-3000)}`).toBe(0);
  // Every request of this ADD came from the daemon's node certificate (the status PATCH follows the reply).
  const patched = () => h.emulator.stats.count({ verb: 'patch', resource: 'pods/status', code: 200 });
  for (const deadline = Date.now() + 10_000; patched() === 0 && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(patched()).toBe(1);
  const who = h.emulator.auth.log.entries();
  expect(who.length).toBeGreaterThan(0);
  expect(who.every((e) => e.user === NODE_USER && e.credential.startsWith('x509:'))).toBe(true);
  const status = await h.networkStatus('default', name);
  expect(JSON.parse(status).map((s: { name: string }) => s.name)).toEqual(['cbr0', 'default/mv']);
}

const storedSerial = async () => {
  const { X509Certificate } = await import('node:crypto');
  return new X509Certificate(await readFile(join(certDir, 'multus-client-current.pem'))).serialNumber;
};

describe('perNodeCertificate', () => {
  it('gets a certificate through a CSR with the bootstrap token, then works as system:multus:node-1', async () => {
    await h.startDaemon();
    expect(approver.failures).toEqual([]);
    expect(approver.issued).toHaveLength(1);
    const csr = h.emulator.store.list(CSR_DEF, '').entries[0]?.object;
    expect(csr?.spec).toMatchObject({
      username: 'system:node:node-1',
      signerName: 'kubernetes.io/kube-apiserver-client',
      expirationSeconds: 600,
      usages: ['digital signature', 'client auth'],
    });
    expect((await stat(join(certDir, 'multus-client-current.pem'))).mode & 0o777).toBe(0o600);
    expect(await storedSerial()).toBe(approver.issued[0]?.serial);
    // the bootstrap token did nothing but the CSR
    const bootstrapUse = h.emulator.auth.log.count('system:node:node-1');
    expect(bootstrapUse).toBeGreaterThanOrEqual(2);
    expect(bootstrapUse).toBe(h.emulator.stats.count({ resource: CSR_RESOURCE }));
    expect(h.emulator.stats.count({ code: 403 }) + h.emulator.stats.count({ code: 401 })).toBe(0);
    await addPod('pnc-first');
    expect(h.emulator.auth.log.count(NODE_USER, `x509:${approver.issued[0]?.serial}`)).toBeGreaterThan(0);
  });

  it('reuses the stored certificate after a restart, without a new CSR', async () => {
    expect(await h.stopDaemon()).toBe(0);
    h.emulator.stats.reset();
    h.daemonLog = '';
    await h.startDaemon();
    expect(h.emulator.stats.count({ verb: 'create', resource: CSR_RESOURCE })).toBe(0);
    expect(approver.issued).toHaveLength(1);
    expect(h.daemonLog).toContain('using the stored per-node certificate');
    await addPod('pnc-restart');
    expect(h.emulator.auth.log.count(NODE_USER, `x509:${approver.issued[0]?.serial}`)).toBeGreaterThan(0);
  });

  it('rotates a certificate that is due while it runs, asking as the node, and switches to the new one', async () => {
    expect(await h.stopDaemon()).toBe(0);
    // A certificate late in its life (70-90% of it is behind it), as a node finds after a long downtime.
    const late = await issueClientCertificate(h.emulator, {
      commonName: NODE_USER,
      organizations: ['system:multus'],
      notBefore: new Date(Date.now() - 560_000),
      notAfter: new Date(Date.now() + 60_000),
    });
    await writeFile(join(certDir, 'multus-client-current.pem'), `${late.certPem}${late.keyPem}`, {
      mode: 0o600,
    });
    h.daemonLog = '';
    await h.startDaemon();
    const issued = await approver.waitForIssued(2, 30_000);
    expect(approver.failures).toEqual([]);
    // The rotation CSR was sent with the current (late) certificate, not the bootstrap token.
    expect(approver.issued).toHaveLength(2);
    expect(h.emulator.auth.log.count(NODE_USER, `x509:${late.serial}`)).toBeGreaterThan(0);
    const deadline = Date.now() + 15_000;
    while (!h.daemonLog.includes('per-node certificate issued') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(h.daemonLog).toContain('per-node certificate issued');
    expect(await storedSerial()).toBe(issued.serial);
    await addPod('pnc-rotated');
    expect(h.emulator.auth.log.count(NODE_USER, `x509:${issued.serial}`)).toBeGreaterThan(0);
    expect(h.emulator.auth.log.count(NODE_USER, `x509:${late.serial}`)).toBe(0);
  });

  it("refuses to start without MULTUS_NODE_NAME, with upstream's message", async () => {
    expect(await h.stopDaemon()).toBe(0);
    const child = spawn(process.execPath, [DAEMON_MAIN, '-config', h.daemonConfigPath], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).not.toBe(0);
    expect(err).toContain(
      'error getting node name for perNodeCertificate, please check manifest to have MULTUS_NODE_NAME',
    );
  });
});
