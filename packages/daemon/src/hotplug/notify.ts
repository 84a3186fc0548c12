// Tells the hot-plug reconciler about the sandboxes the daemon sets up and tears down through /cni, so it knows
// each pod's sandbox without asking the runtime, and looks again right after an ADD (the annotation may have
// changed while the ADD ran on the pod as it was before).
import { parseK8sArgs } from '@multus-ts/netspec';
import type { CniReply, CniService } from '../server/server.ts';
import type { CniCall } from '../server/wire.ts';
import type { HotplugReconciler } from './reconciler.ts';

function podOf(call: CniCall): { namespace: string; name: string } | undefined {
  try {
    const k = parseK8sArgs(call.args);
    return k.podNamespace && k.podName ? { namespace: k.podNamespace, name: k.podName } : undefined;
  } catch {
    return undefined;
  }
}

export function withHotplugNotifications(
  service: CniService,
  reconciler: Pick<HotplugReconciler, 'sandboxAdded' | 'sandboxDeleted'>,
): CniService {
  return {
    async cni(call: CniCall): Promise<CniReply> {
      const reply = await service.cni(call);
      if (call.command === 'ADD') {
        const pod = podOf(call);
        if (pod) reconciler.sandboxAdded(call.containerId, pod.namespace, pod.name);
      } else if (call.command === 'DEL') {
        reconciler.sandboxDeleted(call.containerId);
      }
      return reply;
    },
    delegate: (call) => service.delegate(call),
  };
}
