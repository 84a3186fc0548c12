import type { CniError } from '@multus-ts/cni';
import { describe, expect, it } from 'vitest';
import { cniDeviceInfoPath, dpDeviceInfoPath, parseDeviceInfo } from './devinfo.ts';

describe('Device Information Spec v1.1.0', () => {
  it.each([
    {
      type: 'pci',
      version: '1.1.0',
      pci: { 'pci-address': '0000:18:02.5', 'rdma-device': 'mlx5_3', 'representor-device': 'eth5' },
    },
    {
      type: 'vdpa',
      version: '1.1.0',
      vdpa: { 'parent-device': 'vdpa:0000:65:00.3', driver: 'vhost', path: '/dev/vhost-vdpa-1' },
    },
    { type: 'vhost-user', version: '1.1.0', 'vhost-user': { mode: 'client', path: '/var/run/vhost.sock' } },
    { type: 'memif', version: '1.0.0', memif: { role: 'master', path: '/run/memif.sock', mode: 'ethernet' } },
  ])('accepts a $type device (as text and as an object), keeping unknown keys', (doc) => {
    const withExtra = { ...doc, 'org.example': 1 };
    expect(parseDeviceInfo(JSON.stringify(withExtra))).toEqual(withExtra);
    expect(parseDeviceInfo(doc)).toEqual(doc);
  });
  it.each<[unknown, string]>([
    ['{', 'not JSON'],
    [{ type: 'pci', version: '1.1.0' }, 'type map missing'],
    [{ type: 'pci', version: '2.0.0', pci: { 'pci-address': 'x' } }, 'version'],
    [{ type: 'usb', version: '1.1.0' }, 'type'],
    [{ type: 'pci', version: '1.1.0', pci: {} }, 'pci-address required'],
    [
      { type: 'vdpa', version: '1.1.0', vdpa: { 'parent-device': 'x', driver: 'mlx' } },
      'driver vhost|virtio',
    ],
    [
      { type: 'vhost-user', version: '1.1.0', 'vhost-user': { mode: 'both', path: '/p' } },
      'mode client|server',
    ],
    [{ type: 'memif', version: '1.1.0', memif: { role: 'leader', path: '/p', mode: 'ip' } }, 'role'],
    [`"${'x'.repeat(70000)}"`, 'oversized'],
  ])('refuses %#: %s, with code 6', (doc) => {
    try {
      parseDeviceInfo(doc);
      expect.unreachable();
    } catch (e) {
      expect((e as CniError).id).toBe('ERR_DEVINFO_INVALID');
      expect((e as CniError).code).toBe(6);
    }
  });
});

describe('device-info file paths', () => {
  it('DP file: dp/<resourceName with / -> ->-<deviceID>-device.json', () => {
    expect(dpDeviceInfoPath('intel.com/sriov_netdevice', '0000:18:02.5')).toBe(
      '/var/run/k8s.cni.cncf.io/devinfo/dp/intel.com-sriov_netdevice-0000:18:02.5-device.json',
    );
  });
  it('CNI file: cni/<network>-<containerID>_<ifName>, every / flattened', () => {
    expect(cniDeviceInfoPath('default/sriov-net', 'abc123', 'net1')).toBe(
      '/var/run/k8s.cni.cncf.io/devinfo/cni/default-sriov-net-abc123_net1',
    );
    expect(cniDeviceInfoPath('../../etc', '..', 'x', '/base')).toBe('/base/cni/..-..-etc-.._x');
  });
  it('never produces a path outside the base directory', () => {
    for (const p of [dpDeviceInfoPath('../..', '../x'), cniDeviceInfoPath('/', '/', '/')]) {
      expect(p.split('/').filter((s) => s === '..')).toEqual([]);
    }
    expect(() => dpDeviceInfoPath('a', 'b\0c')).toThrow(/file name/);
  });
});
