import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeListResponse,
  devicesOfPod,
  encodeListResponse,
  listPodResources,
  type PodResources,
  podResourcesService,
} from './podresources.ts';

const pods: PodResources[] = [
  {
    name: 'sriov-pod',
    namespace: 'default',
    containers: [
      {
        name: 'a',
        devices: [{ resourceName: 'intel.com/sriov', deviceIds: ['0000:03:00.3', '0000:03:00.1'] }],
      },
      {
        name: 'b',
        devices: [
          { resourceName: 'intel.com/sriov', deviceIds: ['0000:03:00.2'] },
          { resourceName: 'x/y', deviceIds: ['d1'] },
        ],
      },
    ],
  },
  {
    name: 'other',
    namespace: 'default',
    containers: [{ name: 'c', devices: [{ resourceName: 'intel.com/sriov', deviceIds: ['9'] }] }],
  },
];

describe('PodResources protobuf codec', () => {
  it('round-trips a List response', () => {
    expect(decodeListResponse(encodeListResponse(pods))).toEqual(pods);
  });
  it('skips unknown fields (newer kubelets add cpu_ids, memory, topology)', () => {
    // field 9 (varint) and field 10 (length-delimited) before the pod list
    const extra = Buffer.from([0x48, 0x05, 0x52, 0x02, 0x61, 0x62]);
    expect(decodeListResponse(Buffer.concat([extra, encodeListResponse(pods)]))).toEqual(pods);
  });
  it.each([
    ['a truncated length', Buffer.from([0x0a, 0x10, 0x01])],
    ['a truncated varint', Buffer.from([0x0a, 0xff])],
    ['an unsupported wire type', Buffer.from([0x0b])],
  ])('refuses %s with a RangeError instead of reading past the buffer', (_what, buf) => {
    expect(() => decodeListResponse(buf)).toThrow(RangeError);
  });
  it("collects one pod's devices per resource, sorted (upstream PR #1481)", () => {
    expect(devicesOfPod(pods, 'default', 'sriov-pod')).toEqual({
      'intel.com/sriov': ['0000:03:00.1', '0000:03:00.2', '0000:03:00.3'],
      'x/y': ['d1'],
    });
    expect(devicesOfPod(pods, 'default', 'absent')).toEqual({});
  });
});

describe('listPodResources against a gRPC server on a unix socket', () => {
  let server: grpc.Server | undefined;
  let dir: string | undefined;
  afterEach(() => {
    server?.forceShutdown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists what the kubelet reports', async () => {
    dir = mkdtempSync(join(tmpdir(), 'mts-kubelet-'));
    const socket = join(dir, 'kubelet.sock');
    server = new grpc.Server();
    server.addService(podResourcesService, {
      List: (_call: unknown, cb: (e: null, v: PodResources[]) => void) => cb(null, pods),
    });
    await new Promise<void>((res, rej) =>
      server!.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (e) =>
        e ? rej(e) : res(),
      ),
    );
    expect(await listPodResources(socket)).toEqual(pods);
  });

  it('fails within the deadline when nothing listens', async () => {
    dir = mkdtempSync(join(tmpdir(), 'mts-kubelet-'));
    await expect(listPodResources(join(dir, 'absent.sock'), 500)).rejects.toThrow();
  });
});
