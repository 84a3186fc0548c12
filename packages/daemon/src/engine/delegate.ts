// POST /delegate: one delegate attached to (or removed from) a running pod by an external controller such as
// multus-dynamic-networks-controller, in upstream's wire format. The request's config is the delegate's own CNI
// config; interfaceAttributes carry mac, ips and cni-args. Unlike upstream, the daemon-config overlay is not
// applied to the delegate config (it would rewrite the delegate's cniVersion); binDir and cniDir come from the
// daemon configuration.
//
// Beyond upstream (docs/hotplug.md): the call is idempotent on network + interface (an ADD of an attachment the
// sandbox has returns its cached result, a DEL of one it lacks succeeds), the attachment is recorded in the
// sandbox's delegate cache (so the pod's DEL removes it) and network-status is rewritten. The sandbox is found by
// container ID, or by pod and netns when the caller sent another container's ID.
import {
  CniError,
  type CniResult,
  convertResult,
  type NetworkConfigList,
  parseNetworkConfig,
  type Result100,
} from '@multus-ts/cni';
import {
  buildNetworkStatus,
  capabilityArgsFor,
  formatNetworkStatus,
  mergeCniArgs,
  type NetworkSelection,
  parseK8sArgs,
  requirePodIdentity,
} from '@multus-ts/netspec';
import { DAEMON_ERRORS } from '../catalogue.ts';
import { addRecorded } from '../hotplug/reconcile.ts';
import { findSandbox } from '../hotplug/sandboxes.ts';
import { cachedResultOf, editedStatus, statusOfSandbox } from '../hotplug/status.ts';
import type { CniReply } from '../server/server.ts';
import type { CachedContainer, CachedDelegate } from '../store/delegate-cache.ts';
import type { RequestContext } from './context.ts';
import type { PodInfo } from './deps.ts';
import { combineTeardownErrors, deleteAttachments } from './teardown.ts';

export type Serialiser = <T>(containerId: string, fn: () => Promise<T>) => Promise<T>;

interface DelegateRequest {
  ctx: RequestContext;
  who: { namespace: string; name: string };
  podUid: string;
  text: string;
  list: NetworkConfigList;
}

function runtimeArgs(r: DelegateRequest, containerId: string): [string, string][] {
  return [
    ['IgnoreUnknown', 'true'],
    ['K8S_POD_NAMESPACE', r.who.namespace],
    ['K8S_POD_NAME', r.who.name],
    ['K8S_POD_INFRA_CONTAINER_ID', containerId],
    ['K8S_POD_UID', r.podUid],
  ];
}

export async function runDelegate(ctx: RequestContext, serialise: Serialiser): Promise<CniReply> {
  const { call } = ctx;
  const k8s = parseK8sArgs(call.args);
  const who = requirePodIdentity(k8s);
  const attrs = call.interfaceAttributes;
  let text = Buffer.from(call.config).toString('utf8');
  if (attrs?.['cni-args']) text = mergeCniArgs(text, attrs['cni-args'], 'delegate');
  const list = parseNetworkConfig(text);
  const r: DelegateRequest = { ctx, who, podUid: k8s.podUid ?? '', text, list };
  const rt = {
    containerId: call.containerId,
    netns: call.netns,
    ifName: call.ifName,
    args: runtimeArgs(r, call.containerId),
  };
  switch (call.command) {
    case 'ADD':
    case 'DEL': {
      const found = await findSandbox(ctx.cache, call.containerId, who, call.netns);
      return serialise(found?.containerId ?? call.containerId, async () => {
        // Read again under the lock: the sandbox may have changed (or gone) while we waited.
        const again = found ? await findSandbox(ctx.cache, found.containerId, who, '') : undefined;
        return call.command === 'ADD' ? delegateAdd(r, again) : delegateDel(r, again);
      });
    }
    case 'CHECK':
      return serialise(call.containerId, async () => {
        await ctx.runtime.checkNetworkList(list, rt);
        return { cniVersion: list.cniVersion };
      });
    case 'STATUS':
      await ctx.runtime.statusNetworkList(list);
      return { cniVersion: list.cniVersion };
    default:
      throw CniError.of(DAEMON_ERRORS, 'ERR_COMMAND_UNKNOWN', { command: call.command });
  }
}

