// CHECK: every attachment the pod has, not only static delegates (upstream's CHECK is a no-op in clusterNetwork
// mode). The delegate cache says what was attached; without it the container is unknown to us (code 3).
import { CniError } from '@multus-ts/cni';
import type { CniReply } from '../server/server.ts';
import { inSlot, listFromBytes, type RequestContext } from './context.ts';

export async function runCheck(ctx: RequestContext): Promise<CniReply> {
  const { call, conf, cache } = ctx;
  const read = await cache.load(call.containerId, call.ifName);
  if (read.status !== 'ok') {
    throw new CniError(
      3,
      `no attachments known for container ${call.containerId}`,
      read.status === 'corrupt' ? read.reason : undefined,
    );
  }
  for (const d of read.entry.delegates) {
    const list = listFromBytes(d.configBytes, d.networkName);
    await inSlot(ctx, 'check', () =>
      ctx.runtime.checkNetworkList(list, {
        containerId: call.containerId,
        netns: call.netns || read.entry.netns,
        ifName: d.ifName,
        args: d.cniArgs,
        capabilityArgs: d.capabilityArgs,
      }),
    );
  }
  return { cniVersion: conf.cniVersion };
}
