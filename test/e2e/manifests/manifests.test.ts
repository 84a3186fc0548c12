// deployments/multus-daemonset-thick.yml: every document parses, every object validates against the Kubernetes
// OpenAPI schemas with no unknown fields, the daemon's configuration loads with its own loader, and every path,
// port, image path and flag agrees with the daemon, the shim and the image.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseNetworkConfig } from '@multus-ts/cni';
import { NadSchema, parseNetworkSelection } from '@multus-ts/netspec';
import { describe, expect, it } from 'vitest';
import { parseDaemonArgs } from '../../../packages/daemon/src/config/index.ts';
import {
  DEFAULT_LAYOUT,
  IMAGE_DAEMON_MAIN,
  loadManifestDaemonConfig,
  mebibytes,
  pathProblems,
  probeTargets,
} from './_checks.ts';
import {
  daemonConfigOf,
  daemonContainer,
  EXAMPLES_DIR,
  findObject,
  type KubeObj,
  loadYamlObjects,
  objectKey,
  PLAIN_MANIFEST,
  parseYamlObjects,
  podSpecOf,
  unknownFields,
  validateBuiltin,
} from './_manifests.ts';

const IMAGE = 'ghcr.io/multus-ts/multus-ts:latest';
const objs = loadYamlObjects(PLAIN_MANIFEST);
const spec = podSpecOf(objs);
const daemon = daemonContainer(spec);

describe('the YAML', () => {
  it('holds exactly the thick-plugin objects, in an order one `kubectl apply -f` can create', () => {
    expect(objs.map(objectKey)).toEqual([
      'CustomResourceDefinition//network-attachment-definitions.k8s.cni.cncf.io',
      'ServiceAccount/kube-system/multus',
      'ClusterRole//multus',
      'ClusterRoleBinding//multus',
      'ConfigMap/kube-system/multus-daemon-config',
      'DaemonSet/kube-system/kube-multus-ds',
    ]);
  });

  it('refuses what is not a manifest: bad syntax, duplicate keys, non-objects', () => {
    expect(() => parseYamlObjects('a: [1', 'x')).toThrow(/x: document 0/);
    expect(() => parseYamlObjects('apiVersion: v1\nkind: A\nkind: B\nmetadata: {name: n}\n', 'x')).toThrow(
      /document 0/,
    );
    expect(() => parseYamlObjects('- 1\n- 2\n', 'x')).toThrow(/not a Kubernetes object/);
    expect(() => parseYamlObjects('apiVersion: v1\nkind: Pod\nmetadata: {}\n', 'x')).toThrow(
      /metadata\.name/,
    );
    expect(parseYamlObjects('# only a comment\n---\n', 'x')).toEqual([]);
  });
});

describe('schema validation', () => {
  it.each(objs.map((o) => [objectKey(o), o] as const))(
    '%s validates, with no unknown fields',
    async (_k, o) => {
      await expect(validateBuiltin(o)).resolves.toBeUndefined();
    },
  );

  it('the validation catches a wrong type and a misspelt field (it can fail)', async () => {
    const ds = structuredClone(findObject(objs, 'DaemonSet', 'kube-multus-ds')) as KubeObj & {
      spec: { template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } } };
    };
    const bad = structuredClone(ds);
    (bad.spec.template.spec.containers[0] as { ports: unknown[] }).ports = [{ containerPort: 'metrics' }];
    await expect(validateBuiltin(bad)).rejects.toThrow(/containerPort must be integer/);
    const typo = structuredClone(ds);
    typo.spec.template.spec['hostNetwrok'] = true;
    (typo.spec.template.spec.containers[0] as Record<string, unknown>)['livenesProbe'] = {};
    await expect(validateBuiltin(typo)).rejects.toThrow(
      'unknown fields: spec.template.spec.containers[0].livenesProbe, spec.template.spec.hostNetwrok',
    );
    expect(unknownFields({ metadata: { labels: { any: 'x' } }, data: { k: 'v' } }, 'V1ConfigMap')).toEqual(
      [],
    );
  });
});

