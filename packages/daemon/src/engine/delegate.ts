// POST /delegate: one delegate attached to (or removed from) a running pod by an external controller such as
// multus-dynamic-networks-controller, in upstream's wire format. The request's config is the delegate's own CNI
// config; interfaceAttributes carry mac, ips and cni-args. Unlike upstream, the daemon-config overlay is not
// applied to the delegate config (it would rewrite the delegate's cniVersion); binDir and cniDir come from the
// daemon configuration.
import { CniError, convertResult, parseNetworkConfig, type Result100 } from '@multus-ts/cni';
import {
  capabilityArgsFor,
  mergeCniArgs,
  type NetworkSelection,
  parseK8sArgs,
  requirePodIdentity,
} from '@multus-ts/netspec';
import { DAEMON_ERRORS } from '../catalogue.ts';
import type { CniReply } from '../server/server.ts';
import { inSlot, type RequestContext } from './context.ts';

export async function runDelegate(ctx: RequestContext): Promise<CniReply> {
  const { call, deps } = ctx;
  const k8s = parseK8sArgs(call.args);
  const who = requirePodIdentity(k8s);
  const attrs = call.interfaceAttributes;
  let text = Buffer.from(call.config).toString('utf8');
  if (attrs?.['cni-args']) text = mergeCniArgs(text, attrs['cni-args'], 'delegate');
  const list = parseNetworkConfig(text);
  const rt = {
    containerId: call.containerId,
    netns: call.netns,
    ifName: call.ifName,
    args: [
      ['IgnoreUnknown', 'true'],
      ['K8S_POD_NAMESPACE', who.namespace],
      ['K8S_POD_NAME', who.name],
      ['K8S_POD_INFRA_CONTAINER_ID', call.containerId],
      ['K8S_POD_UID', k8s.podUid ?? ''],
    ] as [string, string][],
  };
  switch (call.command) {
    case 'ADD': {
      const found = await deps.pods.lookup(who.namespace, who.name, k8s.podUid ?? '', 'add');
      if (found.kind !== 'found') throw new CniError(3, 'pod not found during Multus GetPod');
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
      const result = await inSlot(ctx, 'add', () =>
        ctx.runtime.addNetworkList(list, { ...rt, capabilityArgs }),
      );
      const ips = ((convertResult(result, '1.1.0') as Result100).ips ?? []).map((ip) => ip.address);
      deps.events.record(found.pod, {
        type: 'Normal',
        reason: 'AddedInterface',
        message: `Add ${call.ifName} [${ips.join(' ')}] from ${list.name}`,
      });
      return { cniVersion: '1.1.0', result: convertResult(result, '1.1.0') as Record<string, unknown> };
    }
    case 'DEL':
      await inSlot(ctx, 'del', () => ctx.runtime.delNetworkList(list, rt));
      return { cniVersion: list.cniVersion };
    case 'CHECK':
      await ctx.runtime.checkNetworkList(list, rt);
      return { cniVersion: list.cniVersion };
    case 'STATUS':
      await ctx.runtime.statusNetworkList(list);
      return { cniVersion: list.cniVersion };
    default:
      throw CniError.of(DAEMON_ERRORS, 'ERR_COMMAND_UNKNOWN', { command: call.command });
  }
}