/** The interface the call means: CNI_IFNAME when sent; else the one attachment of this network, or a new net<N>. */
function interfaceFor(r: DelegateRequest, entry: CachedContainer | undefined): string {
  const { call } = r.ctx;
  if (call.env['CNI_IFNAME'] || !entry) return call.ifName;
  const same = entry.delegates.filter((d) => !d.master && d.networkName === r.list.name);
  if (same.length === 1) return same[0]!.ifName;
  const used = new Set(entry.delegates.map((d) => d.ifName));
  let n = 1;
  while (used.has(`net${n}`)) n++;
  return `net${n}`;
}

function reply(result: unknown): CniReply {
  return { cniVersion: '1.1.0', result: convertResult(result as never, '1.1.0') as Record<string, unknown> };
}

async function delegateAdd(r: DelegateRequest, entry: CachedContainer | undefined): Promise<CniReply> {
  const { ctx, who, list } = r;
  const { call, deps } = ctx;
  const found = await deps.pods.lookup(who.namespace, who.name, r.podUid, 'add');
  if (found.kind !== 'found') throw new CniError(3, 'pod not found during Multus GetPod');
  const pod = found.pod;
  const containerId = entry?.containerId ?? call.containerId;
  const netns = call.netns || entry?.netns || '';
  const ifName = interfaceFor(r, entry);
  const rt = { containerId, netns, ifName, args: runtimeArgs(r, containerId) };

  const held = entry?.delegates.find((d) => d.ifName === ifName);
  if (held && (held.master || held.networkName !== list.name)) {
    throw new CniError(
      7,
      `DelegateAdd: cannot set "${list.name}" interface name to "${ifName}": validateIfName: interface name ${ifName} already exists`,
    );
  }
  // Idempotent: the attachment is there and finished. network-status is written again (the caller may be retrying
  // because the last write failed, multus-dynamic-networks-controller #235).
  const cached = held
    ? await cachedResultOf(ctx, containerId, held)
    : entry
      ? undefined
      : await ctx.runtime.cachedResult(list, rt);
  if (cached) {
    await writeStatus(r, pod, entry, ifName, cached);
    return reply(cached);
  }
  if (held && entry) {
    // Listed but never finished (the daemon died during it): clear what may be half there, then add afresh.
    const undo = await deleteAttachments(
      { ...ctx, call: { ...call, netns } },
      { ...entry, delegates: [held] },
    );
    if (undo.length > 0) throw combineTeardownErrors(undo);
    entry.delegates.splice(entry.delegates.indexOf(held), 1);
  }

  const attrs = call.interfaceAttributes;
  const selection: NetworkSelection = {
    name: list.name,
    namespace: who.namespace,
    ...(attrs?.ips ? { ips: attrs.ips } : {}),
    ...(attrs?.mac ? { mac: attrs.mac } : {}),
  };
  const { capabilityArgs } = capabilityArgsFor({
    network: list.name,
    config: list,
    master: false,
    selection,
    runtimeConfig: {},
  });
  const record: CachedDelegate = {
    name: list.name,
    networkName: list.name,
    ifName,
    master: false,
    kind: list.kind,
    configBytes: Buffer.from(r.text, 'utf8'),
    cniArgs: rt.args,
    capabilityArgs,
    ...(attrs?.mac ? { macRequest: attrs.mac } : {}),
    ...(attrs?.ips ? { ipRequest: [...attrs.ips] } : {}),
    filterV4Gateway: false,
    filterV6Gateway: false,
  };
  let result: CniResult;
  if (entry) {
    // Recorded in the sandbox's cache before it runs, as ADD does: the pod's DEL finds it whatever happens next.
    const added = await addRecorded({ ...ctx, call: { ...call, netns } }, entry, record, list);
    if (!added.ok) throw added.error;
    result = added.result;
  } else {
    result = await ctx.limiter.run('normal', deps.queueTimeoutMs ?? 60_000, () =>
      ctx.runtime.addNetworkList(list, { ...rt, capabilityArgs }),
    );
  }
  await writeStatus(r, pod, entry, ifName, result);
  const ips = ((convertResult(result, '1.1.0') as Result100).ips ?? []).map((ip) => ip.address);
  deps.events.record(pod, {
    type: 'Normal',
    reason: 'AddedInterface',
    message: `Add ${ifName} [${ips.join(' ')}] from ${list.name}`,
  });
  return reply(result);
}

