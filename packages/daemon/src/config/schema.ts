// The zod schema of daemon-config.json: every key upstream reads from the file (multus-thick.md §2.1 ControllerNetConf,
// §2.2 MultusConf, §2.3 the per-request NetConf keys the overlay injects) plus our own keys. Only types and
// constraints live here; defaults are applied per view in views.ts, because upstream gives the same key different
// defaults in its three views (e.g. logToStderr: false for the daemon, true per request).
import { z } from 'zod';
import { parseGoDuration } from './go-duration.ts';
import { parseSemVer } from './go-semver.ts';

/** Short, safe rendering of a bad value for an error message. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') {
    const shown = v.length > 60 ? `${v.slice(0, 60)}...` : v;
    return `string ${JSON.stringify(shown)}`;
  }
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  if (Array.isArray(v)) return 'an array';
  return 'an object';
}

const str = () => z.string({ error: (iss) => `must be a string, got ${describeValue(iss.input)}` });
const bool = () => z.boolean({ error: (iss) => `must be true or false, got ${describeValue(iss.input)}` });
const obj = () =>
  z.record(z.string(), z.unknown(), { error: (iss) => `must be an object, got ${describeValue(iss.input)}` });
const strList = () =>
  z.array(str(), { error: (iss) => `must be an array of strings, got ${describeValue(iss.input)}` });

/** An integer within [min, max]; the "greater than 0" wording matches upstream's connectionLimit error. */
function int(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z
    .number({ error: (iss) => `must be an integer, got ${describeValue(iss.input)}` })
    .superRefine((n, ctx) => {
      if (!Number.isSafeInteger(n)) ctx.addIssue({ code: 'custom', message: `must be an integer, got ${n}` });
      else if (n < min) {
        const bound = min === 1 ? 'greater than 0' : `at least ${min}`;
        ctx.addIssue({ code: 'custom', message: `must be ${bound}, got ${n}` });
      } else if (n > max) ctx.addIssue({ code: 'custom', message: `must be at most ${max}, got ${n}` });
    });
}

/** A positive number of seconds (fractions allowed, so tests can use short waits). */
const seconds = () =>
  z
    .number({ error: (iss) => `must be a number of seconds, got ${describeValue(iss.input)}` })
    .superRefine((n, ctx) => {
      if (!(n > 0) || n > 86_400) {
        ctx.addIssue({ code: 'custom', message: `must be greater than 0 and at most 86400, got ${n}` });
      }
    });

