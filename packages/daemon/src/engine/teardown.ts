// Tearing attachments down: every one that can be, in reverse order, each error collected and none stopping
// the rest (multi-net-spec 7.2). Used by DEL and by ADD's rollback.
import { rm } from 'node:fs/promises';
import { CniError } from '@multus-ts/cni';
import type { CachedContainer } from '../store/delegate-cache.ts';
import { inSlot, listFromBytes, type RequestContext } from './context.ts';

export interface TeardownError {
  network: string;
  ifName: string;
  error: CniError;
}

/**
 * `netnsFrom`: 'call' for DEL and ADD's rollback (the runtime's CNI_NETNS is authoritative, the cached one a
 * fallback), 'cache' for GC (the GC call's own CNI_NETNS, if any, belongs to no attachment).
 */
export async function deleteAttachments(
  ctx: RequestContext,
  entry: CachedContainer,
  netnsFrom: 'call' | 'cache' = 'call',
): Promise<TeardownError[]> {
  const errors: TeardownError[] = [];
  const netns = netnsFrom === 'call' ? ctx.call.netns || entry.netns : entry.netns;
  for (const d of [...entry.delegates].reverse()) {
    try {
      const list = listFromBytes(d.configBytes, d.networkName);
      await inSlot(ctx, 'del', () =>
        ctx.runtime.delNetworkList(list, {
          containerId: entry.containerId,
          netns,
          ifName: d.ifName,
          args: d.cniArgs,
          capabilityArgs: d.capabilityArgs,
        }),
      );
    } catch (err) {
      const error = CniError.wrap(err);
      ctx.log.error(
        { network: d.name, ifname: d.ifName, err: error.message, code: error.code },
        'delegate DEL failed',
      );
      errors.push({ network: d.name, ifName: d.ifName, error });
    }
    if (d.devInfoFile) await rm(d.devInfoFile, { force: true }).catch(() => undefined);
  }
  return errors;
}

/** One error for several: the first failure's code, every message. */
export function combineTeardownErrors(errors: readonly TeardownError[]): CniError {
  const first = errors[0]!.error;
  if (errors.length === 1) return first;
  const msg = `errors: ${errors.map((e) => `${e.network} (${e.ifName}): ${e.error.msg}`).join(' / ')}`;
  return new CniError(
    first.code,
    msg,
    errors
      .map((e) => e.error.details)
      .filter(Boolean)
      .join(' / ') || undefined,
  );
}
