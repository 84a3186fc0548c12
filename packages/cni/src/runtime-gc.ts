// GC of one network list, as libcni does it:
// 1. every attachment of this network in the result cache that is not in the valid list gets a DEL (with the
//    netns, CNI_ARGS and capability args recorded at ADD), at any cniVersion: this is what gives plugins that
//    predate GC a form of it;
// 2. from cniVersion 1.1.0 on, every plugin gets a GC call with `name`, `cniVersion` and the valid list under
//    both `cni.dev/valid-attachments` and `cni.dev/attachments`.
// Nothing stops on a failure: every error is collected and they are thrown together (CniErrorList, code of the
// first). `disableGC` skips all of it.
import type { NetworkConfigList } from './config.ts';
import type { CniError } from './errors.ts';
import { type GcAttachment, withValidAttachments } from './gc.ts';
import type { CniRuntime, RuntimeConf, SkipReason } from './runtime.ts';
import { CniErrorList, prefixError } from './runtime-errors.ts';
import { versionAtLeast } from './version.ts';

export interface GcOutcome {
  skipped?: SkipReason;
  /** Cached attachments of this network that were not valid and got a DEL. */
  deleted: GcAttachment[];
  /** Plugin types that received a GC call (in list order). */
  collected: string[];
}

function attachmentId(a: GcAttachment): string {
  return JSON.stringify([a.containerID, a.ifname]);
}

async function deleteStale(
  runtime: CniRuntime,
  list: NetworkConfigList,
  valid: ReadonlySet<string>,
  errors: CniError[],
): Promise<GcAttachment[]> {
  const deleted: GcAttachment[] = [];
  let keys: Awaited<ReturnType<CniRuntime['cache']['list']>>;
  try {
    keys = await runtime.cache.list();
  } catch (err) {
    errors.push(prefixError(err, 'failed to list cached attachments'));
    return deleted;
  }
  for (const key of keys) {
    if (key.networkName !== list.name) continue;
    const attachment = { containerID: key.containerId, ifname: key.ifName };
    if (valid.has(attachmentId(attachment))) continue;
    const read = await runtime.cache.read(key.networkName, key.containerId, key.ifName);
    const entry = read.ok ? read.entry : undefined;
    const rt: RuntimeConf = {
      containerId: key.containerId,
      ifName: key.ifName,
      netns: entry?.netns ?? '',
      ...(entry?.cniArgs ? { args: entry.cniArgs } : {}),
      ...(entry?.capabilityArgs ? { capabilityArgs: entry.capabilityArgs } : {}),
    };
    try {
      await runtime.delNetworkList(list, rt);
      deleted.push(attachment);
    } catch (err) {
      errors.push(prefixError(err, `failed to delete stale attachment ${key.containerId} ${key.ifName}`));
    }
  }
  return deleted;
}

export async function gcNetworkList(
  runtime: CniRuntime,
  list: NetworkConfigList,
  validAttachments: readonly GcAttachment[],
): Promise<GcOutcome> {
  const plugins = runtime.plugins(list);
  if (list.disableGC) return { skipped: 'disableGC', deleted: [], collected: [] };
  const errors: CniError[] = [];
  const valid = new Set(validAttachments.map(attachmentId));
  const deleted = await deleteStale(runtime, list, valid, errors);

  const collected: string[] = [];
  const forward = versionAtLeast(list.cniVersion, '1.1.0');
  if (forward) {
    const extra = withValidAttachments({}, validAttachments);
    for (const plugin of plugins) {
      try {
        await runtime.runPlugin(list, plugin, 'GC', undefined, { extra });
        collected.push(plugin.type);
      } catch (err) {
        errors.push(prefixError(err, `failed to GC plugin ${plugin.type}`));
      }
    }
  }
  if (errors.length > 0) throw new CniErrorList(errors);
  return { ...(forward ? {} : { skipped: 'version' as const }), deleted, collected };
}
