// What a running sandbox should have according to its pod's networks annotation now: the annotation's
// attachments, each either one the sandbox already holds or a new one, and the held ones it no longer selects.
// netspec's planner does the resolution (NADs, isolation, capabilities, CNI_ARGS) exactly as for ADD; names.ts
// keeps interface names stable. The cluster network and defaultNetworks are planned too, but only so they are
// never mistaken for annotation attachments.
import { CniError } from '@multus-ts/cni';
import {
  type Attachment,
  NETWORKS_ANNOTATION,
  type NetworkSelection,
  parseNetworkSelection,
  planAttachments,
} from '@multus-ts/netspec';
import type { RequestContext } from '../engine/context.ts';
import type { PodInfo } from '../kube/pods.ts';
import type { CachedContainer } from '../store/delegate-cache.ts';
import { attachmentKey, planInterfaceNames } from './names.ts';

export interface WantedAttachment {
  attachment: Attachment;
  /** Index into the cache entry's delegates when the sandbox already holds it. */
  heldIndex: number | undefined;
}

export interface SandboxPlan {
  wanted: WantedAttachment[];
  /** Indexes into the cache entry's delegates, ascending. */
  remove: number[];
}

export type PlanOutcome =
  | { ok: true; plan: SandboxPlan }
  | { ok: false; reason: 'NoNetworkFound' | 'HotplugRejected'; message: string; retry: boolean };

/** Errors a second look cannot change: only a new annotation (which triggers a new pass) can. */
const ANNOTATION_FAULTS = /^ERR_(SELECTION_|IFNAME_|NAMESPACE_ISOLATION)/;

function plan(
  ctx: RequestContext,
  pod: PodInfo,
  networks: string | undefined,
  ifNames?: (string | undefined)[],
) {
  const { call, conf, deps } = ctx;
  const annotations: Record<string, string> = { ...pod.annotations };
  if (networks === undefined) delete annotations[NETWORKS_ANNOTATION];
  return planAttachments({
    pod: { namespace: pod.namespace, name: pod.name, uid: pod.uid, annotations },
    multus: {
      clusterNetwork: conf.clusterNetwork,
      delegates: conf.delegates,
      defaultNetworks: conf.defaultNetworks,
      multusNamespace: conf.multusNamespace,
      systemNamespaces: conf.systemNamespaces,
      namespaceIsolation: conf.namespaceIsolation,
      globalNamespaces: conf.globalNamespaces,
      confDir: conf.confDir,
    },
    runtime: { containerId: call.containerId, ifName: call.ifName },
    lookupNad: (ns, name) => deps.nads.get(ns, name),
    reader: deps.reader,
    deviceInfoDir: deps.deviceInfoDir,
    selectionIfNames: ifNames,
  });
}

function failed(err: unknown): PlanOutcome {
  const e = CniError.wrap(err);
  if (e.id === 'ERR_NAD_NOT_FOUND')
    return { ok: false, reason: 'NoNetworkFound', message: e.msg, retry: true };
  const retry = !(e.id && ANNOTATION_FAULTS.test(e.id));
  return { ok: false, reason: 'HotplugRejected', message: e.message, retry };
}

/** What cannot be added to a running pod (ADD could do it, hot-plug cannot do it right). */
function unsupported(sel: NetworkSelection | undefined, a: Attachment): string | undefined {
  if (a.resourceName !== undefined) {
    return `network ${a.network} uses device-plugin resource ${a.resourceName}: devices are allocated when the pod starts`;
  }
  if (sel?.defaultRoute !== undefined) {
    return `network ${a.network} asks for default-route: a running pod's default route (the cluster network's) is not changed`;
  }
  return undefined;
}

/** `ctx.call` carries the sandbox's container ID and the cluster network's interface name. */
export function planSandbox(ctx: RequestContext, pod: PodInfo, entry: CachedContainer): PlanOutcome {
  const text = pod.annotations[NETWORKS_ANNOTATION];
  const parsed = parseNetworkSelection(text, { defaultNamespace: pod.namespace });
  if (!parsed.ok)
    return { ok: false, reason: 'HotplugRejected', message: parsed.error.message, retry: false };
  const selections = parsed.value;
  try {
    // The attachments the pod has whatever it selects: identified so they are never treated as selected ones.
    const fixed = plan(ctx, pod, undefined);
    const fixedKeys = new Set(fixed.filter((a) => !a.master).map((a) => attachmentKey(a.network, a.ifName)));
    const names = planInterfaceNames(
      entry.delegates,
      fixedKeys,
      new Set(fixed.map((a) => a.ifName)),
      selections.map((s) => ({ network: `${s.namespace}/${s.name}`, interface: s.interface })),
    );
    if (!names.ok) return { ok: false, reason: 'HotplugRejected', message: names.reason, retry: false };
    const selected = plan(ctx, pod, text, names.plan.ifNames).filter((a) => a.source === 'selection');
    const wanted = selected.map((attachment, i) => ({ attachment, heldIndex: names.plan.heldIndex[i] }));
    for (const w of wanted) {
      const why = w.heldIndex === undefined ? unsupported(w.attachment.selection, w.attachment) : undefined;
      if (why) return { ok: false, reason: 'HotplugRejected', message: why, retry: false };
    }
    return { ok: true, plan: { wanted, remove: names.plan.remove } };
  } catch (err) {
    return failed(err);
  }
}
