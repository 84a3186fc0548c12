// The bridge from a request to netspec's plan, and from a plan to what the delegate cache keeps.
import { type Attachment, planAttachments } from '@multus-ts/netspec';
import type { CachedContainer, CachedDelegate } from '../store/delegate-cache.ts';
import type { RequestContext } from './context.ts';
import type { PodInfo } from './deps.ts';

export function planForPod(
  ctx: RequestContext,
  pod: PodInfo,
  resourceDevices?: Readonly<Record<string, readonly string[]>>,
): Attachment[] {
  const { call, conf, deps } = ctx;
  return planAttachments({
    pod: { namespace: pod.namespace, name: pod.name, uid: pod.uid, annotations: pod.annotations },
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
    runtime: { containerId: call.containerId, ifName: call.ifName, runtimeConfig: conf.runtimeConfig },
    lookupNad: (ns, name) => deps.nads.get(ns, name),
    reader: deps.reader,
    resourceDevices,
    deviceInfoDir: deps.deviceInfoDir,
  });
}

export function toCachedDelegate(a: Attachment): CachedDelegate {
  const sel = a.selection;
  return {
    name: a.network,
    networkName: a.config.name,
    ifName: a.ifName,
    master: a.master,
    kind: a.config.kind,
    configBytes: Buffer.from(a.text, 'utf8'),
    cniArgs: a.cniArgs,
    capabilityArgs: a.capabilityArgs,
    ...(sel?.interface ? { ifnameRequest: sel.interface } : {}),
    ...(sel?.mac ? { macRequest: sel.mac } : {}),
    ...(sel?.ips ? { ipRequest: [...sel.ips] } : {}),
    ...(a.defaultRoute ? { defaultRoute: a.defaultRoute } : {}),
    ...(a.deviceID ? { deviceID: a.deviceID } : {}),
    ...(a.resourceName ? { resourceName: a.resourceName } : {}),
    ...(a.deviceInfo ? { devInfoFile: a.deviceInfo.cniFile } : {}),
    // Upstream's gateway filter flags; the route edits themselves are planned by netspec.
    filterV4Gateway: false,
    filterV6Gateway: false,
  };
}

export function cacheEntryFor(
  ctx: RequestContext,
  pod: PodInfo,
  plan: readonly Attachment[],
): CachedContainer {
  return {
    containerId: ctx.call.containerId,
    netns: ctx.call.netns,
    pod: { namespace: pod.namespace, name: pod.name, uid: pod.uid },
    delegates: plan.map(toCachedDelegate),
  };
}
