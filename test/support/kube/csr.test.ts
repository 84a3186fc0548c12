// CertificateSigningRequests and client-certificate authentication (TLS mode): the registry rules a CSR client
// and a signer rely on, and the x509 authenticator's identity mapping, grants and refusals.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueClientCertificate } from './csr-signer.ts';
import { type KubeEmulator, startKubeEmulator } from './emulator.ts';

const CSR = '/apis/certificates.k8s.io/v1/certificatesigningrequests';
const BOOTSTRAP = 'bootstrap-token';
let emu: KubeEmulator;
let dir: string;
let requestPem: string;

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field, and a wrong guess fails the test
type Json = Record<string, any>;

interface Answer {
  status: number;
  json: Json;
}

function call(
  method: string,
  path: string,
  opts: { body?: unknown; token?: string | null; cert?: { certPem: string; keyPem: string } } = {},
): Promise<Answer> {
  const body = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
  const token = opts.token === undefined ? emu.token : opts.token;
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${emu.url}${path}`,
      {
        method,
        agent: false,
        ca: emu.caPem,
        ...(opts.cert ? { cert: opts.cert.certPem, key: opts.cert.keyPem } : {}),
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => {
          let json: Json = {};
          try {
            json = JSON.parse(text) as Json;
          } catch {
            json = { text };
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const csrBody = (spec: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'certificates.k8s.io/v1',
  kind: 'CertificateSigningRequest',
  metadata: { generateName: 'csr-' },
  spec: {
    request: Buffer.from(requestPem).toString('base64'),
    signerName: 'kubernetes.io/kube-apiserver-client',
    usages: ['digital signature', 'client auth'],
    expirationSeconds: 600,
    ...spec,
  },
  ...extra,
});

beforeAll(async () => {
  emu = await startKubeEmulator({
    tls: true,
    tokens: [
      {
        token: BOOTSTRAP,
        user: 'system:node:n1',
        groups: ['system:nodes', 'system:authenticated'],
        rules: [
          {
            apiGroups: ['certificates.k8s.io'],
            resources: ['certificatesigningrequests'],
            verbs: ['create', 'get'],
          },
        ],
      },
    ],
  });
  dir = mkdtempSync(join(tmpdir(), 'mts-csr-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  execFileSync(
    'openssl',
    ['req', '-new', ...ec, '-keyout', join(dir, 'k'), '-out', join(dir, 'r'), '-subj', '/CN=x'],
    {
      stdio: 'ignore',
    },
  );
  requestPem = readFileSync(join(dir, 'r'), 'utf8');
});
afterAll(async () => {
  await emu?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('certificatesigningrequests', () => {
  it('is served in discovery with its status and approval subresources', async () => {
    const list = await call('GET', '/apis/certificates.k8s.io/v1');
    expect(list.json.resources.map((r: { name: string }) => r.name)).toEqual([
      'certificatesigningrequests',
      'certificatesigningrequests/status',
      'certificatesigningrequests/approval',
    ]);
    expect(list.json.resources[0]).toMatchObject({ namespaced: false, shortNames: ['csr'] });
  });

  it('records the requester in spec and drops a status given on create', async () => {
    const created = await call('POST', CSR, {
      token: BOOTSTRAP,
      body: csrBody(
        { username: 'someone-else', groups: ['system:masters'] },
        { status: { certificate: 'eA==' } },
      ),
    });
    expect(created.status).toBe(201);
    expect(created.json.metadata.name).toMatch(/^csr-[a-z0-9]{5}$/);
    expect(created.json.spec).toMatchObject({
      username: 'system:node:n1',
      groups: ['system:nodes', 'system:authenticated'],
    });
    expect(created.json.status).toEqual({});
    const listed = await call('GET', CSR, { token: BOOTSTRAP });
    expect(listed.status).toBe(403);
    expect(listed.json.message).toBe(
      'certificatesigningrequests.certificates.k8s.io is forbidden: User "system:node:n1" cannot list resource "certificatesigningrequests" in API group "certificates.k8s.io" at the cluster scope',
    );
  });

  it.each([
    [
      { expirationSeconds: 599 },
      'spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 600 seconds (10 minutes)',
    ],
    [{ usages: [] }, 'spec.usages: Required value: usages must be provided'],
    [
      { request: Buffer.from('not pem').toString('base64') },
      'spec.request: Invalid value: "<request data>": PEM block type must be CERTIFICATE REQUEST',
    ],
    [
      { signerName: 'nope' },
      `spec.signerName: Invalid value: "nope": must be a fully qualified domain and path of the form 'example.com/signer-name'`,
    ],
    [{ signerName: '' }, 'spec.signerName: Required value: signerName must be provided'],
    [{ usages: ['client auth', 'client auth'] }, 'spec.usages[1]: Duplicate value: "client auth"'],
  ])('refuses an invalid request (%j) with 422', async (spec, message) => {
    const r = await call('POST', CSR, { body: csrBody(spec) });
    expect(r.status).toBe(422);
    expect(r.json.reason).toBe('Invalid');
    expect(r.json.message).toContain(message);
  });

  it('lets /approval change only conditions, /status only the rest, and keeps both from a plain update', async () => {
    const created = (await call('POST', CSR, { body: csrBody() })).json;
    const name = created.metadata.name as string;
    const cert = await issueClientCertificate(emu, {
      commonName: 'system:multus:n1',
      organizations: ['system:multus'],
    });
    const approved = await call('PUT', `${CSR}/${name}/approval`, {
      body: {
        ...created,
        status: {
          certificate: Buffer.from(cert.certPem).toString('base64'),
          conditions: [{ type: 'Approved', status: 'True', reason: 'Test' }],
        },
      },
    });
    expect(approved.status).toBe(200);
    expect(approved.json.status.certificate).toBeUndefined();
    expect(approved.json.status.conditions[0]).toMatchObject({ type: 'Approved', status: 'True' });
    expect(approved.json.status.conditions[0].lastUpdateTime).toMatch(/Z$/);

    const signed = await call('PUT', `${CSR}/${name}/status`, {
      body: {
        ...approved.json,
        status: {
          certificate: Buffer.from(cert.certPem).toString('base64'),
          conditions: [{ type: 'Denied', status: 'True', reason: 'Sneaky' }],
        },
      },
    });
    expect(signed.status).toBe(200);
    expect(Buffer.from(signed.json.status.certificate, 'base64').toString()).toBe(cert.certPem);
    // approval conditions cannot be changed through /status: they are put back
    expect(signed.json.status.conditions.map((c: { type: string }) => c.type)).toEqual(['Approved']);

    const again = await call('PUT', `${CSR}/${name}/status`, {
      body: {
        ...signed.json,
        status: { ...signed.json.status, certificate: Buffer.from(requestPem).toString('base64') },
      },
    });
    expect(again.status).toBe(422);
    expect(again.json.message).toContain(
      'status.certificate: Forbidden: updates may not modify existing certificate content',
    );

    const removed = await call('PUT', `${CSR}/${name}/approval`, {
      body: { ...signed.json, status: { conditions: [] } },
    });
    expect(removed.status).toBe(422);
    expect(removed.json.message).toContain('updates may not remove a condition of type "Approved"');

    const plain = await call('PUT', `${CSR}/${name}`, {
      body: { ...signed.json, status: {}, spec: { usages: ['any'] } },
    });
    expect(plain.status).toBe(200);
    expect(plain.json.status).toEqual(signed.json.status);
    expect(plain.json.spec).toEqual(signed.json.spec);
  });

  it('refuses a non-PEM certificate and an Approved condition that is not True', async () => {
    const created = (await call('POST', CSR, { body: csrBody() })).json;
    const name = created.metadata.name as string;
    const notTrue = await call('PUT', `${CSR}/${name}/approval`, {
      body: { ...created, status: { conditions: [{ type: 'Approved', status: 'False' }] } },
    });
    expect(notTrue.status).toBe(422);
    expect(notTrue.json.message).toContain('status.conditions[0].status: Unsupported value: "False"');
    const badCert = await call('PUT', `${CSR}/${name}/status`, {
      body: { ...created, status: { certificate: Buffer.from('junk').toString('base64') } },
    });
    expect(badCert.status).toBe(422);
    expect(badCert.json.message).toContain('status.certificate: Invalid value: "<certificate data>"');
  });
});

describe('client-certificate authentication', () => {
  it('makes the request the certificate CN with O as groups, and refuses what no grant allows', async () => {
    const cert = await issueClientCertificate(emu, {
      commonName: 'system:multus:n1',
      organizations: ['system:multus'],
    });
    const denied = await call('GET', '/api/v1/pods', { token: null, cert });
    expect(denied.status).toBe(403);
    expect(denied.json.message).toBe(
      'pods is forbidden: User "system:multus:n1" cannot list resource "pods" in API group "" at the cluster scope',
    );
    emu.auth.certificates.grant({
      group: 'system:multus',
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
        { apiGroups: ['certificates.k8s.io'], resources: ['certificatesigningrequests'], verbs: ['create'] },
      ],
    });
    try {
      expect((await call('GET', '/api/v1/pods', { token: null, cert })).status).toBe(200);
      const csr = await call('POST', CSR, { token: null, cert, body: csrBody() });
      expect(csr.status).toBe(201);
      expect(csr.json.spec).toMatchObject({
        username: 'system:multus:n1',
        groups: ['system:multus', 'system:authenticated'],
      });
      expect(emu.auth.log.count('system:multus:n1', `x509:${cert.serial}`)).toBe(3);
      // the certificate wins over a token sent with it, as the x509 authenticator runs first
      expect((await call('GET', '/api/v1/pods', { cert })).status).toBe(200);
      expect(emu.auth.log.count('system:multus:n1')).toBe(4);
    } finally {
      emu.auth.certificates.clear();
    }
  });

  it('does not accept an expired certificate or one from another CA (401, or the token when one is sent)', async () => {
    const expired = await issueClientCertificate(emu, {
      commonName: 'system:multus:old',
      notBefore: new Date(Date.now() - 3_600_000),
      notAfter: new Date(Date.now() - 60_000),
    });
    expect((await call('GET', '/api/v1/pods', { token: null, cert: expired })).status).toBe(401);
    const before = emu.auth.log.count('admin', 'token');
    expect((await call('GET', '/api/v1/pods', { cert: expired })).status).toBe(200);
    expect(emu.auth.log.count('admin', 'token')).toBe(before + 1);
    expect(emu.auth.log.count('system:multus:old')).toBe(0);

    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    const k = join(dir, 'self.key');
    const c = join(dir, 'self.crt');
    execFileSync(
      'openssl',
      ['req', '-x509', ...ec, '-keyout', k, '-out', c, '-days', '1', '-subj', '/CN=intruder'],
      {
        stdio: 'ignore',
      },
    );
    const foreign = { certPem: readFileSync(c, 'utf8'), keyPem: readFileSync(k, 'utf8') };
    expect((await call('GET', '/api/v1/pods', { token: null, cert: foreign })).status).toBe(401);
    expect(emu.auth.log.count('intruder')).toBe(0);
  });
});
