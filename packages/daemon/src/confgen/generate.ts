// Generation of 00-multus.conf from the daemon config and the primary CNI config (multus-thick.md §2.5): upstream's
// version check and error texts, the capability union, overrideNetworkName, and the exact bytes of Go's
// json.Marshal of upstream's MultusConf (compact, struct field order, omitempty, cleared daemon-only fields).
import { CniError } from '@multus-ts/cni';
import { DAEMON_CONFIG_ERRORS } from '../config/catalogue.ts';
import { compareSemVer, parseSemVer, type SemVer } from '../config/go-semver.ts';
import type { DaemonConfig, MultusConfView } from '../config/views.ts';
import { compareGoStrings, goFormatValue, goJsonString } from './go-json.ts';
import { goJoin } from './select.ts';

export interface PrimaryConfigInput {
  /** File name inside multusAutoconfigDir. */
  readonly fileName: string;
  readonly text: string;
}

const V040: SemVer = parseSemVer('0.4.0');

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Upstream's CheckVersionCompatibility: from top-level 0.4.0 on (CHECK exists), the primary must declare a
 * cniVersion of at least 0.4.0. Throws an Error carrying upstream's text.
 */
export function checkVersionCompatibility(multusCniVersion: string, primary: unknown): void {
  let top: SemVer;
  try {
    top = parseSemVer(multusCniVersion);
  } catch {
    throw new Error("couldn't get top level cni version");
  }
  if (compareSemVer(top, V040) < 0) return;
  if (!isObject(primary) || typeof primary.cniVersion !== 'string') {
    throw new Error("couldn't get cni version of delegate");
  }
  const delegateVersion = primary.cniVersion;
  if (compareSemVer(parseSemVer(delegateVersion), V040) < 0) {
    throw new Error(
      `delegate cni version is ${delegateVersion} while top level cni version is ${multusCniVersion}`,
    );
  }
}

function enabledIn(capabilities: unknown): string[] {
  if (!isObject(capabilities)) return [];
  // Only literal `true` counts; upstream panics on a non-boolean value, we skip it.
  return Object.keys(capabilities).filter((k) => capabilities[k] === true);
}

/**
 * Capabilities the primary enables: the union over `plugins[].capabilities` when `plugins` is a non-empty array
 * (top-level `capabilities` is then ignored), else the top-level `capabilities`.
 */
export function primaryCapabilities(primary: Readonly<Record<string, unknown>>): string[] {
  const plugins = primary.plugins;
  if (plugins !== undefined && !Array.isArray(plugins)) {
    throw new Error('couldn\'t get the plugin list of the delegate: "plugins" is not an array');
  }
  if (plugins && plugins.length > 0) {
    const all = new Set<string>();
    for (const p of plugins) for (const c of isObject(p) ? enabledIn(p.capabilities) : []) all.add(c);
    return [...all];
  }
  return enabledIn(primary.capabilities);
}

function loadError(reason: string): CniError {
  return CniError.of(DAEMON_CONFIG_ERRORS, 'ERR_CONFGEN_LOAD_PRIMARY', { reason });
}

/** Parses and checks the primary; returns it as an object. Throws ERR_CONFGEN_LOAD_PRIMARY with upstream's texts. */
export function loadPrimaryConfig(
  multus: MultusConfView,
  primaryPath: string,
  text: string,
): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw loadError(
      `failed to access the primary CNI configuration from ${primaryPath}: ` +
        `failed to unmarshall primary CNI config: ${(err as Error).message}`,
    );
  }
  // forceCNIVersion rewrites the primary's cniVersion to ours before the check (the manager persists the rewrite).
  const checked =
    multus.forceCNIVersion && isObject(data) ? { ...data, cniVersion: multus.cniVersion } : data;
  try {
    checkVersionCompatibility(multus.cniVersion, checked);
  } catch (err) {
    throw loadError((err as Error).message);
  }
  if (!isObject(checked)) throw loadError("couldn't get cni config from delegate");
  return checked;
}

