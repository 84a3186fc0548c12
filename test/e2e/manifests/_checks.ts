// Checks that hold for the plain manifest, the kustomize base and every overlay: the daemon configuration loads
// cleanly, and every path the daemon uses is mounted from the right host path.

import type { LoadedDaemonConfig } from '../../../packages/daemon/src/config/index.ts';
import { parseDaemonArgs, parseDaemonConfig } from '../../../packages/daemon/src/config/index.ts';
import {
  type Container,
  DAEMON_CONFIG_KEY,
  daemonConfigOf,
  daemonContainer,
  hostPathFor,
  type KubeObj,
  type PodSpec,
  podSpecOf,
} from './_manifests.ts';

/** Paths of the image (images/Dockerfile); the manifest must call exactly these. */
export const IMAGE_DAEMON_MAIN = '/usr/src/multus-ts/dist/main.js';
export const IMAGE_SHIM = '/usr/src/multus-ts/bin/multus-shim';
export const IMAGE_SPAWN_HELPER = '/usr/src/multus-ts/bin/multus-spawn';
export const IMAGE_INSTALL_SCRIPT = '/usr/src/multus-ts/bin/install-multus.sh';
/** Where upstream's and our shim look for the socket when 00-multus.conf has no daemonSocketDir. */
export const SHIM_DEFAULT_SOCKET_DIR = '/run/multus';

export interface HostLayout {
  /** Host dir holding the CNI configs (the primary, and 00-multus.conf). */
  cniConfDir: string;
  /** Host dir of the CNI plugins (the shim is installed there, delegates are found there). */
  cniBinDir: string;
}

export const DEFAULT_LAYOUT: HostLayout = { cniConfDir: '/etc/cni/net.d', cniBinDir: '/opt/cni/bin' };

/** The ConfigMap's daemon-config.json through the daemon's own loader; throws on errors. */
export function loadManifestDaemonConfig(objs: readonly KubeObj[]): LoadedDaemonConfig {
  return parseDaemonConfig(daemonConfigOf(objs).text, DAEMON_CONFIG_KEY);
}

/** `/var/run` is a symlink to `/run` in the image (Debian), so a path under it is mounted under /run. */
function inImage(path: string): string {
  return path.replace(/^\/var\/run(\/|$)/, '/run$1');
}

/**
 * Every path the daemon's configuration names, with the host path it must map to. Returns the problems found
 * (empty when the manifest is consistent).
 */
