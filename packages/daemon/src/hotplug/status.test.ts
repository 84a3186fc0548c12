import { formatNetworkStatus, type NetworkStatus } from '@multus-ts/netspec';
import { describe, expect, it } from 'vitest';
import type { PodInfo } from '../kube/pods.ts';
import { editedStatus, statusDiffers } from './status.ts';

const KEY = 'k8s.v1.cni.cncf.io/network-status';
const eth0: NetworkStatus = { name: 'cbr0', interface: 'eth0', ips: ['10.244.1.5'], default: true, dns: {} };
const net1: NetworkStatus = {
  name: 'default/blue',
  interface: 'net1',
  ips: ['10.60.1.2'],
  default: false,
  dns: {},
};

function pod(status?: string): PodInfo {
  return {
    namespace: 'default',
    name: 'p',
    uid: 'u',
    nodeName: 'n',
    resourceVersion: '1',
    annotations: status === undefined ? {} : { [KEY]: status },
    deleting: false,
  };
}

describe('statusDiffers', () => {
  it('compares networks and interfaces, not formatting or order', () => {
    const compact = JSON.stringify([net1, eth0]);
    expect(statusDiffers(pod(compact), [eth0, net1])).toBe(false);
    expect(statusDiffers(pod(formatNetworkStatus([eth0])), [eth0, net1])).toBe(true);
    expect(
      statusDiffers(pod(formatNetworkStatus([eth0, { ...net1, interface: 'net2' }])), [eth0, net1]),
    ).toBe(true);
  });

  it('an absent, unparsable or hostile annotation differs', () => {
    expect(statusDiffers(pod(), [eth0])).toBe(true);
    expect(statusDiffers(pod('[{"name":'), [eth0])).toBe(true);
    expect(statusDiffers(pod('{"name":"cbr0"}'), [eth0])).toBe(true);
    expect(statusDiffers(pod(`[${'{"name":"x"},'.repeat(30_000)}{"name":"x"}]`), [eth0])).toBe(true);
  });
});

describe('editedStatus', () => {
  it('replaces the entry of one network + interface and keeps the rest in order', () => {
    const out = editedStatus(pod(formatNetworkStatus([eth0, net1])), 'default/blue', 'net1', {
      ...net1,
      ips: ['10.60.1.9'],
    });
    expect(JSON.parse(out)).toEqual([eth0, { ...net1, ips: ['10.60.1.9'] }]);
  });

  it('drops the entry when there is no new one, and starts afresh from an unreadable annotation', () => {
    expect(
      JSON.parse(editedStatus(pod(formatNetworkStatus([eth0, net1])), 'default/blue', 'net1', undefined)),
    ).toEqual([eth0]);
    expect(JSON.parse(editedStatus(pod('not json'), 'extra', 'net5', undefined))).toEqual([]);
  });
});