function networkName(multus: MultusConfView, primary: Readonly<Record<string, unknown>>): string {
  if (!multus.overrideNetworkName) return multus.name;
  if (!Object.hasOwn(primary, 'name')) {
    throw CniError.of(DAEMON_CONFIG_ERRORS, 'ERR_CONFGEN_OVERRIDE_NAME', {
      reason: 'failed to access delegate CNI plugin name',
    });
  }
  const name = primary.name;
  if (typeof name !== 'string' || name === '') {
    throw CniError.of(DAEMON_CONFIG_ERRORS, 'ERR_CONFGEN_OVERRIDE_NAME', {
      reason: `the primary CNI Configuration does not feature the network name: ${goFormatValue(primary)}`,
    });
  }
  return name;
}

function marshalCapabilities(caps: Readonly<Record<string, boolean>>): string {
  const keys = Object.keys(caps).sort(compareGoStrings);
  return `{${keys.map((k) => `${goJsonString(k)}:${caps[k] ? 'true' : 'false'}`).join(',')}}`;
}

function marshalLogOptions(o: NonNullable<MultusConfView['logOptions']>): string {
  const parts: string[] = [];
  if (o.maxAge !== undefined) parts.push(`"maxAge":${o.maxAge}`);
  if (o.maxSize !== undefined) parts.push(`"maxSize":${o.maxSize}`);
  if (o.maxBackups !== undefined) parts.push(`"maxBackups":${o.maxBackups}`);
  if (o.compress !== undefined) parts.push(`"compress":${o.compress}`);
  return `{${parts.join(',')}}`;
}

/**
 * The bytes of 00-multus.conf for `primary`. Capabilities are the daemon config's seeds plus what the *current*
 * primary enables (upstream keeps every capability it ever saw; we regenerate from the current primary).
 */
export function generateMultusConf(config: DaemonConfig, primary: PrimaryConfigInput): string {
  const m = config.multus;
  const primaryPath = goJoin(m.multusAutoconfigDir, primary.fileName);
  const data = loadPrimaryConfig(m, primaryPath, primary.text);
  let enabled: string[];
  try {
    enabled = primaryCapabilities(data);
  } catch (err) {
    throw loadError((err as Error).message);
  }
  const name = networkName(m, data);

  const caps: Record<string, boolean> = Object.create(null);
  for (const [k, v] of Object.entries(m.capabilities)) caps[k] = v;
  for (const k of enabled) caps[k] = true;

  // Field order and omitempty follow upstream's MultusConf struct; cniConfigDir, multusConfigFile,
  // multusAutoconfigDir, multusMasterCNI, forceCNIVersion and readinessindicatorfile are cleared before marshalling.
  const out: string[] = [];
  const put = (key: string, json: string): void => {
    out.push(`"${key}":${json}`);
  };
  if (m.binDir) put('binDir', goJsonString(m.binDir));
  if (Object.keys(caps).length > 0) put('capabilities', marshalCapabilities(caps));
  put('cniVersion', goJsonString(m.cniVersion));
  if (m.logFile) put('logFile', goJsonString(m.logFile));
  if (m.logLevel) put('logLevel', goJsonString(m.logLevel));
  if (m.logToStderr) put('logToStderr', 'true');
  if (m.logOptions) put('logOptions', marshalLogOptions(m.logOptions));
  put('name', goJsonString(name));
  put('clusterNetwork', goJsonString(primaryPath));
  if (m.namespaceIsolation) put('namespaceIsolation', 'true');
  if (m.globalNamespaces) put('globalNamespaces', goJsonString(m.globalNamespaces));
  put('type', goJsonString(m.type));
  if (m.cniDir) put('cniDir', goJsonString(m.cniDir));
  if (m.auxiliaryCNIChainName) put('auxiliaryCNIChainName', goJsonString(m.auxiliaryCNIChainName));
  if (m.daemonSocketDir) put('daemonSocketDir', goJsonString(m.daemonSocketDir));
  if (m.overrideNetworkName) put('overrideNetworkName', 'true');
  return `{${out.join(',')}}`;
}
