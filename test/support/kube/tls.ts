// A throwaway CA and a serving certificate for 127.0.0.1/localhost/kubernetes.default.svc, made with openssl at
// start. In-cluster clients insist on https with a CA file, so the TLS mode is what makes the
// KUBERNETES_SERVICE_HOST/PORT + token + ca.crt path testable without a cluster.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ServingCert {
  caFile: string;
  certFile: string;
  keyFile: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

function findOpenssl(): string {
  for (const p of ['/usr/bin/openssl', '/bin/openssl', '/usr/local/bin/openssl']) if (existsSync(p)) return p;
  throw new Error(
    'kube emulator: TLS needs the `openssl` binary and none was found (Debian: apt-get install openssl)',
  );
}

const SANS = [
  'IP:127.0.0.1',
  'IP:::1',
  'DNS:localhost',
  'DNS:kubernetes',
  'DNS:kubernetes.default',
  'DNS:kubernetes.default.svc',
  'DNS:kubernetes.default.svc.cluster.local',
];

/** Writes ca.crt, ca.key, tls.crt, tls.key into `dir` (which must exist) and returns their paths and PEMs. */
export async function generateServingCert(dir: string): Promise<ServingCert> {
  const openssl = findOpenssl();
  const f = (n: string) => join(dir, n);
  const step = async (what: string, args: string[]) => {
    try {
      await run(openssl, args, { cwd: dir });
    } catch (err) {
      throw new Error(`kube emulator: openssl failed to ${what}: ${(err as Error).message}`);
    }
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await step('create the CA', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
    '-days',
    '7',
    '-subj',
    '/CN=kube-emulator-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await step('create the serving key', [
    'req',
    '-new',
    ...ec,
    '-keyout',
    f('tls.key'),
    '-out',
    f('tls.csr'),
    '-subj',
    '/CN=kube-apiserver',
  ]);
  await writeFile(
    f('ext.cnf'),
    `subjectAltName=${SANS.join(',')}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`,
  );
  await step('sign the serving certificate', [
    'x509',
    '-req',
    '-in',
    f('tls.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('tls.crt'),
    '-days',
    '7',
    '-extfile',
    f('ext.cnf'),
  ]);
  const [caPem, certPem, keyPem] = await Promise.all(
    [f('ca.crt'), f('tls.crt'), f('tls.key')].map((p) => readFile(p, 'utf8')),
  );
  return {
    caFile: f('ca.crt'),
    certFile: f('tls.crt'),
    keyFile: f('tls.key'),
    caPem: caPem as string,
    certPem: certPem as string,
    keyPem: keyPem as string,
  };
}
