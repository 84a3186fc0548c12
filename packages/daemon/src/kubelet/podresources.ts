// The kubelet PodResources API (`v1.PodResourcesLister/List` on /var/lib/kubelet/pod-resources/kubelet.sock):
// which device-plugin devices each pod's containers hold. multus-ts asks it only when a selected NAD names a
// resource (`k8s.v1.cni.cncf.io/resourceName`), and hands the i-th device of a resource to the i-th attachment
// using it (device IDs sorted, as upstream since PR #1481).
import type * as grpc from '@grpc/grpc-js';
import { ProtoReader, ProtoWriter } from './protobuf.ts';

export const PODRESOURCES_LIST_PATH = '/v1.PodResourcesLister/List';
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export interface ContainerDevices {
  resourceName: string;
  deviceIds: string[];
}
export interface ContainerResources {
  name: string;
  devices: ContainerDevices[];
}
export interface PodResources {
  name: string;
  namespace: string;
  containers: ContainerResources[];
}

function decodeDevices(r: ProtoReader): ContainerDevices {
  const out: ContainerDevices = { resourceName: '', deviceIds: [] };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 2) out.resourceName = r.string();
    else if (field === 2 && wire === 2) out.deviceIds.push(r.string());
    else r.skipField(wire);
  }
  return out;
}

function decodeContainer(r: ProtoReader): ContainerResources {
  const out: ContainerResources = { name: '', devices: [] };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 2) out.name = r.string();
    else if (field === 2 && wire === 2) out.devices.push(decodeDevices(r.bytes()));
    else r.skipField(wire);
  }
  return out;
}

function decodePod(r: ProtoReader): PodResources {
  const out: PodResources = { name: '', namespace: '', containers: [] };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 2) out.name = r.string();
    else if (field === 2 && wire === 2) out.namespace = r.string();
    else if (field === 3 && wire === 2) out.containers.push(decodeContainer(r.bytes()));
    else r.skipField(wire);
  }
  return out;
}

/** Decodes a ListPodResourcesResponse. Throws RangeError on malformed input. */
export function decodeListResponse(buf: Uint8Array): PodResources[] {
  const r = new ProtoReader(buf);
  const pods: PodResources[] = [];
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 2) pods.push(decodePod(r.bytes()));
    else r.skipField(wire);
  }
  return pods;
}

/** Encodes a ListPodResourcesResponse (used by the fake kubelet in tests). */
export function encodeListResponse(pods: readonly PodResources[]): Buffer {
  const w = new ProtoWriter();
  for (const p of pods) {
    const pw = new ProtoWriter().string(1, p.name).string(2, p.namespace);
    for (const c of p.containers) {
      const cw = new ProtoWriter().string(1, c.name);
      for (const d of c.devices) {
        const dw = new ProtoWriter().string(1, d.resourceName);
        for (const id of d.deviceIds) dw.string(2, id);
        cw.message(2, dw);
      }
      pw.message(3, cw);
    }
    w.message(1, pw);
  }
  return w.finish();
}

export const podResourcesService: grpc.ServiceDefinition = {
  List: {
    path: PODRESOURCES_LIST_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: () => Buffer.alloc(0),
    requestDeserialize: () => ({}),
    responseSerialize: (pods: PodResources[]) => encodeListResponse(pods),
    responseDeserialize: (buf: Buffer) => decodeListResponse(buf),
  },
};

/** resourceName -> sorted device IDs held by the pod's containers. */
export function devicesOfPod(
  pods: readonly PodResources[],
  namespace: string,
  name: string,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const p of pods) {
    if (p.namespace !== namespace || p.name !== name) continue;
    for (const c of p.containers) {
      for (const d of c.devices) out[d.resourceName] = [...(out[d.resourceName] ?? []), ...d.deviceIds];
    }
  }
  for (const ids of Object.values(out)) ids.sort();
  return out;
}

/** One List call with a deadline. Rejects with the gRPC error (the caller turns it into a CNI error). */
export async function listPodResources(socketPath: string, timeoutMs = 10_000): Promise<PodResources[]> {
  // Loaded on first use: most nodes never select a NAD with a resourceName, and grpc-js costs ~20 MB.
  const grpc = await import('@grpc/grpc-js');
  const client = new grpc.Client(`unix://${socketPath}`, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  });
  return new Promise<PodResources[]>((resolve, reject) => {
    client.makeUnaryRequest(
      PODRESOURCES_LIST_PATH,
      () => Buffer.alloc(0),
      (buf: Buffer) => decodeListResponse(buf),
      {},
      new grpc.Metadata(),
      { deadline: new Date(Date.now() + timeoutMs) },
      (err, pods) => {
        client.close();
        if (err) reject(err);
        else resolve(pods ?? []);
      },
    );
  });
}
