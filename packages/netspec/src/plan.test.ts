import { CniError } from '@multus-ts/cni';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memoryReader } from './memory-reader.ts';
import { RESOURCE_NAME_ANNOTATION } from './nad.ts';
import { type Attachment, type PlanRequest, planAttachments } from './plan.ts';

// The primary CNI config of the seeds (fixtures/seeds/10-calico.conflist), trimmed.
const CALICO = JSON.stringify({
  name: 'k8s-pod-network',
  cniVersion: '0.3.1',
  plugins: [
    {
      type: 'calico',
      ipam: { type: 'calico-ipam' },
      kubernetes: { kubeconfig: '/etc/cni/net.d/calico-kubeconfig' },
    },
    { type: 'portmap', snat: true, capabilities: { portMappings: true } },
    { type: 'bandwidth', capabilities: { bandwidth: true } },
  ],
});
const MACVLAN =
  '{"cniVersion":"0.3.0","type":"macvlan","master":"eth0","mode":"bridge","ipam":{"type":"host-local","subnet":"192.168.1.0/24"}}';

interface NadSpec {
  config?: string;
  annotations?: Record<string, string>;
}

function world(nads: Record<string, NadSpec>, files: Record<string, string> = {}) {
  const lookupNad = (ns: string, name: string) => {
    const n = nads[`${ns}/${name}`];
    if (!n) return undefined;
    return {
      apiVersion: 'k8s.cni.cncf.io/v1',
      kind: 'NetworkAttachmentDefinition',
      metadata: { name, namespace: ns, ...(n.annotations ? { annotations: n.annotations } : {}) },
      spec: n.config === undefined ? {} : { config: n.config },
    };
  };
  return { lookupNad, reader: memoryReader({ '/host/etc/cni/net.d/10-calico.conflist': CALICO, ...files }) };
}

const baseNads: Record<string, NadSpec> = {
  'default/macvlan-conf': { config: MACVLAN },
  'default/foo': { config: '{"cniVersion":"0.4.0","type":"bridge"}' },
  'kube-system/macvlan-vlan0': { config: '{"cniVersion":"0.4.0","type":"macvlan","master":"eth0"}' },
  'kube-system/calico': { config: CALICO },
  'default/with-ips': {
    config: '{"cniVersion":"0.4.0","type":"macvlan","capabilities":{"ips":true,"mac":true}}',
  },
  'default/chain': {
    config: JSON.stringify({
      cniVersion: '0.4.0',
      name: 'chain',
      plugins: [
        { type: 'macvlan', capabilities: { ips: true } },
        { type: 'tuning', capabilities: { mac: true, infinibandGUID: true } },
        { type: 'portmap', capabilities: { portMappings: true } },
        { type: 'bandwidth', capabilities: { bandwidth: true } },
      ],
    }),
  },
  'other/net-c': { config: '{"type":"bridge"}' },
};

function request(
  annotations: Record<string, string> = {},
  overrides: Partial<PlanRequest> = {},
): PlanRequest {
  return {
    pod: { namespace: 'default', name: 'samplepod', uid: 'uid-1', annotations },
    multus: { clusterNetwork: '/host/etc/cni/net.d/10-calico.conflist' },
    runtime: { containerId: 'cid123', ifName: 'eth0' },
    ...world(baseNads),
    ...overrides,
  };
}

function plan(annotations: Record<string, string> = {}, overrides: Partial<PlanRequest> = {}): Attachment[] {
  return planAttachments(request(annotations, overrides));
}

function planError(annotations: Record<string, string>, overrides: Partial<PlanRequest> = {}): CniError {
  try {
    plan(annotations, overrides);
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    return e as CniError;
  }
  throw new Error('expected the plan to fail');
}

const NETS = 'k8s.v1.cni.cncf.io/networks';
const DEFNET = 'v1.multus-cni.io/default-network';