const semverString = () =>
  str().superRefine((v, ctx) => {
    if (v === '') return; // "unset"; whether it is required depends on multusConfigFile (checked below)
    try {
      parseSemVer(v);
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a version like "1.0.0", got ${JSON.stringify(v)} (${(err as Error).message})`,
      });
    }
  });

const goDuration = () =>
  str().superRefine((v, ctx) => {
    try {
      if (parseGoDuration(v) <= 0) {
        ctx.addIssue({ code: 'custom', message: `must be a positive duration, got ${JSON.stringify(v)}` });
      }
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });

export const perNodeCertificateSchema = z.object(
  {
    enabled: bool().optional(),
    bootstrapKubeconfig: str().optional(),
    certDir: str().optional(),
    certDuration: goDuration().optional(),
  },
  { error: (iss) => `must be an object, got ${describeValue(iss.input)}` },
);

export const logOptionsSchema = z.object(
  {
    maxAge: int(Number.MIN_SAFE_INTEGER).optional(),
    maxSize: int(Number.MIN_SAFE_INTEGER).optional(),
    maxBackups: int(Number.MIN_SAFE_INTEGER).optional(),
    compress: bool().optional(),
  },
  { error: (iss) => `must be an object, got ${describeValue(iss.input)}` },
);

/** Upstream keys, grouped by the upstream struct that reads them (a key may be read by several). */
const upstreamShape = {
  // §2.1 ControllerNetConf
  chrootDir: str().optional(),
  logFile: str().optional(),
  logLevel: str().optional(),
  logToStderr: bool().optional(),
  perNodeCertificate: perNodeCertificateSchema.optional(),
  connectionLimit: int(1).optional(),
  metricsPort: int(1, 65_535).optional(),
  enablePprof: bool().optional(),
  socketDir: str().optional(),
  // §2.2 MultusConf
  binDir: str().optional(),
  capabilities: z
    .record(
      z.string(),
      z.boolean({
        error: (iss) => `capability values must be true or false, got ${describeValue(iss.input)}`,
      }),
      { error: (iss) => `must be an object of booleans, got ${describeValue(iss.input)}` },
    )
    .optional(),
  cniVersion: semverString().optional(),
  logOptions: logOptionsSchema.optional(),
  name: str().optional(),
  clusterNetwork: str().optional(),
  namespaceIsolation: bool().optional(),
  globalNamespaces: str().optional(),
  readinessindicatorfile: str().optional(),
  type: str().optional(),
  cniDir: str().optional(),
  cniConfigDir: str().optional(),
  auxiliaryCNIChainName: str().optional(),
  daemonSocketDir: str().optional(),
  multusConfigFile: str().optional(),
  multusMasterCNI: str().optional(),
  multusAutoconfigDir: str().optional(),
  forceCNIVersion: bool().optional(),
  overrideNetworkName: bool().optional(),
  // §2.3 per-request NetConf keys (the overlay puts them into every request)
  confDir: str().optional(),
  defaultNetworks: strList().optional(),
  delegates: z
    .array(obj(), { error: (iss) => `must be an array of objects, got ${describeValue(iss.input)}` })
    .optional(),
  kubeconfig: str().optional(),
  systemNamespaces: strList().optional(),
  multusNamespace: str().optional(),
  retryDeleteOnError: bool().optional(),
  ipam: obj().optional(),
  dns: obj().optional(),
  runtimeConfig: obj().optional(),
};

/** Our own keys: safe defaults, none of them changes upstream behaviour unless set. */
const ownShape = {
  cleanupConfigOnExit: bool().optional(),
  primaryConfigWaitSeconds: seconds().optional(),
  readinessIndicatorWaitSeconds: seconds().optional(),
  informerSyncTimeoutSeconds: seconds().optional(),
  shutdownGraceSeconds: seconds().optional(),
  maxConcurrentDelegates: int(1, 10_000).optional(),
  requestQueueTimeoutSeconds: seconds().optional(),
  podResourcesSocket: str().optional(),
  deviceInfoDir: str().optional(),
  delegateTimeoutSeconds: seconds().optional(),
  hotplug: bool().optional(),
};

export const UPSTREAM_KEYS = Object.keys(upstreamShape) as readonly (keyof typeof upstreamShape)[];
export const OWN_KEYS = Object.keys(ownShape) as readonly (keyof typeof ownShape)[];

/** Keys whose JSON `null` means "empty" (Go sets slices and maps to nil); for every other key null means "unset". */
export const NULL_MEANS_EMPTY: Readonly<Record<string, unknown>> = {
  capabilities: {},
  defaultNetworks: [],
  systemNamespaces: [],
};

export const daemonConfigFileSchema = z.object({ ...upstreamShape, ...ownShape }).superRefine((c, ctx) => {
  const pnc = c.perNodeCertificate;
  if (pnc?.enabled && (!pnc.bootstrapKubeconfig || !pnc.certDir)) {
    ctx.addIssue({
      code: 'custom',
      path: ['perNodeCertificate'],
      message:
        `failed to configure PerNodeCertificate: enabled: true, ` +
        `BootstrapKubeconfig: ${JSON.stringify(pnc.bootstrapKubeconfig ?? '')}, ` +
        `CertDir: ${JSON.stringify(pnc.certDir ?? '')}`,
    });
  }
  // In auto mode upstream fails later (exit 2) without these; failing here names the key instead.
  if ((c.multusConfigFile ?? 'auto') === 'auto') {
    if (!c.cniVersion) {
      ctx.addIssue({
        code: 'custom',
        path: ['cniVersion'],
        message: 'is required when multusConfigFile is "auto" (it becomes the cniVersion of 00-multus.conf)',
      });
    }
    if (!c.multusAutoconfigDir) {
      ctx.addIssue({
        code: 'custom',
        path: ['multusAutoconfigDir'],
        message: 'is required when multusConfigFile is "auto" (the directory holding the primary CNI config)',
      });
    }
    if (c.type === '') {
      ctx.addIssue({ code: 'custom', path: ['type'], message: 'must not be empty in 00-multus.conf' });
    }
  }
});

export type DaemonConfigFile = z.infer<typeof daemonConfigFileSchema>;
