// DEL: works from the delegate cache written by ADD, so it succeeds when the pod, the NAD or the API server are
// gone. Without a usable cache it rebuilds the plan from the pod if it still exists; with neither there is
// nothing this daemon ever attached, and DEL succeeds (a repeated DEL is always fine).
//
// Failures are bounded: a DEL whose delegates fail reports the errors (so the runtime retries) and keeps only the
// failed delegates in the cache; after MAX_DEL_ATTEMPTS failing DELs for one container the daemon gives up on
// them, logs an error and succeeds, so a plugin whose DEL never succeeds (e.g. macvlan 1.1.1 without its master)
// cannot keep a pod in Terminating forever. Upstream's shim instead swallows every DEL error at once.
import { CniError } from '@multus-ts/cni';
import { parseK8sArgs } from '@multus-ts/netspec';
import type { CniReply } from '../server/server.ts';
import type { CachedContainer, CachedDelegate } from '../store/delegate-cache.ts';
import type { RequestContext } from './context.ts';
import { cacheEntryFor, planForPod } from './plan.ts';
import { combineTeardownErrors, deleteAttachments } from './teardown.ts';

export const MAX_DEL_ATTEMPTS = 3;

export async function runDel(ctx: RequestContext): Promise<CniReply> {
  const { call, conf, cache, log } = ctx;
  const read = await cache.load(call.containerId, call.ifName);
  let entry: CachedContainer | undefined;
  if (read.status === 'ok') {
    entry = read.entry;
  } else {
    if (read.status === 'corrupt')
      log.warn({ reason: read.reason }, 'delegate cache unreadable: trying the pod');
    entry = (await rebuildFromPod(ctx)) ?? (await fromResultCache(ctx));
    if (!entry) {
      log.info({ cache: read.status }, 'no delegate cache and no pod: nothing to delete');
      if (read.status === 'corrupt') await cache.remove(call.containerId);
      return { cniVersion: conf.cniVersion };
    }
  }
  const errors = await deleteAttachments(ctx, entry);
  if (errors.length > 0 && read.status === 'ok') {
    const attempts = (entry.delAttempts ?? 0) + 1;
    if (attempts >= MAX_DEL_ATTEMPTS) {
      log.error(
        { attempts, failed: errors.map((e) => `${e.network}/${e.ifName}: ${e.error.msg}`) },
        'DEL keeps failing for these delegates: giving up on them',
      );
      await cache.remove(call.containerId);
      return { cniVersion: conf.cniVersion };
    }
    const failed = new Set(errors.map((e) => `${e.network}\u0000${e.ifName}`));
    await cache.save({
      ...entry,
      delAttempts: attempts,
      delegates: entry.delegates.filter((d) => failed.has(`${d.name}\u0000${d.ifName}`)),
    });
    // The cache stays so a retried DEL can finish the job.
    throw combineTeardownErrors(errors);
  }
  await cache.remove(call.containerId);
  return { cniVersion: conf.cniVersion };
}

async function rebuildFromPod(ctx: RequestContext): Promise<CachedContainer | undefined> {
  const { call, deps, log } = ctx;
  let k8s: ReturnType<typeof parseK8sArgs>;
  try {
    k8s = parseK8sArgs(call.args);
  } catch {
    return undefined;
  }
  if (!k8s.podNamespace || !k8s.podName) return undefined;
  const found = await deps.pods.lookup(k8s.podNamespace, k8s.podName, k8s.podUid ?? '', 'del');
  if (found.kind !== 'found') return undefined;
  try {
    return cacheEntryFor(ctx, found.pod, planForPod(ctx, found.pod));
  } catch (err) {
    log.warn({ err: CniError.wrap(err).message }, 'cannot rebuild the attachments from the pod');
    return undefined;
  }
}

/**
 * Last resort, with neither a usable delegate cache nor the pod: the libcni result cache entries ADD wrote for this
 * container (`<cniDir>/results/<net>-<containerID>-<ifname>`) hold each attachment's exact config, netns and args.
 * The attachment on CNI_IFNAME (the cluster network) goes last.
 */
async function fromResultCache(ctx: RequestContext): Promise<CachedContainer | undefined> {
  const { call, log, runtime } = ctx;
  let keys: Awaited<ReturnType<typeof runtime.cache.list>>;
  try {
    keys = await runtime.cache.list(call.containerId);
  } catch {
    return undefined;
  }
  const delegates: CachedDelegate[] = [];
  let netns = call.netns;
  for (const key of keys) {
    const read = await runtime.cache.read(key.networkName, key.containerId, key.ifName);
    if (!read.ok || read.entry.config.length === 0) continue;
    let kind: 'conf' | 'conflist' = 'conf';
    try {
      kind = Array.isArray(
        (JSON.parse(Buffer.from(read.entry.config).toString('utf8')) as { plugins?: unknown }).plugins,
      )
        ? 'conflist'
        : 'conf';
    } catch {
      continue;
    }
    netns ||= read.entry.netns ?? '';
    delegates.push({
      name: key.networkName,
      networkName: key.networkName,
      ifName: key.ifName,
      master: key.ifName === call.ifName,
      kind,
      configBytes: read.entry.config,
      cniArgs: read.entry.cniArgs ?? [],
      capabilityArgs: read.entry.capabilityArgs ?? {},
      filterV4Gateway: false,
      filterV6Gateway: false,
    });
  }
  if (delegates.length === 0) return undefined;
  delegates.sort((a, b) => Number(b.master) - Number(a.master));
  log.warn({ attachments: delegates.length }, 'DEL from the result cache (no delegate cache, no pod)');
  return { containerId: call.containerId, netns, pod: undefined, delegates };
}