describe('6 cluster-wide default network', () => {
  it('6 every pod gets the cluster network, even without a selection annotation', () => {
    const [a, ...rest] = plan();
    expect(rest).toEqual([]);
    expect(a).toMatchObject({
      index: 0,
      master: true,
      ifName: 'eth0',
      network: 'k8s-pod-network',
      source: 'clusterNetwork',
    });
    expect(a?.config.kind).toBe('conflist');
  });
  it('6.2 the cluster network comes before every secondary network (seed samplepod.yaml)', () => {
    const list = plan({ [NETS]: 'macvlan-conf' });
    expect(list.map((a) => [a.network, a.ifName, a.master])).toEqual([
      ['k8s-pod-network', 'eth0', true],
      ['default/macvlan-conf', 'net1', false],
    ]);
  });
  it('6 the default-network annotation replaces the cluster network (seed spiderpool-standalone.yaml)', () => {
    const list = plan({ [DEFNET]: 'kube-system/macvlan-vlan0' });
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      network: 'kube-system/macvlan-vlan0',
      master: true,
      ifName: 'eth0',
      source: 'defaultNetworkAnnotation',
    });
  });
  it('6 the default-network annotation defaults to multusNamespace and may rename the interface (upstream)', () => {
    const list = plan({ [DEFNET]: 'macvlan-vlan0@ens5' });
    expect(list[0]).toMatchObject({ network: 'kube-system/macvlan-vlan0', ifName: 'ens5' });
  });
  it('6 a default-network annotation naming a missing NAD fails, naming it', () => {
    const e = planError({ [DEFNET]: 'nope' });
    expect(e.msg).toContain('kube-system/nope');
    expect(e.id).toBe('ERR_NAD_NOT_FOUND');
  });
  it('6 clusterNetwork may name a NAD in multusNamespace', () => {
    const list = plan({}, { multus: { clusterNetwork: 'calico' } });
    expect(list[0]).toMatchObject({
      network: 'kube-system/calico',
      nad: { namespace: 'kube-system', name: 'calico' },
    });
  });
  it('6 clusterNetwork may name a config file in confDir by its network name', () => {
    const w = world({}, { '/etc/cni/multus/net.d/x.conflist': CALICO });
    const list = plan({}, { ...w, multus: { clusterNetwork: 'k8s-pod-network' } });
    expect(list[0]?.network).toBe('k8s-pod-network');
  });
  it('6 clusterNetwork may be a directory: its first config file in name order', () => {
    const w = world(
      {},
      { '/d/20-b.conf': '{"name":"b","type":"t"}', '/d/10-a.conflist': CALICO, '/d/x.txt': 'no' },
    );
    expect(plan({}, { ...w, multus: { clusterNetwork: '/d' } })[0]?.network).toBe('k8s-pod-network');
  });
  it('6 a file-based conflist gains the chained plugins of <dir>/<network name>/*.conf', () => {
    const w = world(
      {},
      {
        '/d/10-calico.conflist': CALICO,
        '/d/k8s-pod-network/20-tuning.conf': '{"type":"tuning","sysctl":{"a":"1"}}',
        '/d/k8s-pod-network/10-sbr.conf': '{"type":"sbr"}',
      },
    );
    const a = plan({}, { ...w, multus: { clusterNetwork: '/d/10-calico.conflist' } })[0];
    expect(a?.config.plugins.map((p) => p.type)).toEqual(['calico', 'portmap', 'bandwidth', 'sbr', 'tuning']);
  });
  it('6 an unresolvable clusterNetwork fails with code 7', () => {
    expect(planError({}, { multus: { clusterNetwork: 'nothing' } }).id).toBe('ERR_NETWORK_NOT_FOUND');
    expect(planError({}, { multus: { clusterNetwork: '/no/such.conf' } }).id).toBe(
      'ERR_NETWORK_FILE_INVALID',
    );
    expect(planError({}, { multus: {} }).id).toBe('ERR_NO_DELEGATES');
    expect(planError({}, { multus: { delegates: ['{"name":"x"}'] } }).id).toBe('ERR_DELEGATE_INVALID');
    const empty = world({}, { '/d/README': 'x' });
    expect(planError({}, { ...empty, multus: { clusterNetwork: '/d' } }).details).toBe('no CNI config files');
  });
  it('6 static delegates: the first is the cluster network, the others follow (seed flannel-two-networks.md)', () => {
    const flannel = (n: number) =>
      JSON.stringify({
        cniVersion: '0.3.1',
        name: `flannel.${n}`,
        type: 'flannel',
        subnetFile: `/run/flannel/subnet${n}.env`,
      });
    const list = plan(
      { [NETS]: 'macvlan-conf' },
      { multus: { delegates: [flannel(1), JSON.parse(flannel(2))] } },
    );
    expect(list.map((a) => [a.network, a.ifName, a.master, a.source])).toEqual([
      ['flannel.1', 'eth0', true, 'delegates'],
      ['flannel.2', 'net1', false, 'delegates'],
      ['default/macvlan-conf', 'net2', false, 'selection'],
    ]);
  });
  it('6 defaultNetworks follow the cluster network, but not for pods in systemNamespaces', () => {
    const multus = {
      clusterNetwork: '/host/etc/cni/net.d/10-calico.conflist',
      defaultNetworks: ['macvlan-vlan0'],
    };
    expect(plan({ [NETS]: 'foo' }, { multus }).map((a) => [a.network, a.ifName])).toEqual([
      ['k8s-pod-network', 'eth0'],
      ['kube-system/macvlan-vlan0', 'net1'],
      ['default/foo', 'net2'],
    ]);
    const sys = request({}, { multus });
    sys.pod = { ...sys.pod, namespace: 'kube-system' };
    expect(planAttachments(sys).map((a) => a.network)).toEqual(['k8s-pod-network']);
  });
});

