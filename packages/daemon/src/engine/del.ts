// DEL: works from the delegate cache written by ADD, so it succeeds when the pod, the NAD or the API server are
// gone. Without a usable cache it rebuilds the plan from the pod if it still exists; with neither there is
// nothing this daemon ever attached, and DEL succeeds (a repeated DEL is always fine).
import { CniError } from '@multus-ts/cni';
import { parseK8sArgs } from '@multus-ts/netspec';
import type { CniReply } from '../server/server.ts';
import type { CachedContainer } from '../store/delegate-cache.ts';
import type { RequestContext } from './context.ts';
import { cacheEntryFor, planForPod } from './plan.ts';
import { combineTeardownErrors, deleteAttachments } from './teardown.ts';

export async function runDel(ctx: RequestContext): Promise<CniReply> {
  const { call, conf, cache, log } = ctx;
  const read = await cache.load(call.containerId, call.ifName);
  let entry: CachedContainer | undefined;
  if (read.status === 'ok') {
    entry = read.entry;
  } else {
    if (read.status === 'corrupt')
      log.warn({ reason: read.reason }, 'delegate cache unreadable: trying the pod');
    entry = await rebuildFromPod(ctx);
    if (!entry) {
      log.info({ cache: read.status }, 'no delegate cache and no pod: nothing to delete');
      if (read.status === 'corrupt') await cache.remove(call.containerId);
      return { cniVersion: conf.cniVersion };
    }
  }
  const errors = await deleteAttachments(ctx, entry);
  if (errors.length > 0) {
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