describe('CRD', () => {
  const crd = findObject(
    objs,
    'CustomResourceDefinition',
    'network-attachment-definitions.k8s.cni.cncf.io',
  ) as KubeObj & {
    spec: {
      group: string;
      scope: string;
      names: { plural: string; kind: string; shortNames: string[] };
      versions: {
        name: string;
        served: boolean;
        storage: boolean;
        schema: { openAPIV3Schema: { properties: { spec: { properties: { config: { type: string } } } } } };
      }[];
    };
  };

  it('is the NPWG NetworkAttachmentDefinition: k8s.cni.cncf.io/v1, namespaced, nad and net-attach-def', () => {
    expect(crd.metadata.name).toBe(`${crd.spec.names.plural}.${crd.spec.group}`);
    expect(crd.spec.group).toBe('k8s.cni.cncf.io');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names.kind).toBe('NetworkAttachmentDefinition');
    expect(crd.spec.names.plural).toBe('network-attachment-definitions');
    expect([...crd.spec.names.shortNames].sort()).toEqual(['nad', 'net-attach-def']);
    expect(crd.spec.versions).toHaveLength(1);
    const v = crd.spec.versions[0];
    expect(v?.name).toBe('v1');
    expect(v?.served && v.storage).toBe(true);
    expect(v?.schema.openAPIV3Schema.properties.spec.properties.config.type).toBe('string');
  });
});

describe('RBAC wiring', () => {
  it('binds ClusterRole multus to the DaemonSet service account', () => {
    const crb = findObject(objs, 'ClusterRoleBinding', 'multus') as KubeObj & {
      roleRef: { apiGroup: string; kind: string; name: string };
      subjects: { kind: string; name: string; namespace: string }[];
    };
    const ds = findObject(objs, 'DaemonSet', 'kube-multus-ds');
    expect(crb.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'multus',
    });
    expect(crb.subjects).toEqual([
      { kind: 'ServiceAccount', name: spec.serviceAccountName, namespace: ds.metadata.namespace },
    ]);
    expect(findObject(objs, 'ServiceAccount', spec.serviceAccountName ?? '').metadata.namespace).toBe(
      ds.metadata.namespace,
    );
  });
});

describe('daemon-config.json', () => {
  it("loads with the daemon's own loader, without a single warning", () => {
    const loaded = loadManifestDaemonConfig(objs);
    expect(loaded.warnings).toEqual([]);
    expect(loaded.typed.server.metricsPort).toBe(9091);
    expect(loaded.typed.multus.multusConfigFile).toBe('auto');
  });

  it("keeps upstream's manifest values (drop-in), adding only metricsPort and maxConcurrentDelegates", () => {
    expect(daemonConfigOf(objs).json).toEqual({
      chrootDir: '/hostroot',
      cniVersion: '0.3.1',
      logLevel: 'verbose',
      logToStderr: true,
      cniConfigDir: '/host/etc/cni/net.d',
      multusAutoconfigDir: '/host/etc/cni/net.d',
      multusConfigFile: 'auto',
      socketDir: '/host/run/multus/',
      metricsPort: 9091,
      maxConcurrentDelegates: 8,
    });
  });
});