describe('7.1 conflist semantics', () => {
  it("7.1 an attachment carries the list's name and cniVersion for libcni-style injection into each plugin", () => {
    const a = plan({ [NETS]: 'chain' })[1];
    expect(a?.config).toMatchObject({ kind: 'conflist', name: 'chain', cniVersion: '0.4.0' });
    expect(a?.config.plugins).toHaveLength(4);
    const m = plan({ [NETS]: 'macvlan-conf' })[1];
    expect(m?.config).toMatchObject({ kind: 'conf', name: 'macvlan-conf', cniVersion: '0.3.0' });
  });
});

describe('4.2 the same network several times', () => {
  it('4.2 each request is a separate attachment (seed samplepod-twice.yaml)', () => {
    expect(plan({ [NETS]: 'macvlan-conf,macvlan-conf' }).map((a) => [a.network, a.ifName])).toEqual([
      ['k8s-pod-network', 'eth0'],
      ['default/macvlan-conf', 'net1'],
      ['default/macvlan-conf', 'net2'],
    ]);
  });
  it('4.2.1 generated names are net<position in the whole list>; named interfaces still take a position', () => {
    expect(plan({ [NETS]: 'macvlan-conf@foo,macvlan-conf' }).map((a) => a.ifName)).toEqual([
      'eth0',
      'foo',
      'net2',
    ]);
    expect(plan({ [NETS]: 'foo,macvlan-conf' }).map((a) => [a.network, a.ifName])).toEqual([
      ['k8s-pod-network', 'eth0'],
      ['default/foo', 'net1'],
      ['default/macvlan-conf', 'net2'],
    ]);
  });
});