async function delegateDel(r: DelegateRequest, entry: CachedContainer | undefined): Promise<CniReply> {
  const { ctx, list } = r;
  const { call, deps, log } = ctx;
  const ifName = interfaceFor(r, entry);
  const netns = call.netns || entry?.netns || '';
  const held = entry?.delegates.find((d) => d.ifName === ifName);
  if (entry && held && !held.master && held.networkName === list.name) {
    // The exact configuration and arguments its ADD used; a failure is reported so the caller retries.
    const errors = await deleteAttachments(
      { ...ctx, call: { ...call, netns } },
      { ...entry, delegates: [held] },
    );
    if (errors.length > 0) throw combineTeardownErrors(errors);
    entry.delegates.splice(entry.delegates.indexOf(held), 1);
    await ctx.cache.save(entry);
    const found = await deps.pods.lookup(r.who.namespace, r.who.name, r.podUid, 'del');
    if (found.kind === 'found') await writeStatus(r, found.pod, entry, ifName, undefined);
    return { cniVersion: list.cniVersion };
  }
  if (held) {
    // The name belongs to another attachment of this sandbox (or the cluster network): this one is absent.
    log.info(
      { ifname: ifName, network: list.name, holder: held.name },
      '/delegate DEL of an absent attachment',
    );
    return { cniVersion: list.cniVersion };
  }
  // Not recorded here (made before this daemon, or never made): the plugin's DEL, best effort, then success.
  const rt = {
    containerId: entry?.containerId ?? call.containerId,
    netns,
    ifName,
    args: runtimeArgs(r, call.containerId),
  };
  try {
    await ctx.limiter.run('high', Number.POSITIVE_INFINITY, () => ctx.runtime.delNetworkList(list, rt));
  } catch (err) {
    log.warn(
      { ifname: ifName, network: list.name, err: CniError.wrap(err).message },
      '/delegate DEL of an unrecorded attachment failed: ignored',
    );
  }
  if (!entry) {
    const found = await deps.pods.lookup(r.who.namespace, r.who.name, r.podUid, 'del');
    if (found.kind === 'found') await writeStatus(r, found.pod, undefined, ifName, undefined);
  }
  return { cniVersion: list.cniVersion };
}

/** One merge PATCH; a failed write is logged and tolerated, as for ADD (the attachment itself is fine). */
async function writeStatus(
  r: DelegateRequest,
  pod: PodInfo,
  entry: CachedContainer | undefined,
  ifName: string,
  result: unknown,
): Promise<void> {
  const { ctx, list } = r;
  const value = entry
    ? formatNetworkStatus(await statusOfSandbox(ctx, entry))
    : editedStatus(
        pod,
        list.name,
        ifName,
        result === undefined
          ? undefined
          : buildNetworkStatus({ network: list.name, ifName, isDefault: false, result }),
      );
  const written = await ctx.deps.status.write(pod.namespace, pod.name, value);
  if (!written.ok)
    ctx.log.warn({ status: written.status, reason: written.reason }, 'could not write network-status');
}
