// The daemon's own per-container delegate cache, `<cniDir>/<containerID>`: what ADD is about to run, written
// before the first delegate executes, so DEL can tear everything down when the pod, the NAD or the API server
// are gone. The file is a JSON array in upstream Multus's layout (Conf, ConfList, Name, Bytes, the *Request keys,
// IsFilterV4Gateway/IsFilterV6Gateway), so a node can be rolled back to upstream and upstream's entries are read
// by us; what upstream does not keep (the interface name actually used, capability args such as portMappings,
// the netns, the pod) rides along under `multusTs`, a key Go's decoder ignores.
import { constants } from 'node:fs';
import { open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomicSync } from '@multus-ts/cni';
import { z } from 'zod';

export const CONTAINER_ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const MAX_CACHE_FILE_BYTES = 16 * 1024 * 1024;

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

export interface CachedDelegate {
  /** Status name: `ns/nad`, or the config's name for file-based networks. */
  name: string;
  /** The CNI network name (the config's `name`), which keys libcni's result cache. */
  networkName: string;
  ifName: string;
  master: boolean;
  kind: 'conf' | 'conflist';
  /** The exact delegate configuration that ADD executed. */
  configBytes: Uint8Array;
  cniArgs: [string, string][];
  capabilityArgs: Record<string, unknown>;
  ifnameRequest?: string;
  macRequest?: string;
  ipRequest?: string[];
  defaultRoute?: string[];
  deviceID?: string;
  resourceName?: string;
  devInfoFile?: string;
  filterV4Gateway: boolean;
  filterV6Gateway: boolean;
}

export interface CachedContainer {
  containerId: string;
  netns: string;
  pod: PodRef | undefined;
  delegates: CachedDelegate[];
  /** DELs that already failed for some of these delegates (bounded retries, see engine/del.ts). */
  delAttempts?: number;
}

export type CacheRead =
  | { status: 'ok'; entry: CachedContainer; foreign: boolean }
  | { status: 'missing' }
  | { status: 'corrupt'; reason: string };

const ExtrasSchema = z.object({
  version: z.literal(1),
  networkName: z.string(),
  ifName: z.string(),
  master: z.boolean(),
  kind: z.enum(['conf', 'conflist']),
  netns: z.string(),
  pod: z.object({ namespace: z.string(), name: z.string(), uid: z.string() }).optional(),
  cniArgs: z.array(z.tuple([z.string(), z.string()])),
  capabilityArgs: z.record(z.string(), z.unknown()),
  devInfoFile: z.string().optional(),
  delAttempts: z.number().int().nonnegative().optional(),
});

const ElementSchema = z.looseObject({
  Conf: z.record(z.string(), z.unknown()).optional(),
  ConfList: z
    .looseObject({ name: z.string().optional(), plugins: z.array(z.unknown()).optional() })
    .optional(),
  Name: z.string().optional(),
  ifnameRequest: z.string().optional(),
  macRequest: z.string().optional(),
  ipRequest: z.array(z.string()).optional(),
  'default-route': z.array(z.string()).optional(),
  deviceID: z.string().optional(),
  resourceName: z.string().optional(),
  IsFilterV4Gateway: z.boolean().optional(),
  IsFilterV6Gateway: z.boolean().optional(),
  Bytes: z.base64(),
  // Checked separately: extras another version of multus-ts wrote are ignored, never a reason to give up.
  multusTs: z.unknown().optional(),
});

export function cachePath(cniDir: string, containerId: string): string {
  if (!CONTAINER_ID_RE.test(containerId))
    throw new RangeError(`invalid container ID ${JSON.stringify(containerId)}`);
  return join(cniDir, containerId);
}

function toElement(c: CachedContainer, d: CachedDelegate): Record<string, unknown> {
  const config = JSON.parse(Buffer.from(d.configBytes).toString('utf8')) as Record<string, unknown>;
  const head = { cniVersion: config['cniVersion'], name: config['name'] };
  return {
    Conf: d.kind === 'conf' ? { ...head, type: config['type'] } : head,
    ConfList: d.kind === 'conflist' ? { ...head, plugins: config['plugins'] } : {},
    Name: d.name,
    ...(d.ifnameRequest ? { ifnameRequest: d.ifnameRequest } : {}),
    ...(d.macRequest ? { macRequest: d.macRequest } : {}),
    ...(d.ipRequest ? { ipRequest: d.ipRequest } : {}),
    ...(d.defaultRoute ? { 'default-route': d.defaultRoute } : {}),
    IsFilterV4Gateway: d.filterV4Gateway,
    IsFilterV6Gateway: d.filterV6Gateway,
    ...(d.deviceID ? { deviceID: d.deviceID } : {}),
    ...(d.resourceName ? { resourceName: d.resourceName } : {}),
    Bytes: Buffer.from(d.configBytes).toString('base64'),
    multusTs: {
      version: 1,
      networkName: d.networkName,
      ifName: d.ifName,
      master: d.master,
      kind: d.kind,
      netns: c.netns,
      ...(c.pod ? { pod: c.pod } : {}),
      cniArgs: d.cniArgs,
      capabilityArgs: d.capabilityArgs,
      ...(d.devInfoFile ? { devInfoFile: d.devInfoFile } : {}),
      ...(c.delAttempts ? { delAttempts: c.delAttempts } : {}),
    },
  };
}