describe('selectionIfNames (hot-plug keeps running names stable)', () => {
  it('names the selected networks that name none, by position in the annotation; explicit names win', () => {
    const got = plan(
      { [NETS]: 'foo,macvlan-conf@data0,macvlan-conf' },
      { selectionIfNames: ['net7', 'ignored', undefined] },
    );
    expect(got.map((a) => a.ifName)).toEqual(['eth0', 'net7', 'data0', 'net3']);
    expect(got[1]?.selection?.interface).toBeUndefined();
  });
  it('applies to selected networks only, and still refuses a collision', () => {
    const multus = {
      clusterNetwork: '/host/etc/cni/net.d/10-calico.conflist',
      defaultNetworks: ['macvlan-vlan0'],
    };
    expect(plan({ [NETS]: 'foo' }, { multus, selectionIfNames: ['net9'] }).map((a) => a.ifName)).toEqual([
      'eth0',
      'net1',
      'net9',
    ]);
    const e = planError({ [NETS]: 'foo' }, { multus, selectionIfNames: ['net1'] });
    expect(e.id).toBe('ERR_IFNAME_TAKEN');
  });
});

describe('4.1.2.1.5 interface names across the plan', () => {
  it.each([
    ['macvlan-conf@eth0', 'default/macvlan-conf', 'k8s-pod-network'],
    ['foo,macvlan-conf@net1', 'default/macvlan-conf', 'default/foo'],
    ['foo@net2,macvlan-conf', 'default/macvlan-conf', 'default/foo'],
  ])('4.1.2.1.5 fails %j: the name is already used by an earlier attachment', (value, network, other) => {
    const e = planError({ [NETS]: value });
    expect(e.id).toBe('ERR_IFNAME_TAKEN');
    expect(e.msg).toContain(network);
    expect(e.msg).toContain(other);
  });
  it('4.1.2.1.5 the explicit name becomes CNI_IFNAME of the attachment', () => {
    expect(plan({ [NETS]: '[{"name":"foo","interface":"data0"}]' })[1]?.ifName).toBe('data0');
  });
  it('refuses an invalid CNI_IFNAME from the runtime', () => {
    const e = planError({}, { runtime: { containerId: 'c', ifName: 'bad/name' } });
    expect(e.id).toBe('ERR_IFNAME_INVALID');
  });
  it('property: a plan never has two attachments with one interface name', () => {
    const names = fc.constantFrom('eth0', 'net1', 'net2', 'net3', 'foo', undefined);
    const element = fc.record({ name: fc.constantFrom('foo', 'macvlan-conf', 'with-ips'), interface: names });
    fc.assert(
      fc.property(fc.array(element, { maxLength: 6 }), fc.constantFrom('eth0', 'net2'), (els, ifName) => {
        const annotation = JSON.stringify(els.map((e) => (e.interface ? e : { name: e.name })));
        let list: Attachment[];
        try {
          list = plan({ [NETS]: annotation }, { runtime: { containerId: 'c', ifName } });
        } catch (e) {
          expect(e).toBeInstanceOf(CniError);
          expect(['ERR_IFNAME_TAKEN', 'ERR_SELECTION_DUPLICATE_IFNAME']).toContain((e as CniError).id);
          return;
        }
        const ifnames = list.map((a) => a.ifName);
        expect(new Set(ifnames).size).toBe(ifnames.length);
        expect(list).toHaveLength(els.length + 1);
      }),
      { numRuns: 500 },
    );
  });
});

