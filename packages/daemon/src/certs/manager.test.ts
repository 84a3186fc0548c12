// The per-node certificate manager against the API emulator in TLS mode, with the test-side approver/signer
// (openssl, the emulator's CA) standing in for cert-approver and the kube-controller-manager signer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type CsrApprover,
  type CsrDecision,
  type CsrView,
  certApproverRules,
  issueClientCertificate,
  type KubeEmulator,
  type KubeObject,
  type PolicyRule,
  RESOURCES,
  type ResourceDef,
  startCsrApprover,
  startKubeEmulator,
  writeKubeconfig,
} from '../../../../test/support/kube/index.ts';
import { kubeconfigTarget } from '../kube/config.ts';
import { KubeClient } from '../kube/http.ts';
import { NODE_NAME_REQUIRED, setUpPerNodeCertificate } from './index.ts';
import { CertManager, type CertManagerOptions, ROTATION_WINDOW, rotationDeadline } from './manager.ts';
import { loadCert } from './store.ts';

const CSR_RULE: PolicyRule = {
  apiGroups: ['certificates.k8s.io'],
  resources: ['certificatesigningrequests'],
  verbs: ['create', 'get', 'watch'],
};
const BOOTSTRAP = 'bootstrap-node-1';
const TEN_MINUTES = 600_000;

let emu: KubeEmulator;
let dir: string;
let bootstrapFile: string;
let approver: CsrApprover | undefined;
const logs: string[] = [];

async function start(bootstrapRules: PolicyRule[] = [CSR_RULE]): Promise<void> {
  emu = await startKubeEmulator({
    tls: true,
    tokens: [
      {
        token: BOOTSTRAP,
        user: 'system:node:node-1',
        groups: ['system:nodes', 'system:authenticated'],
        rules: bootstrapRules,
      },
    ],
  });
  emu.auth.certificates.grant({
    group: 'system:multus',
    rules: [CSR_RULE, { apiGroups: [''], resources: ['pods'], verbs: ['list'] }],
  });
  bootstrapFile = await writeKubeconfig(dir, emu.url, BOOTSTRAP, {
    caPem: emu.caPem as string,
    fileName: 'bootstrap',
  });
}

