// Devices (issue 5): a NAD's k8s.v1.cni.cncf.io/resourceName -> the kubelet PodResources API (a fake gRPC kubelet
// on a temp socket) -> deviceID for the delegate (sorted, one per attachment), and the device-info files: the
// device plugin's copied to the per-attachment CNI file, read into network-status, removed on DEL.
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PodResources, podResourcesService } from '../../../packages/daemon/src/kubelet/podresources.ts';
import { NodeHarness } from '../../support/daemon-harness.ts';
import { TestScope } from '../../support/netns.ts';

const scope = new TestScope();
let h: NodeHarness;
let kubelet: grpc.Server;
let devinfo: string;
let log: string;

beforeAll(async () => {
  const dir = await scope.tempDir('multus-ts-kubelet-');
  const socket = join(dir, 'kubelet.sock');
  devinfo = join(dir, 'devinfo');
  await mkdir(join(devinfo, 'dp'), { recursive: true });
  const pods: PodResources[] = [
    {
      name: 'sriov-pod',
      namespace: 'default',
      containers: [
        {
          name: 'app',
          devices: [{ resourceName: 'example.com/sriov', deviceIds: ['0000:03:00.2', '0000:03:00.1'] }],
        },
      ],
    },
  ];
  kubelet = new grpc.Server();
  kubelet.addService(podResourcesService, {
    List: (_c: unknown, cb: (e: null, v: PodResources[]) => void) => cb(null, pods),
  });
  await new Promise<void>((res, rej) =>
    kubelet.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (e) =>
      e ? rej(e) : res(),
    ),
  );
  for (const id of ['0000:03:00.1', '0000:03:00.2']) {
    await writeFile(
      join(devinfo, 'dp', `example.com-sriov-${id}-device.json`),
      JSON.stringify({ type: 'pci', version: '1.1.0', pci: { 'pci-address': id } }),
    );
  }
  h = await NodeHarness.start({
    cniVersion: '1.0.0',
    daemonConfig: { podResourcesSocket: socket, deviceInfoDir: devinfo },
  });
  log = join(h.root, 'dump.log');
  const plugin = join(h.binDir, 'dump');
  await writeFile(
    plugin,
    `#!/bin/sh
input=$(cat)
printf '%s %s\\n' "$CNI_COMMAND" "$input" >> '${log}'
if [ "$CNI_COMMAND" = ADD ]; then printf '{"cniVersion":"1.0.0","interfaces":[{"name":"%s","sandbox":"%s"}]}' "$CNI_IFNAME" "$CNI_NETNS"; fi
exit 0
`,
  );
  await chmod(plugin, 0o755);
  await h.createNad(
    'default',
    'sriov-net',
    { cniVersion: '1.0.0', type: 'dump', capabilities: { deviceID: true, CNIDeviceInfoFile: true } },
    { 'k8s.v1.cni.cncf.io/resourceName': 'example.com/sriov' },
  );
}, 60_000);
afterAll(async () => {
  kubelet?.forceShutdown();
  await h?.stop();
  await scope.cleanup();
  await TestScope.cleanupAll();
});

describe('device-plugin resources', () => {
  it('gives each attachment of a resource its own device, in sorted order, with device-info in network-status', async () => {
    const sb = await h.createPod({
      name: 'sriov-pod',
      annotations: { 'k8s.v1.cni.cncf.io/networks': 'sriov-net,sriov-net' },
    });
    const add = await h.shim('ADD', sb);
    expect(add.code, add.stdout + h.daemonLog.slice(-1500)).toBe(0);
    const calls = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('ADD '))
      .map((l) => JSON.parse(l.slice(4)) as Record<string, unknown>);
    expect(calls.map((c) => [c['deviceID'], c['pciBusID']])).toEqual([
      ['0000:03:00.1', '0000:03:00.1'],
      ['0000:03:00.2', '0000:03:00.2'],
    ]);
    const rc = calls.map((c) => c['runtimeConfig'] as Record<string, string>);
    expect(rc.map((r) => r['deviceID'])).toEqual(['0000:03:00.1', '0000:03:00.2']);
    expect(rc[0]!['CNIDeviceInfoFile']).toBe(
      join(devinfo, 'cni', `default-sriov-net-${sb.containerId}_net1`),
    );
    expect((await readdir(join(devinfo, 'cni'))).sort()).toEqual([
      `default-sriov-net-${sb.containerId}_net1`,
      `default-sriov-net-${sb.containerId}_net2`,
    ]);
    const status = JSON.parse(await h.networkStatus('default', 'sriov-pod'));
    expect(status[1]['device-info']).toEqual({
      type: 'pci',
      version: '1.1.0',
      pci: { 'pci-address': '0000:03:00.1' },
    });
    expect(status[2]['device-info']).toEqual({
      type: 'pci',
      version: '1.1.0',
      pci: { 'pci-address': '0000:03:00.2' },
    });

    const del = await h.shim('DEL', sb);
    expect(del.code, del.stdout).toBe(0);
    expect(await readdir(join(devinfo, 'cni')), 'device-info files are removed on DEL').toEqual([]);
  });

  it('a pod without devices for the resource still gets the network, without a deviceID', async () => {
    const sb = await h.createPod({
      name: 'no-devices',
      annotations: { 'k8s.v1.cni.cncf.io/networks': 'sriov-net' },
    });
    const add = await h.shim('ADD', sb);
    expect(add.code, add.stdout).toBe(0);
    const last = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('ADD '))
      .at(-1)!;
    expect(JSON.parse(last.slice(4))).not.toHaveProperty('deviceID');
    expect((await h.shim('DEL', sb)).code).toBe(0);
  });
});