describe('4.1.2.1.3-10 requested capabilities', () => {
  const cases = [
    ['4.1.2.1.3', 'ips', { ips: ['10.1.1.11/24'] }, 'ips', ['10.1.1.11/24']],
    ['4.1.2.1.4', 'mac', { mac: 'c2:11:22:33:44:55' }, 'mac', 'c2:11:22:33:44:55'],
    [
      '4.1.2.1.7',
      'portMappings',
      { portMappings: [{ hostPort: 8080, containerPort: 80 }] },
      'portMappings',
      [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    ],
    ['4.1.2.1.8', 'bandwidth', { bandwidth: { ingressRate: 1000 } }, 'bandwidth', { ingressRate: 1000 }],
    [
      '4.1.2.1.10',
      'infiniband-guid',
      { 'infiniband-guid': 'c2:11:22:33:44:55:66:77' },
      'infinibandGUID',
      'c2:11:22:33:44:55:66:77',
    ],
  ] as const;
  it.each(cases)(
    '%s %s goes into runtimeConfig when a plugin of the chain declares it',
    (_c, _k, req, cap, value) => {
      const a = plan({ [NETS]: JSON.stringify([{ name: 'chain', ...req }]) })[1];
      expect(a?.capabilityArgs).toEqual({ [cap]: value });
    },
  );
  it.each(cases)('%s %s fails the attachment when no plugin declares the capability', (_c, key, req, cap) => {
    const e = planError({ [NETS]: JSON.stringify([{ name: 'foo', ...req }]) });
    expect(e.id).toBe('ERR_CAPABILITY_MISSING');
    expect(e.code).toBe(7);
    expect(e.msg).toContain('default/foo');
    expect(e.msg).toContain(`"${key}"`);
    expect(e.msg).toContain(`"${cap}"`);
  });
  it('4.1.2.1.3 upstream compatibility option: undeclared ips/mac go as CNI_ARGS IP=/MAC= instead', () => {
    const a = plan(
      {
        [NETS]: JSON.stringify([
          {
            name: 'foo',
            ips: ['10.0.0.1/24', '10.0.0.2'],
            mac: 'c2:11:22:33:44:55',
            bandwidth: { egressRate: 5 },
          },
        ]),
      },
      { cniArgsFallback: true },
    )[1];
    expect(a?.cniArgs.slice(-2)).toEqual([
      ['MAC', 'c2:11:22:33:44:55'],
      ['IP', '10.0.0.1/24,10.0.0.2'],
    ]);
    expect(a?.capabilityArgs).toEqual({});
  });
  it('passes the Kubernetes CNI_ARGS to every delegate', () => {
    for (const a of plan({ [NETS]: 'foo' })) {
      expect(a.cniArgs).toEqual([
        ['IgnoreUnknown', 'true'],
        ['K8S_POD_NAMESPACE', 'default'],
        ['K8S_POD_NAME', 'samplepod'],
        ['K8S_POD_INFRA_CONTAINER_ID', 'cid123'],
        ['K8S_POD_UID', 'uid-1'],
      ]);
    }
  });
});

describe('4.1.2.1.9 default-route in the plan', () => {
  it('4.1.2.1.9 the requesting attachment carries its gateways; the others carry none', () => {
    const list = plan({ [NETS]: '[{"name":"foo"},{"name":"macvlan-conf","default-route":["192.168.1.1"]}]' });
    expect(list.map((a) => a.defaultRoute)).toEqual([undefined, undefined, ['192.168.1.1']]);
  });
});

describe('7.5 runtime-supplied runtimeConfig', () => {
  const runtimeConfig = {
    PortMappings: [{ HostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    bandwidth: { ingressRate: 100 },
    cgroupPath: '/kubepods/x',
  };
  it('7.5 goes to the cluster network only, where the chain declares it (keys matched as Go runtimes send them)', () => {
    const [master, secondary] = plan(
      { [NETS]: 'chain' },
      { runtime: { containerId: 'c', ifName: 'eth0', runtimeConfig } },
    );
    expect(master?.capabilityArgs).toEqual({
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
      bandwidth: { ingressRate: 100 },
    });
    expect(secondary?.capabilityArgs).toEqual({});
  });
  it('7.5 a non-object runtimeConfig is ignored', () => {
    expect(
      plan({}, { runtime: { containerId: 'c', ifName: 'eth0', runtimeConfig: 'x' } })[0]?.capabilityArgs,
    ).toEqual({});
  });
});

describe('4.1.2.1.6 cni-args', () => {
  it('4.1.2.1.6 are merged into args.cni, the annotation winning, the rest of the config untouched', () => {
    const nads = {
      'default/a': {
        config: '{"type":"x", "args": {"cni": {"keep": 1, "over": "nad"}, "other": true}, "z": 1.50}',
      },
    };
    const a = plan({ [NETS]: '[{"name":"a","cni-args":{"over":"pod","new":[1]}}]' }, world(nads))[1];
    expect(a?.text).toBe(
      '{"name":"a","type":"x", "args": {"cni": {"keep":1,"over":"pod","new":[1]}, "other": true}, "z": 1.50}',
    );
    expect(a?.config.plugins[0]?.args).toEqual({ cni: { keep: 1, over: 'pod', new: [1] }, other: true });
  });
  it('4.1.2.1.6 reach every plugin of a conflist and create args where there is none', () => {
    const a = plan({ [NETS]: '[{"name":"chain","cni-args":{"k":"v"}}]' })[1];
    expect(a?.config.plugins.map((p) => p.args)).toEqual(Array(4).fill({ cni: { k: 'v' } }));
  });
  it('4.1.2.1.6 a non-object args.cni in the NAD is refused, naming the network', () => {
    const nads = { 'default/a': { config: '{"type":"x","args":{"cni":"str"}}' } };
    const e = planError({ [NETS]: '[{"name":"a","cni-args":{"k":"v"}}]' }, world(nads));
    expect(e.id).toBe('ERR_ARGS_CNI_INVALID');
    expect(e.msg).toContain('default/a');
  });
});

describe('7.4 namespace isolation', () => {
  const multus = { clusterNetwork: '/host/etc/cni/net.d/10-calico.conflist', namespaceIsolation: true };
  it('7.4 refuses a NAD in another namespace', () => {
    const e = planError({ [NETS]: 'other/net-c' }, { multus });
    expect(e.id).toBe('ERR_NAMESPACE_ISOLATION');
    expect(e.msg).toContain('pod is in namespace default but refers to target namespace other');
  });
  it('7.4 allows the pod namespace and globalNamespaces', () => {
    expect(plan({ [NETS]: 'foo' }, { multus })).toHaveLength(2);
    expect(
      plan({ [NETS]: 'other/net-c' }, { multus: { ...multus, globalNamespaces: ['other'] } }),
    ).toHaveLength(2);
  });
  it('7.4 does not apply to the default-network annotation (upstream)', () => {
    expect(plan({ [DEFNET]: 'kube-system/macvlan-vlan0' }, { multus })[0]?.network).toBe(
      'kube-system/macvlan-vlan0',
    );
  });
});

describe('7.2 any failure fails the whole plan', () => {
  it('7.2 a missing NAD after valid ones fails at once, naming it', () => {
    const e = planError({ [NETS]: 'foo,missing,macvlan-conf' });
    expect(e.id).toBe('ERR_NAD_NOT_FOUND');
    expect(e.msg).toContain('default/missing');
  });
  it('7.2 an invalid annotation fails the plan with the parser error', () => {
    expect(planError({ [NETS]: 'Bad' }).id).toBe('ERR_SELECTION_ELEMENT');
  });
  it('7.2 a NAD object that is not a NAD fails with code 7', () => {
    const e = planError({ [NETS]: 'x' }, { lookupNad: () => ({ metadata: 5 }) });
    expect(e.id).toBe('ERR_NAD_INVALID');
  });
  it('3.4.1 a NAD without spec.config is resolved from confDir by name', () => {
    const w = world(
      { 'default/disk': {} },
      { '/etc/cni/multus/net.d/disk.conf': '{"name":"disk","type":"bridge"}' },
    );
    expect(plan({ [NETS]: 'disk' }, w)[1]?.config.plugins[0]?.type).toBe('bridge');
  });
});

describe('device IDs and device-info files', () => {
  const sriov = (n: string) => ({
    config: JSON.stringify({
      cniVersion: '1.0.0',
      name: n,
      type: 'sriov',
      capabilities: { deviceID: true, CNIDeviceInfoFile: true },
    }),
    annotations: { [RESOURCE_NAME_ANNOTATION]: 'intel.com/sriov_net' },
  });
  const nads = { 'default/sriov-a': sriov('sriov-a'), 'default/sriov-b': sriov('sriov-b'), ...baseNads };
  const devices = { 'intel.com/sriov_net': ['0000:04:00.2', '0000:04:00.3'] };
  it('the i-th NAD using a resource gets the i-th device ID, injected as deviceID and pciBusID', () => {
    const list = plan({ [NETS]: 'sriov-a,sriov-b,sriov-a' }, { ...world(nads), resourceDevices: devices });
    expect(list.map((a) => a.deviceID)).toEqual([undefined, '0000:04:00.2', '0000:04:00.3', undefined]);
    expect(list[1]?.config.plugins[0]).toMatchObject({ deviceID: '0000:04:00.2', pciBusID: '0000:04:00.2' });
    expect(list[1]?.capabilityArgs).toEqual({
      deviceID: '0000:04:00.2',
      CNIDeviceInfoFile: '/var/run/k8s.cni.cncf.io/devinfo/cni/default-sriov-a-cid123_net1',
    });
    expect(list[1]?.deviceInfo).toEqual({
      cniFile: '/var/run/k8s.cni.cncf.io/devinfo/cni/default-sriov-a-cid123_net1',
      dpFile: '/var/run/k8s.cni.cncf.io/devinfo/dp/intel.com-sriov_net-0000:04:00.2-device.json',
    });
    expect(list[3]?.deviceInfo).toEqual({
      cniFile: '/var/run/k8s.cni.cncf.io/devinfo/cni/default-sriov-a-cid123_net3',
    });
  });
  it('a selection deviceID is used when no resource provides one, without JSON injection', () => {
    const a = plan({ [NETS]: '[{"name":"sriov-a","deviceID":"0000:05:00.1"}]' }, world(nads))[1];
    expect(a?.deviceID).toBe('0000:05:00.1');
    expect(a?.config.plugins[0]).not.toHaveProperty('deviceID');
    expect(a?.capabilityArgs['deviceID']).toBe('0000:05:00.1');
    expect(a?.resourceName).toBe('intel.com/sriov_net');
  });
  it('a chain without the capabilities gets neither deviceID nor CNIDeviceInfoFile in runtimeConfig', () => {
    const a = plan({ [NETS]: '[{"name":"foo","deviceID":"0000:05:00.1"}]' })[1];
    expect(a?.capabilityArgs).toEqual({});
    expect(a?.deviceInfo?.cniFile).toBe('/var/run/k8s.cni.cncf.io/devinfo/cni/default-foo-cid123_net1');
  });
  it('Device-info spec: a chain declaring CNIDeviceInfoFile gets the per-attachment path, even without a deviceID', () => {
    const nads2 = {
      'default/vhost': { config: '{"type":"userspace","capabilities":{"CNIDeviceInfoFile":true}}' },
    };
    const a = plan({ [NETS]: 'vhost' }, world(nads2))[1];
    expect(a?.capabilityArgs).toEqual({
      CNIDeviceInfoFile: '/var/run/k8s.cni.cncf.io/devinfo/cni/default-vhost-cid123_net1',
    });
    expect(a?.deviceInfo).toEqual({
      cniFile: '/var/run/k8s.cni.cncf.io/devinfo/cni/default-vhost-cid123_net1',
    });
    expect(a).not.toHaveProperty('deviceID');
  });
  it('Device-info spec: a resource with no device left for this attachment gets no deviceID', () => {
    const list = plan(
      { [NETS]: 'sriov-a,sriov-b' },
      { ...world(nads), resourceDevices: { 'intel.com/sriov_net': ['0000:04:00.2'] } },
    );
    expect(list.map((a) => a.deviceID)).toEqual([undefined, '0000:04:00.2', undefined]);
    expect(list[2]?.deviceInfo).toEqual({
      cniFile: '/var/run/k8s.cni.cncf.io/devinfo/cni/default-sriov-b-cid123_net2',
    });
  });
});
