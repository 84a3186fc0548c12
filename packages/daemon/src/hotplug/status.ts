// network-status for a sandbox whose attachments changed after its ADD (multi-net-spec 5.1 allows dynamic
// updates). The value is rebuilt from what the daemon holds, not edited from what the annotation says: the
// delegate cache lists the attachments in order and the CNI result cache has each one's result, so a lost or
// failed write is repaired by writing again, whatever happened in between.
import { readFile } from 'node:fs/promises';
import { type CniResult, resultFromEntry } from '@multus-ts/cni';
import {
  buildNetworkStatus,
  type DeviceInfo,
  formatNetworkStatus,
  NETWORK_STATUS_ANNOTATION,
  type NetworkStatus,
  parseDeviceInfo,
  parseNetworkStatus,
} from '@multus-ts/netspec';
import type { RequestContext } from '../engine/context.ts';
import type { PodInfo } from '../kube/pods.ts';
import type { CachedContainer, CachedDelegate } from '../store/delegate-cache.ts';

/** The attachment's cached ADD result, or undefined when there is none usable (never made, or half made). */
export async function cachedResultOf(
  ctx: RequestContext,
  containerId: string,
  d: Pick<CachedDelegate, 'networkName' | 'ifName'>,
): Promise<CniResult | undefined> {
  const read = await ctx.runtime.cache.read(d.networkName, containerId, d.ifName);
  if (!read.ok) return undefined;
  try {
    return resultFromEntry(read.entry);
  } catch {
    return undefined;
  }
}

async function deviceInfoOf(path: string | undefined): Promise<DeviceInfo | undefined> {
  if (!path) return undefined;
  try {
    return parseDeviceInfo(await readFile(path, 'utf8'), path);
  } catch {
    return undefined;
  }
}

async function entryStatus(
  ctx: RequestContext,
  containerId: string,
  d: CachedDelegate,
): Promise<NetworkStatus> {
  const input = {
    network: d.name,
    ifName: d.ifName,
    isDefault: d.master,
    deviceInfo: await deviceInfoOf(d.devInfoFile),
    defaultRoute: d.defaultRoute,
  };
  try {
    return buildNetworkStatus({ ...input, result: await cachedResultOf(ctx, containerId, d) });
  } catch {
    // An undecodable cached result still gets the minimal entry 5.1 asks for.
    return buildNetworkStatus(input);
  }
}

/** Every attachment of the sandbox, in cache order (the cluster network first). */
export async function statusOfSandbox(ctx: RequestContext, entry: CachedContainer): Promise<NetworkStatus[]> {
  const out: NetworkStatus[] = [];
  for (const d of entry.delegates) out.push(await entryStatus(ctx, entry.containerId, d));
  return out;
}

function keysOf(list: readonly NetworkStatus[]): string {
  return list
    .map((s) => `${s.name}\u0000${s.interface ?? ''}`)
    .sort()
    .join('\u0001');
}

/**
 * Whether the pod's annotation lists other attachments (by network and interface) than `want`: the check a
 * restarted daemon makes, where it cannot know whether its last write landed. Formatting differences don't count.
 */
export function statusDiffers(pod: PodInfo, want: readonly NetworkStatus[]): boolean {
  const current = pod.annotations[NETWORK_STATUS_ANNOTATION];
  if (current === undefined) return true;
  try {
    return keysOf(parseNetworkStatus(current)) !== keysOf(want);
  } catch {
    return true;
  }
}

/**
 * For a sandbox this daemon holds no record of (set up before it took over): the pod's current annotation with
 * the entry for `network` + `ifName` replaced by `entry` (or dropped when `entry` is undefined). An unreadable
 * annotation starts from nothing.
 */
export function editedStatus(
  pod: PodInfo,
  network: string,
  ifName: string,
  entry: NetworkStatus | undefined,
): string {
  let list: NetworkStatus[] = [];
  const current = pod.annotations[NETWORK_STATUS_ANNOTATION];
  if (current !== undefined) {
    try {
      list = parseNetworkStatus(current);
    } catch {
      list = [];
    }
  }
  list = list.filter((s) => !(s.name === network && s.interface === ifName));
  if (entry) list.push(entry);
  return formatNetworkStatus(list);
}
