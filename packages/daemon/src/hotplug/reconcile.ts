// One reconcile pass over one sandbox, run under that container's mutex (so it never overlaps the sandbox's ADD,
// DEL or CHECK). It reads the state again, compares, and acts: removals first (they may free interface names),
// then additions in annotation order, then one merge PATCH of network-status if anything changed.
//
// Crash safety follows ADD's rule: the delegate cache lists an attachment before its ADD runs and keeps it until
// its DEL succeeded, so a killed daemon leaves nothing DEL cannot find. An attachment listed without a cached
// result was not finished; the next pass deletes what may be half there and adds it again.
import { existsSync } from 'node:fs';
import {
  CniError,
  type CniResult,
  convertResult,
  findPlugin,
  type NetworkConfigList,
  type Result100,
} from '@multus-ts/cni';
import { formatNetworkStatus } from '@multus-ts/netspec';
import type { RequestContext } from '../engine/context.ts';
import { toCachedDelegate } from '../engine/plan.ts';
import { deleteAttachments } from '../engine/teardown.ts';
import type { PodInfo } from '../kube/pods.ts';
import type { CachedContainer, CachedDelegate } from '../store/delegate-cache.ts';
import { planSandbox } from './plan.ts';
import { cachedResultOf, statusDiffers, statusOfSandbox } from './status.ts';