export function pathProblems(objs: readonly KubeObj[], layout: HostLayout): string[] {
  const spec: PodSpec = podSpecOf(objs);
  const c: Container = daemonContainer(spec);
  const loaded = loadManifestDaemonConfig(objs);
  const cfg = loaded.typed;
  const problems: string[] = [];
  const expectHost = (what: string, containerPath: string, host: string) => {
    const got = hostPathFor(spec, c, inImage(containerPath));
    if (got !== host)
      problems.push(`${what} ${containerPath}: host path ${got ?? '(not mounted)'}, want ${host}`);
  };

  // The daemon-config file itself: -config points into the ConfigMap volume.
  const args = parseDaemonArgs(c.args ?? []);
  const cfgMount = (c.volumeMounts ?? []).find((m) => args.configPath.startsWith(`${m.mountPath}/`));
  const cfgVolume = spec.volumes?.find((v) => v.name === cfgMount?.name);
  const file = cfgMount ? args.configPath.slice(cfgMount.mountPath.length + 1) : '';
  if (
    !cfgMount?.readOnly ||
    cfgVolume?.configMap?.name !== 'multus-daemon-config' ||
    !(cfgVolume.configMap.items ?? [{ key: file, path: file }]).some(
      (i) => i.key === DAEMON_CONFIG_KEY && i.path === file,
    )
  ) {
    problems.push(`-config ${args.configPath} is not ${DAEMON_CONFIG_KEY} of ConfigMap multus-daemon-config`);
  }
  if (args.cleanupConfigOnExit) problems.push('-cleanup-config-on-exit is for uninstall only');

  expectHost('socketDir', cfg.server.socketDir, SHIM_DEFAULT_SOCKET_DIR);
  if (cfg.multus.daemonSocketDir !== '')
    problems.push('daemonSocketDir set: the shim would not use its default');
  expectHost('cniConfigDir', cfg.multus.cniConfigDir, layout.cniConfDir);
  expectHost('multusAutoconfigDir', cfg.multus.multusAutoconfigDir, layout.cniConfDir);
  // Delegates are looked up in the container but run chrooted into the host: the path must be the same on both.
  expectHost('binDir', cfg.request.binDir, cfg.request.binDir);
  expectHost('binDir', cfg.request.binDir, layout.cniBinDir);
  expectHost('cniDir', cfg.request.cniDir, cfg.request.cniDir);
  expectHost('confDir', cfg.request.confDir, cfg.request.confDir);
  expectHost('chrootDir', cfg.server.chrootDir, '/');
  expectHost('podResourcesSocket', cfg.ours.podResourcesSocket, inImage(cfg.ours.podResourcesSocket));
  expectHost('deviceInfoDir', cfg.ours.deviceInfoDir, inImage(cfg.ours.deviceInfoDir));
  expectHost('netns dir', '/run/netns', '/run/netns');
  for (const p of ['/run/netns', cfg.server.chrootDir]) {
    const m = (c.volumeMounts ?? []).find((x) => x.mountPath === p);
    if (m?.mountPropagation !== 'HostToContainer') {
      problems.push(`${p}: mountPropagation ${m?.mountPropagation}, want HostToContainer (later mounts)`);
    }
  }

  // The init container installs the image's shim into the host dir the runtime and the daemon use.
  const init = spec.initContainers?.find((x) => x.name === 'install-multus-shim');
  const cmd = init?.command ?? [];
  if (cmd[0] !== IMAGE_INSTALL_SCRIPT || cmd[1] !== '-d' || cmd[3] !== IMAGE_SHIM || cmd.length !== 4) {
    problems.push(`init container command ${JSON.stringify(cmd)}`);
  } else if (init) {
    const dest = hostPathFor(spec, init, cmd[2] as string);
    if (dest !== layout.cniBinDir)
      problems.push(`shim installed into host ${dest}, want ${layout.cniBinDir}`);
  }
  if (JSON.stringify(c.command) !== JSON.stringify(['node', IMAGE_DAEMON_MAIN])) {
    problems.push(`daemon command ${JSON.stringify(c.command)}`);
  }
  return problems;
}

/** Probe endpoints as [kind, target]: `http <port>/<path>` or `exec <socket path>/<path>`. */
export function probeTargets(c: Container): { readiness: string; liveness: string } {
  const describe = (p: Container['readinessProbe']): string => {
    if (p?.httpGet) {
      const port =
        typeof p.httpGet.port === 'number'
          ? p.httpGet.port
          : c.ports?.find((x) => x.name === p.httpGet?.port)?.containerPort;
      return `http ${port}${p.httpGet.path}`;
    }
    if (p?.exec) {
      const script = p.exec.command.join(' ');
      const sock = /socketPath: '([^']+)'/.exec(script)?.[1];
      const path = /path: '([^']+)'/.exec(script)?.[1];
      return `exec ${sock}${path}`;
    }
    return 'none';
  };
  return { readiness: describe(c.readinessProbe), liveness: describe(c.livenessProbe) };
}

/** Mebibytes of a Kubernetes memory quantity (Ki, Mi, Gi or plain bytes). */
export function mebibytes(q: string | undefined): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(q ?? '');
  if (!m) throw new Error(`unsupported memory quantity ${q}`);
  const n = Number(m[1]);
  return m[2] === 'Gi' ? n * 1024 : m[2] === 'Mi' ? n : m[2] === 'Ki' ? n / 1024 : n / 1024 / 1024;
}
