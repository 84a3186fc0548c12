// GC and STATUS (CNI 1.1.0). GC runs alone (the engine holds the exclusive gate): containers the runtime no
// longer lists get a full teardown from the delegate cache, then every network still in use, and the cluster
// network, receive GC with their own valid attachments. STATUS asks the networks every pod gets (the cluster
// network and defaultNetworks). Errors are collected, never stopping the rest.
import { CniError, type GcAttachment, type NetworkConfigList, readValidAttachments } from '@multus-ts/cni';
import { resolveNetworkRef } from '@multus-ts/netspec';
import type { CniReply } from '../server/server.ts';
import { listFromBytes, type RequestContext } from './context.ts';
import { combineTeardownErrors, deleteAttachments, type TeardownError } from './teardown.ts';

function podlessNetworks(ctx: RequestContext): NetworkConfigList[] {
  const { conf, deps } = ctx;
  const refs = [conf.clusterNetwork, ...conf.defaultNetworks].filter((r) => r !== '');
  const rctx = {
    lookupNad: (ns: string, n: string) => deps.nads.get(ns, n),
    reader: deps.reader,
    confDir: conf.confDir,
  };
  const lists = refs.map((ref) => resolveNetworkRef(ref, conf.multusNamespace, rctx).resolved.config);
  for (const d of conf.delegates)
    lists.push(listFromBytes(Buffer.from(JSON.stringify(d)), String(d['name'] ?? '')));
  return lists;
}

export async function runStatus(ctx: RequestContext): Promise<CniReply> {
  for (const list of podlessNetworks(ctx)) await ctx.runtime.statusNetworkList(list);
  return { cniVersion: ctx.conf.cniVersion };
}

export async function runGc(ctx: RequestContext): Promise<CniReply> {
  const { cache, conf, log } = ctx;
  const valid = readValidAttachments(conf.raw);
  if (valid === undefined) {
    // Without the runtime's list nothing can be judged stale: collecting anyway could delete live pods.
    log.warn({}, 'GC without cni.dev/valid-attachments: nothing collected');
    return { cniVersion: conf.cniVersion };
  }
  const validIds = new Set(valid.map((a) => a.containerID));
  const errors: TeardownError[] = [];
  const inUse = new Map<string, { list: NetworkConfigList; attachments: GcAttachment[] }>();

  for (const id of await cache.list()) {
    const read = await cache.load(id, 'eth0');
    if (read.status !== 'ok') continue;
    if (!validIds.has(id)) {
      log.info({ staleContainerID: id }, 'GC: tearing down a container the runtime no longer has');
      const errs = await deleteAttachments(ctx, read.entry, 'cache');
      errors.push(...errs);
      if (errs.length === 0) await cache.remove(id);
      continue;
    }
    for (const d of read.entry.delegates) {
      const key = `${d.networkName}\u0000${Buffer.from(d.configBytes).toString('base64')}`;
      let slot = inUse.get(key);
      if (!slot) {
        slot = { list: listFromBytes(d.configBytes, d.networkName), attachments: [] };
        inUse.set(key, slot);
      }
      slot.attachments.push({ containerID: id, ifname: d.ifName });
    }
  }
  for (const list of podlessNetworks(ctx)) {
    if (![...inUse.values()].some((s) => s.list.name === list.name))
      inUse.set(`podless:${list.name}`, { list, attachments: [] });
  }
  for (const { list, attachments } of inUse.values()) {
    try {
      await ctx.runtime.gcNetworkList(list, attachments);
    } catch (err) {
      errors.push({ network: list.name, ifName: '', error: CniError.wrap(err) });
    }
  }
  if (errors.length > 0) throw combineTeardownErrors(errors);
  return { cniVersion: conf.cniVersion };
}