export interface PodNotice {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface PassOutcome {
  /** gone: no such sandbox any more (or it is being deleted); skipped: not one to change now; done: compared. */
  state: 'gone' | 'skipped' | 'done';
  events: PodNotice[];
  /** Something failed that may succeed later. */
  retry: boolean;
  /** network-status could not be written. */
  statusPending: boolean;
}

const outcome = (state: PassOutcome['state']): PassOutcome => ({
  state,
  events: [],
  retry: false,
  statusPending: false,
});

function ipsOf(result: unknown): string {
  try {
    const r = convertResult(result as never, '1.1.0') as Result100;
    return (r.ips ?? []).map((ip) => ip.address).join(' ');
  } catch {
    return '';
  }
}

/**
 * `ctx` is a context for the sandbox (its container ID in `ctx.call`, the node's multus config); `checkStatus`
 * asks to compare network-status even when no attachment changes (daemon start, an earlier failed write).
 */
export async function reconcileSandbox(
  ctx: RequestContext,
  pod: PodInfo,
  checkStatus: boolean,
): Promise<PassOutcome> {
  const containerId = ctx.call.containerId;
  const read = await ctx.cache.load(containerId, 'eth0');
  if (read.status !== 'ok') return outcome('gone');
  const entry: CachedContainer = { ...read.entry, delegates: [...read.entry.delegates] };
  // A DEL already failed for this sandbox: it is on its way out.
  if (entry.delAttempts) return outcome('gone');
  if (entry.pod && pod.uid && entry.pod.uid !== pod.uid) return outcome('gone');
  const master = entry.delegates.find((d) => d.master);
  // Not a sandbox whose ADD finished (a failed ADD keeps what it could not undo), or its netns is already gone.
  if (!master || !existsSync(entry.netns)) return outcome('skipped');
  const complete = await Promise.all(
    entry.delegates.map(async (d) => (await cachedResultOf(ctx, containerId, d)) !== undefined),
  );
  if (!complete[entry.delegates.indexOf(master)]) return outcome('skipped');

  const sctx: RequestContext = { ...ctx, call: { ...ctx.call, netns: entry.netns, ifName: master.ifName } };
  const log = ctx.log.child({ pod: `${pod.namespace}/${pod.name}`, area: 'hotplug' });
  const out = outcome('done');
  let changed = false;

  const planned = planSandbox(sctx, pod, entry);
  if (!planned.ok) {
    out.events.push({ type: 'Warning', reason: planned.reason, message: planned.message });
    out.retry = planned.retry;
    log.warn({ reason: planned.reason, err: planned.message }, 'networks annotation not applied');
  } else {
    const { wanted, remove } = planned.plan;
    // Held but never finished: deleted and added again like a new one.
    const redo = new Set(
      wanted.filter((w) => w.heldIndex !== undefined && !complete[w.heldIndex]).map((w) => w.heldIndex!),
    );
    const redone = new Set([...redo].map((k) => entry.delegates[k]!));
    const goners = [...remove, ...redo].sort((a, b) => b - a).map((k) => entry.delegates[k]!);
    const blocked = new Set<string>();
    for (const d of goners) {
      const errors = await deleteAttachments(sctx, { ...entry, delegates: [d] });
      if (errors.length > 0) {
        const msg = errors[0]!.error.message;
        out.events.push({
          type: 'Warning',
          reason: 'HotplugFailed',
          message: `Remove ${d.ifName} from ${d.name}: ${msg}`,
        });
        out.retry = true;
        blocked.add(d.ifName);
        continue;
      }
      entry.delegates.splice(entry.delegates.indexOf(d), 1);
      await ctx.cache.save(entry);
      changed = true;
      if (!redone.has(d)) {
        out.events.push({
          type: 'Normal',
          reason: 'RemovedInterface',
          message: `Remove ${d.ifName} from ${d.name}`,
        });
      }
    }
    for (const w of wanted) {
      if (w.heldIndex !== undefined && !redo.has(w.heldIndex)) continue;
      const a = w.attachment;
      if (blocked.has(a.ifName)) continue;
      const added = await addRecorded(sctx, entry, toCachedDelegate(a), a.config);
      if (added.ok) {
        changed = true;
        out.events.push({
          type: 'Normal',
          reason: 'AddedInterface',
          message: `Add ${a.ifName} [${ipsOf(added.result)}] from ${a.network}`,
        });
      } else {
        out.events.push({
          type: 'Warning',
          reason: 'HotplugFailed',
          message: `Add ${a.ifName} from ${a.network}: ${added.error.message}`,
        });
        out.retry = true;
        log.error({ network: a.network, ifname: a.ifName, err: added.error.message }, 'hot-plug ADD failed');
      }
    }
  }

  if (changed || checkStatus) {
    const status = await statusOfSandbox(sctx, entry);
    if (changed || statusDiffers(pod, status)) {
      const written = await ctx.deps.status.write(pod.namespace, pod.name, formatNetworkStatus(status));
      if (!written.ok) {
        out.statusPending = true;
        out.retry = true;
        out.events.push({
          type: 'Warning',
          reason: 'HotplugFailed',
          message: `cannot write network-status: ${written.reason}`,
        });
        log.warn({ status: written.status, reason: written.reason }, 'could not write network-status');
      }
    }
  }
  return out;
}

/** Throws the lookup error when a plugin of the list is not installed: then nothing can have been made. */
export async function findPlugins(ctx: RequestContext, list: NetworkConfigList): Promise<void> {
  await Promise.all(ctx.runtime.plugins(list).map((p) => findPlugin(p.type, ctx.runtime.binDirs)));
}

/**
 * ADD of one attachment to a sandbox, recorded in its delegate cache entry before it runs (a crash from then on
 * leaves it where DEL and the next pass find it) and dropped again when it fails and its undo succeeds. `entry`
 * is updated in place. The caller holds the container's mutex.
 */
export async function addRecorded(
  ctx: RequestContext,
  entry: CachedContainer,
  d: CachedDelegate,
  list: NetworkConfigList,
): Promise<{ ok: true; result: CniResult } | { ok: false; error: CniError }> {
  try {
    await findPlugins(ctx, list);
  } catch (err) {
    return { ok: false, error: CniError.wrap(err) };
  }
  entry.delegates.push(d);
  await ctx.cache.save(entry);
  try {
    const result = await ctx.limiter.run('normal', ctx.deps.queueTimeoutMs ?? 60_000, () =>
      ctx.runtime.addNetworkList(list, {
        containerId: entry.containerId,
        netns: ctx.call.netns,
        ifName: d.ifName,
        args: d.cniArgs,
        capabilityArgs: d.capabilityArgs,
      }),
    );
    return { ok: true, result };
  } catch (err) {
    // Undo what may be half made; what cannot be undone stays listed for the pod's DEL and the next pass.
    const undo = await deleteAttachments(ctx, { ...entry, delegates: [d] });
    if (undo.length === 0) {
      entry.delegates.splice(entry.delegates.indexOf(d), 1);
      await ctx.cache.save(entry);
    }
    return { ok: false, error: CniError.wrap(err) };
  }
}
