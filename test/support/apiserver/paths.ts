// Where the real kube-apiserver (built by build.sh, `make apiserver`) and etcd live, and the loud failure when
// either is missing: tests that need them fail with the command that fixes it, never skip.
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const APISERVER_CACHE =
  process.env['MULTUS_TS_APISERVER_CACHE'] ?? '/var/cache/multus-ts/kube-apiserver';
export const KUBE_APISERVER_BIN = join(APISERVER_CACHE, 'bin', 'kube-apiserver');
const STAMP = join(APISERVER_CACHE, 'bin', 'stamp');
const ETCD_CANDIDATES = ['/usr/bin/etcd', '/usr/local/bin/etcd'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface ApiServerBinaries {
  apiserver: string;
  etcd: string;
  /** First line of build.sh's stamp, e.g. `kubernetes=1.20.5+really1.20.2-1.1+deb12u1 (Kubernetes v1.20.2)`. */
  built: string;
}

/** The binaries, or an error naming what is missing and how to get it. */
export function requireApiServerBinaries(): ApiServerBinaries {
  if (!executable(KUBE_APISERVER_BIN)) {
    throw new Error(
      `real apiserver: ${KUBE_APISERVER_BIN} is missing: run \`make apiserver\` (builds it from Debian's kubernetes source package, ~4-7 min once)`,
    );
  }
  const etcd = ETCD_CANDIDATES.find(executable);
  if (!etcd) {
    throw new Error(
      `real apiserver: etcd is missing (looked at ${ETCD_CANDIDATES.join(', ')}): run scripts/deps.sh (Debian package etcd-server)`,
    );
  }
  let built = 'unknown';
  try {
    built = readFileSync(STAMP, 'utf8').split('\n')[0] ?? built;
  } catch {
    // A binary without a stamp still runs; the stamp only documents what it was built from.
  }
  return { apiserver: KUBE_APISERVER_BIN, etcd, built };
}
