// Runs a program the way a pod sees its service account: token, ca.crt and namespace at the fixed path
// /var/run/secrets/kubernetes.io/serviceaccount, without creating anything under this machine's /run. The
// program gets its own mount namespace (unshare) in which a tmpfs covers /run, the service-account files are
// bind-mounted into it, and the host's /run/netns comes back as a bind mount that stays a *slave* of the host's
// (propagation `slave`), so network namespaces that tests add later (`ip netns add`, which mounts under
// /run/netns) still show up inside. `unshare` and `sh` exec, so the child's pid is the program's own.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

export const SERVICEACCOUNT_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

const SCRIPT = [
  'set -e',
  'stage=$1; sa=$2; shift 2',
  // A bind of a slave mount is itself a slave of the same master: it keeps receiving the host's netns mounts.
  'mount --rbind /run/netns "$stage"',
  'mount -t tmpfs -o mode=0755 multus-ts-run /run',
  `mkdir -p /run/netns ${SERVICEACCOUNT_MOUNT.replace('/var/run', '/run')}`,
  'mount --move "$stage" /run/netns',
  `mount --bind "$sa" ${SERVICEACCOUNT_MOUNT}`,
  'exec "$@"',
].join('\n');

export interface InClusterLaunch {
  command: string;
  args: string[];
}

/**
 * The command line that runs `program args...` with `saDir` (a directory holding token, ca.crt, namespace) at
 * the service-account path. `workDir` gets an empty staging directory for the /run/netns bind mount.
 */
export async function inClusterLaunch(
  saDir: string,
  workDir: string,
  program: string,
  args: string[],
): Promise<InClusterLaunch> {
  const stage = join(workDir, 'run-netns-stage');
  await mkdir(stage, { recursive: true });
  // /run/netns exists (as a shared mount) once any namespace was made with `ip netns add`.
  if (!existsSync('/run/netns')) {
    throw new Error('in-cluster launch: /run/netns does not exist yet: create a network namespace first');
  }
  return {
    command: 'unshare',
    args: [
      '--mount',
      '--propagation',
      'slave',
      '/bin/sh',
      '-c',
      SCRIPT,
      'in-cluster',
      stage,
      saDir,
      program,
      ...args,
    ],
  };
}