describe('DaemonSet', () => {
  const ds = findObject(objs, 'DaemonSet', 'kube-multus-ds') as KubeObj & {
    spec: {
      selector: { matchLabels: Record<string, string> };
      updateStrategy: { type: string; rollingUpdate: { maxUnavailable: number } };
      template: { metadata: { labels: Record<string, string> } };
    };
  };

  it('is a privileged, host-network, node-critical pod on every node', () => {
    expect(ds.metadata.namespace).toBe('kube-system');
    expect(spec.hostNetwork).toBe(true);
    expect(spec.hostPID).toBe(true);
    expect(spec.priorityClassName).toBe('system-node-critical');
    expect(spec.serviceAccountName).toBe('multus');
    expect(spec.terminationGracePeriodSeconds).toBe(30);
    expect(spec.tolerations).toEqual([
      { operator: 'Exists', effect: 'NoSchedule' },
      { operator: 'Exists', effect: 'NoExecute' },
    ]);
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      expect(c.securityContext?.privileged, c.name).toBe(true);
      expect(c.image, c.name).toBe(IMAGE);
    }
    expect(ds.spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } });
    for (const [k, v] of Object.entries(ds.spec.selector.matchLabels)) {
      expect(ds.spec.template.metadata.labels[k]).toBe(v);
    }
  });

  it('runs the bundled daemon with -config and MULTUS_NODE_NAME from spec.nodeName', () => {
    expect(daemon.command).toEqual(['node', IMAGE_DAEMON_MAIN]);
    const args = parseDaemonArgs(daemon.args ?? []);
    expect(args.configPath).toBe('/etc/cni/net.d/multus.d/daemon-config.json');
    expect(args.cleanupConfigOnExit).toBe(false);
    expect(args.rest).toEqual([]);
    // docs/quickstart.md's uninstall appends the flag to these args.
    expect(parseDaemonArgs([...(daemon.args ?? []), '-cleanup-config-on-exit']).cleanupConfigOnExit).toBe(
      true,
    );
    expect(daemon.env).toEqual([
      { name: 'MULTUS_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
    ]);
  });

  it('mounts every path of daemon-config.json from the right host path, and installs the shim there', () => {
    expect(pathProblems(objs, DEFAULT_LAYOUT)).toEqual([]);
  });

  it('the path check catches a wrong host path (it can fail)', () => {
    const broken = structuredClone(objs);
    const v = podSpecOf(broken).volumes?.find((x) => x.name === 'multus-socket');
    if (!v?.hostPath) throw new Error('volume multus-socket is not a hostPath');
    v.hostPath.path = '/var/run/other';
    expect(pathProblems(broken, DEFAULT_LAYOUT)).toEqual([
      'socketDir /host/run/multus/: host path /var/run/other, want /run/multus',
    ]);
  });

  it('probes readiness (/readyz) and liveness (/healthz) on the metrics port of daemon-config.json', () => {
    const port = loadManifestDaemonConfig(objs).typed.server.metricsPort;
    expect(daemon.ports).toEqual([{ name: 'metrics', containerPort: port, protocol: 'TCP' }]);
    expect(probeTargets(daemon)).toEqual({
      readiness: `http ${port}/readyz`,
      liveness: `http ${port}/healthz`,
    });
  });

  it('sizes memory for the daemon plus maxConcurrentDelegates plugins, each with an IPAM child', () => {
    const res = daemon.resources;
    const request = mebibytes(res?.requests?.['memory']);
    const limit = mebibytes(res?.limits?.['memory']);
    const delegates = loadManifestDaemonConfig(objs).typed.ours.maxConcurrentDelegates;
    // The sizing comment in the manifest: the daemon's request + delegates x 2 processes x 25 MiB. The request
    // itself is held against the daemon's measured RSS in bundle.test.ts.
    expect(limit).toBeGreaterThanOrEqual(request + delegates * 2 * 25);
    expect(res?.limits?.['cpu']).toBeUndefined();
    expect(res?.requests?.['cpu']).toBeDefined();
  });
});

describe('examples (docs/quickstart.md)', () => {
  const files = readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.yml'));
  const examples = files.flatMap((f) => loadYamlObjects(join(EXAMPLES_DIR, f)));

  it('are a NAD and a pod that selects it', () => {
    expect(examples.map(objectKey).sort()).toEqual([
      'NetworkAttachmentDefinition/default/macvlan-conf',
      'Pod/default/samplepod',
    ]);
  });

  it('the pod validates, and its selection annotation parses and names the NAD', async () => {
    const pod = findObject(examples, 'Pod', 'samplepod');
    await validateBuiltin(pod);
    const annotations = pod.metadata['annotations'] as Record<string, string>;
    const sel = parseNetworkSelection(annotations['k8s.v1.cni.cncf.io/networks'], {
      defaultNamespace: pod.metadata.namespace ?? 'default',
    });
    expect(sel).toEqual({ ok: true, value: [{ name: 'macvlan-conf', namespace: 'default' }] });
  });

  it("the NAD fits the CRD's schema and holds a valid CNI config", () => {
    const nad = findObject(examples, 'NetworkAttachmentDefinition', 'macvlan-conf');
    expect(NadSchema.safeParse(nad).success).toBe(true);
    expect(Object.keys(nad).sort()).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    const spec = nad['spec'] as Record<string, unknown>;
    expect(Object.keys(spec)).toEqual(['config']);
    // As the daemon reads it: the NAD's name is the network name (multi-net-spec 3.4.2).
    const config = parseNetworkConfig(spec['config'] as string, { defaultName: nad.metadata.name });
    expect(config.name).toBe('macvlan-conf');
    expect(config.plugins.map((p) => p['type'])).toEqual(['macvlan']);
  });
});