/** Serialises an entry; exported for tests and tools. */
export function encodeCacheEntry(entry: CachedContainer): string {
  return JSON.stringify(entry.delegates.map((d) => toElement(entry, d)));
}

/**
 * Decodes a cache file. Entries written by upstream Multus have no `multusTs`: their interface names are derived
 * the way upstream derives them (explicit request, else CNI_IFNAME for the first, else net<index>).
 */
export function decodeCacheEntry(containerId: string, text: string, requestIfName: string): CacheRead {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { status: 'corrupt', reason: `not JSON: ${(err as Error).message}` };
  }
  const parsed = z.array(ElementSchema).safeParse(json);
  if (!parsed.success) return { status: 'corrupt', reason: parsed.error.issues[0]?.message ?? 'invalid' };
  let foreign = false;
  let netns = '';
  let pod: PodRef | undefined;
  let delAttempts = 0;
  const delegates: CachedDelegate[] = [];
  for (const [index, el] of parsed.data.entries()) {
    const configBytes = Buffer.from(el.Bytes, 'base64');
    let config: Record<string, unknown>;
    try {
      config = JSON.parse(configBytes.toString('utf8')) as Record<string, unknown>;
    } catch {
      return { status: 'corrupt', reason: `delegate ${index}: Bytes is not a JSON configuration` };
    }
    if (typeof config !== 'object' || config === null || Array.isArray(config)) {
      return { status: 'corrupt', reason: `delegate ${index}: Bytes is not a JSON object` };
    }
    const extras = ExtrasSchema.safeParse(el.multusTs);
    const x = extras.success ? extras.data : undefined;
    if (!x) foreign = true;
    if (x) {
      netns = x.netns;
      pod = x.pod;
      delAttempts = Math.max(delAttempts, x.delAttempts ?? 0);
    }
    const kind = x?.kind ?? (Array.isArray(config['plugins']) ? 'conflist' : 'conf');
    const networkName = x?.networkName ?? (typeof config['name'] === 'string' ? config['name'] : '');
    delegates.push({
      name: el.Name ?? networkName,
      networkName,
      ifName: x?.ifName ?? el.ifnameRequest ?? (index === 0 ? requestIfName : `net${index}`),
      master: x?.master ?? index === 0,
      kind,
      configBytes,
      cniArgs: x?.cniArgs ?? [],
      capabilityArgs: x?.capabilityArgs ?? {},
      ...(el.ifnameRequest ? { ifnameRequest: el.ifnameRequest } : {}),
      ...(el.macRequest ? { macRequest: el.macRequest } : {}),
      ...(el.ipRequest ? { ipRequest: el.ipRequest } : {}),
      ...(el['default-route'] ? { defaultRoute: el['default-route'] } : {}),
      ...(el.deviceID ? { deviceID: el.deviceID } : {}),
      ...(el.resourceName ? { resourceName: el.resourceName } : {}),
      ...(x?.devInfoFile ? { devInfoFile: x.devInfoFile } : {}),
      filterV4Gateway: el.IsFilterV4Gateway ?? false,
      filterV6Gateway: el.IsFilterV6Gateway ?? false,
    });
  }
  const entry: CachedContainer = { containerId, netns, pod, delegates };
  if (delAttempts > 0) entry.delAttempts = delAttempts;
  return { status: 'ok', foreign, entry };
}

export class DelegateCache {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  async save(entry: CachedContainer): Promise<void> {
    // No fsync: the rename keeps readers safe from partial files when the daemon dies; only a power loss could
    // lose the entry, and that also ends every attachment it describes (a reboot starts pods afresh).
    // Synchronous: a small file on a local disk, on every ADD's critical path (see writeFileAtomicSync).
    writeFileAtomicSync(cachePath(this.dir, entry.containerId), encodeCacheEntry(entry), {
      durable: false,
      mkdirMode: 0o700,
    });
  }

  async load(containerId: string, requestIfName: string): Promise<CacheRead> {
    let text: string;
    try {
      const fh = await open(cachePath(this.dir, containerId), constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        const { size } = await fh.stat();
        if (size > MAX_CACHE_FILE_BYTES) return { status: 'corrupt', reason: `file is ${size} bytes` };
        text = await fh.readFile('utf8');
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing' };
      return { status: 'corrupt', reason: (err as Error).message };
    }
    return decodeCacheEntry(containerId, text, requestIfName);
  }

  async remove(containerId: string): Promise<void> {
    await rm(cachePath(this.dir, containerId), { force: true });
  }

  /** Container IDs with a cache file (temp files and other names are ignored). */
  async list(): Promise<string[]> {
    try {
      const names = await readdir(this.dir, { withFileTypes: true });
      return names.filter((d) => d.isFile() && CONTAINER_ID_RE.test(d.name)).map((d) => d.name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }
}
