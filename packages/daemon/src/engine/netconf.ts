// The multus network configuration of one request: 00-multus.conf as the runtime sent it, after the
// daemon-config overlay, read with upstream's per-request defaults (multus-thick.md §2.3).
import { CniError, parseNetworkConfig } from '@multus-ts/cni';
import { z } from 'zod';
import { DAEMON_ERRORS } from '../catalogue.ts';

export const REQUEST_DEFAULTS = {
  confDir: '/etc/cni/multus/net.d',
  cniDir: '/var/lib/cni/multus',
  binDir: '/opt/cni/bin',
  multusNamespace: 'kube-system',
  systemNamespaces: ['kube-system'],
  globalNamespaces: ['default'],
} as const;

const NetConfSchema = z.looseObject({
  cniVersion: z.string().optional(),
  name: z.string().optional(),
  clusterNetwork: z.string().optional(),
  delegates: z.array(z.record(z.string(), z.unknown())).optional(),
  defaultNetworks: z.array(z.string()).optional(),
  confDir: z.string().optional(),
  cniDir: z.string().optional(),
  binDir: z.string().optional(),
  multusNamespace: z.string().optional(),
  systemNamespaces: z.array(z.string()).optional(),
  namespaceIsolation: z.boolean().optional(),
  globalNamespaces: z.string().optional(),
  readinessindicatorfile: z.string().optional(),
  auxiliaryCNIChainName: z.string().optional(),
  retryDeleteOnError: z.boolean().optional(),
  runtimeConfig: z.record(z.string(), z.unknown()).optional(),
  prevResult: z.record(z.string(), z.unknown()).optional(),
});

export interface MultusNetConf {
  cniVersion: string;
  name: string;
  clusterNetwork: string;
  delegates: Record<string, unknown>[];
  defaultNetworks: string[];
  confDir: string;
  cniDir: string;
  binDir: string;
  multusNamespace: string;
  systemNamespaces: string[];
  namespaceIsolation: boolean;
  globalNamespaces: string[];
  readinessIndicatorFile: string;
  auxiliaryCNIChainName: string;
  retryDeleteOnError: boolean;
  runtimeConfig: Record<string, unknown>;
  /** The merged object (for tools and logs); never handed to delegates. */
  raw: Record<string, unknown>;
}

/** Parses the merged request config. Bad JSON is code 6; a known key of the wrong type is code 7 naming it. */
export function parseMultusNetConf(
  merged: Record<string, unknown>,
  opts: { requireNetworks?: boolean } = {},
): MultusNetConf {
  const parsed = NetConfSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CniError(
      7,
      `invalid multus configuration: key "${issue?.path.join('.') ?? '?'}"`,
      issue?.message,
    );
  }
  const c = parsed.data;
  if ((opts.requireNetworks ?? true) && !c.clusterNetwork && (!c.delegates || c.delegates.length === 0)) {
    throw new CniError(7, 'LoadNetConf: at least one delegate/clusterNetwork must be specified');
  }
  const globalNs = c.globalNamespaces
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return {
    cniVersion: c.cniVersion ?? '0.1.0',
    name: c.name ?? '',
    clusterNetwork: c.clusterNetwork ?? '',
    delegates: c.delegates ?? [],
    defaultNetworks: c.defaultNetworks ?? [],
    confDir: c.confDir || REQUEST_DEFAULTS.confDir,
    cniDir: c.cniDir || REQUEST_DEFAULTS.cniDir,
    binDir: c.binDir || REQUEST_DEFAULTS.binDir,
    multusNamespace: c.multusNamespace || REQUEST_DEFAULTS.multusNamespace,
    systemNamespaces: c.systemNamespaces ?? [...REQUEST_DEFAULTS.systemNamespaces],
    namespaceIsolation: c.namespaceIsolation ?? false,
    globalNamespaces: globalNs && globalNs.length > 0 ? globalNs : [...REQUEST_DEFAULTS.globalNamespaces],
    readinessIndicatorFile: c.readinessindicatorfile ?? '',
    auxiliaryCNIChainName: c.auxiliaryCNIChainName ?? '',
    retryDeleteOnError: c.retryDeleteOnError ?? false,
    runtimeConfig: c.runtimeConfig ?? {},
    raw: merged,
  };
}

/**
 * Decodes the request's stdin config into a JSON object, with the CNI library's hostile-input rules (size cap,
 * UTF-8, JSON, object) and its cniVersion check.
 */
export function decodeRequestConfig(bytes: Uint8Array): Record<string, unknown> {
  if (bytes.length === 0) throw CniError.of(DAEMON_ERRORS, 'ERR_BODY_INVALID', { issue: 'config: empty' });
  // parseNetworkConfig wants a plugin `type`; the multus config has one (multus-shim), and its raw object is
  // exactly what we need.
  return parseNetworkConfig(bytes).raw;
}