function manager(opts: Partial<CertManagerOptions> = {}): CertManager {
  return new CertManager({
    certDir: join(dir, 'certs'),
    nodeName: 'node-1',
    certDurationMs: TEN_MINUTES,
    bootstrap: () => kubeconfigTarget(bootstrapFile),
    log: (level, msg, fields) => logs.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`),
    ...opts,
  });
}

const CSR_DEF = RESOURCES.find((d) => d.plural === 'certificatesigningrequests') as ResourceDef;
const csrCreates = () =>
  emu.stats.count({ verb: 'create', resource: 'certificatesigningrequests.certificates.k8s.io' });
/** The CSRs in the emulator, oldest first. */
const csrs = () =>
  emu.store
    .list(CSR_DEF, '')
    .entries.map((e) => e.object)
    .sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mts-certmgr-'));
  logs.length = 0;
});
afterEach(async () => {
  await approver?.stop();
  approver = undefined;
  await emu?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('rotationDeadline', () => {
  it('falls between 70% and 90% of the lifetime, by the jitter', () => {
    expect(ROTATION_WINDOW).toEqual({ from: 0.7, to: 0.9 });
    expect(rotationDeadline(1000, 2000, () => 0)).toBe(1700);
    expect(rotationDeadline(1000, 2000, () => 1)).toBe(1900);
    expect(rotationDeadline(1000, 2000, () => 0.5)).toBe(1800);
    expect(rotationDeadline(1000, 2000, () => -3)).toBe(1700);
    expect(rotationDeadline(1000, 2000, () => 7)).toBe(1900);
  });
});

describe('CertManager', () => {
  it('requests a certificate with the bootstrap credentials and reuses the stored one after a restart', async () => {
    await start();
    approver = await startCsrApprover(emu);
    const target = await manager().init();
    expect(target.token()).toBeUndefined();
    expect(target.cert?.toString()).toContain('BEGIN CERTIFICATE');
    expect(target.ca?.toString()).toBe(emu.caPem);
    const [csr] = csrs();
    expect(csr?.spec).toMatchObject({
      signerName: 'kubernetes.io/kube-apiserver-client',
      usages: ['digital signature', 'client auth'],
      expirationSeconds: 600,
      username: 'system:node:node-1',
    });
    expect(approver.failures).toEqual([]);
    const issued = approver.issued[0];
    const stored = await loadCert(join(dir, 'certs'));
    expect(stored.leaf.serialNumber).toBe(issued?.serial);
    expect(stored.leaf.subject).toBe('O=system:multus\nCN=system:multus:node-1');
    // the daemon's requests now come from system:multus:node-1, with this certificate
    const client = new KubeClient(target);
    try {
      await client.request('GET', '/api/v1/pods');
    } finally {
      client.close();
    }
    expect(emu.auth.log.count('system:multus:node-1', `x509:${issued?.serial}`)).toBe(1);

    const again = await manager().init();
    expect(csrCreates()).toBe(1);
    expect(again.cert?.toString()).toBe(target.cert?.toString());
    expect(logs.some((l) => l.startsWith('info using the stored per-node certificate'))).toBe(true);
  });

  it('rotates a certificate that is due with a CSR sent as the node, and switches the client to it', async () => {
    await start();
    const decide = (csr: CsrView, index: number): CsrDecision => {
      const verdict = certApproverRules(csr);
      // the first certificate is issued late in its life: its rotation deadline has passed already
      if (index === 0)
        return {
          ...verdict,
          notBefore: new Date(Date.now() - 560_000),
          notAfter: new Date(Date.now() + 40_000),
        };
      return verdict;
    };
    approver = await startCsrApprover(emu, { decide });
    const m = manager({ random: () => 0.5 });
    const client = new KubeClient(await m.init());
    try {
      const first = approver.issued[0];
      const rotated = new Promise<void>((resolve) =>
        m.start((t) => {
          client.setTarget(t);
          resolve();
        }),
      );
      await rotated;
      const second = approver.issued[1];
      expect(second?.serial).not.toBe(first?.serial);
      expect(csrs()[1]?.spec).toMatchObject({
        username: 'system:multus:node-1',
        groups: ['system:multus', 'system:authenticated'],
      });
      expect((await loadCert(join(dir, 'certs'))).leaf.serialNumber).toBe(second?.serial);
      // the next rotation is scheduled from the new certificate, at 80% (random 0.5) of its lifetime
      const cur = m.current;
      expect(m.rotateAt).toBe(rotationDeadline(cur?.notBefore ?? 0, cur?.notAfter ?? 0, () => 0.5));
      expect(m.rotateAt).toBeGreaterThan(Date.now());
      await client.request('GET', '/api/v1/pods');
      expect(emu.auth.log.count('system:multus:node-1', `x509:${second?.serial}`)).toBe(1);
      expect(approver.failures).toEqual([]);
    } finally {
      client.close();
      await m.stop();
    }
  });

  it('keeps the current certificate and retries when a rotation is refused', async () => {
    await start();
    approver = await startCsrApprover(emu, {
      decide: (csr, index) => (index === 1 ? { approve: false, message: 'not now' } : certApproverRules(csr)),
    });
    const m = manager();
    await m.init();
    const serial = m.current?.leaf.serialNumber;
    const rotations: string[] = [];
    m.start((t) => rotations.push(t.cert?.toString() ?? ''));
    await m.rotateNow();
    expect(m.current?.leaf.serialNumber).toBe(serial);
    expect(rotations).toHaveLength(0);
    expect(logs.find((l) => l.startsWith('error per-node certificate rotation failed'))).toContain(
      'certificate signing request is denied, reason: Denied, message: not now',
    );
    await m.rotateNow();
    expect(rotations).toHaveLength(1);
    expect(m.current?.leaf.serialNumber).not.toBe(serial);
    await m.stop();
  });

  it('stops at once while a rotation waits for a signature that does not come', async () => {
    await start();
    approver = await startCsrApprover(emu, {
      decide: (csr, index) => (index === 0 ? certApproverRules(csr) : { approve: false, message: 'never' }),
    });
    const m = manager({ waitTimeoutMs: 60_000 });
    await m.init();
    await approver.stop();
    approver = undefined; // from here nobody answers CSRs
    m.start(() => undefined);
    const rotation = m.rotateNow();
    while (csrCreates() < 2) await new Promise((r) => setTimeout(r, 10));
    // without the abort, stop() would wait for the 60 s deadline and the test would time out
    await m.stop();
    await rotation;
    expect(logs.find((l) => l.startsWith('error per-node certificate rotation failed'))).toBeUndefined();
  });

  it('requests a new certificate when the stored one has expired or names another node', async () => {
    await start();
    approver = await startCsrApprover(emu, {
      decide: (csr, index) =>
        index === 0
          ? {
              ...certApproverRules(csr),
              notBefore: new Date(Date.now() - 600_000),
              notAfter: new Date(Date.now() + 1500),
            }
          : certApproverRules(csr),
    });
    await manager().init();
    await new Promise((r) => setTimeout(r, 1600));
    await manager().init();
    expect(csrCreates()).toBe(2);
    expect(logs.some((l) => l.includes('the stored certificate expired at'))).toBe(true);
    // the expired certificate was not used for the new request: the bootstrap identity sent it
    expect(csrs()[1]?.spec).toMatchObject({ username: 'system:node:node-1' });

    // node-1's certificate is not node-2's: a new request is sent (and denied here, its sender being node-1)
    await expect(manager({ nodeName: 'node-2', waitTimeoutMs: 10_000 }).init()).rejects.toThrow(
      /last cert store err: the stored certificate is for O=system:multus, CN=system:multus:node-1 err: certificate signing request is denied/,
    );
    expect(approver.denied.length).toBeGreaterThan(0);
  });

  it('works with a bootstrap credential that may not watch (it polls with GET)', async () => {
    await start([{ ...CSR_RULE, verbs: ['create', 'get'] }]);
    approver = await startCsrApprover(emu);
    await manager().init();
    expect(approver.issued).toHaveLength(1);
    expect(emu.stats.count({ verb: 'watch', code: 403 })).toBeGreaterThan(0);
  });

  it("fails with upstream's message when the request is denied or never signed", async () => {
    await start();
    approver = await startCsrApprover(emu, { decide: () => ({ approve: false, message: 'no multus here' }) });
    // A generous wait: the denial ends it at once; under a loaded machine the approver may take a while to answer.
    await expect(manager({ waitTimeoutMs: 8000 }).init()).rejects.toThrow(
      /^certificate was not signed, last cert store err: no cert\/key file at .*multus-client-current\.pem err: certificate signing request is denied, reason: Denied, message: no multus here$/,
    );
    await approver.stop();
    approver = undefined;
    await expect(manager({ waitTimeoutMs: 1500 }).init()).rejects.toThrow(
      /err: timed out waiting for certificate signing request "csr-[a-z0-9]{5}" to be signed$/,
    );
  });

  it('fails when the bootstrap credential may not create CSRs, naming the 403', async () => {
    await start([{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }]);
    await expect(manager({ waitTimeoutMs: 1200 }).init()).rejects.toThrow(
      /err: cannot create certificate signing request: certificatesigningrequests.certificates.k8s.io is forbidden: User "system:node:node-1" cannot create/,
    );
  });

  it('refuses a signed certificate that does not belong to its key', async () => {
    await start();
    // A "signer" that answers every request with some other key's certificate.
    const foreign = await issueClientCertificate(emu, {
      commonName: 'system:multus:node-1',
      organizations: ['system:multus'],
    });
    const answer = (name: string) => {
      const approve = (o: KubeObject | undefined) => ({
        ...(o as KubeObject),
        status: { conditions: [{ type: 'Approved', status: 'True', reason: 'Test' }] },
      });
      emu.store.update(CSR_DEF, '', name, approve, { subresource: 'approval' });
      const sign = (o: KubeObject | undefined) => ({
        ...(o as KubeObject),
        status: {
          ...((o as KubeObject).status as object),
          certificate: Buffer.from(foreign.certPem).toString('base64'),
        },
      });
      emu.store.update(CSR_DEF, '', name, sign, { subresource: 'status' });
    };
    const off = emu.store.onEvent((e) => {
      if (e.storage === CSR_DEF.storage && e.type === 'ADDED')
        setTimeout(() => answer(e.object.metadata.name ?? ''), 0);
    });
    try {
      // A generous wait: the signed certificate ends it at once; a loaded machine may take a while to sign.
      await expect(manager({ waitTimeoutMs: 10_000 }).init()).rejects.toThrow(
        /err: invalid PEM in the issued certificate: the private key does not match the certificate$/,
      );
      await expect(loadCert(join(dir, 'certs'))).rejects.toThrow(/no cert\/key file/);
    } finally {
      off();
    }
  });

  it('needs MULTUS_NODE_NAME (upstream text)', async () => {
    const cfg = {
      enabled: true,
      bootstrapKubeconfig: '/nonexistent',
      certDir: dir,
      certDuration: '10m',
      certDurationMs: TEN_MINUTES,
    };
    await expect(setUpPerNodeCertificate(cfg, undefined, () => undefined)).rejects.toThrow(
      NODE_NAME_REQUIRED,
    );
    expect(NODE_NAME_REQUIRED).toBe(
      'error getting node name for perNodeCertificate, please check manifest to have MULTUS_NODE_NAME',
    );
  });
});
