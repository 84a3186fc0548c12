// deployments/kustomize: the base renders (with the real `kubectl kustomize`) to exactly the objects of the plain
// manifest, and each overlay renders, validates, keeps the daemon's paths consistent and differs from the base
// only where it means to.
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_LAYOUT,
  type HostLayout,
  loadManifestDaemonConfig,
  pathProblems,
  probeTargets,
} from './_checks.ts';
import {
  byKey,
  DAEMON_CONFIG_KEY,
  daemonConfigOf,
  daemonContainer,
  diffPaths,
  KUSTOMIZE_BASE,
  type KubeObj,
  kustomize,
  loadYamlObjects,
  normalizeNamedLists,
  OVERLAYS_DIR,
  objectKey,
  PLAIN_MANIFEST,
  podSpecOf,
  requireKubectl,
  validateBuiltin,
} from './_manifests.ts';

interface OverlayExpectation {
  layout: HostLayout;
  /** Changed paths per object (named lists keyed `name=<name>`), ConfigMap data excluded. */
  changes: Record<string, string[]>;
  /** Keys of daemon-config.json added, removed or changed, with their new values (undefined: removed). */
  configChanges: Record<string, unknown>;
  probes: { readiness: string; liveness: string };
}

const DS = 'DaemonSet/kube-system/kube-multus-ds';
const CONTAINER = 'spec.template.spec.containers.name=kube-multus';
const SOCKET = '/host/run/multus/multus.sock';

const OVERLAYS: Record<string, OverlayExpectation> = {
  crio: {
    layout: { ...DEFAULT_LAYOUT, cniBinDir: '/usr/libexec/cni' },
    changes: {
      [DS]: [
        `${CONTAINER}.volumeMounts.name=cnibin.mountPath`,
        'spec.template.spec.volumes.name=cnibin.hostPath.path',
      ],
    },
    configChanges: { binDir: '/usr/libexec/cni' },
    probes: { readiness: 'http 9091/readyz', liveness: 'http 9091/healthz' },
  },
  'custom-conf-dir': {
    layout: { ...DEFAULT_LAYOUT, cniConfDir: '/etc/kubernetes/cni/net.d' },
    changes: { [DS]: ['spec.template.spec.volumes.name=cni.hostPath.path'] },
    configChanges: {},
    probes: { readiness: 'http 9091/readyz', liveness: 'http 9091/healthz' },
  },
  'metrics-off': {
    layout: DEFAULT_LAYOUT,
    changes: {
      [DS]: [
        `${CONTAINER}.livenessProbe.exec`,
        `${CONTAINER}.livenessProbe.httpGet`,
        `${CONTAINER}.ports`,
        `${CONTAINER}.readinessProbe.exec`,
        `${CONTAINER}.readinessProbe.httpGet`,
      ],
    },
    configChanges: { metricsPort: undefined },
    probes: { readiness: `exec ${SOCKET}/readyz`, liveness: `exec ${SOCKET}/healthz` },
  },
};

/** Paths that differ between two objects, ConfigMap data aside; whole subtrees collapse to their root. */
function objectChanges(a: KubeObj, b: KubeObj): string[] {
  const strip = (o: KubeObj) => {
    const c = structuredClone(o) as Record<string, unknown>;
    if (o.kind === 'ConfigMap') delete c['data'];
    return normalizeNamedLists(c);
  };
  const paths = diffPaths(strip(a), strip(b));
  const roots = new Set<string>();
  // A probe handler or a removed list differs in every leaf; report the field that changed.
  for (const p of paths) roots.add(p.replace(/^(.*?(?:Probe\.(?:exec|httpGet)|\.ports))(?:[.[].*)?$/, '$1'));
  return [...roots].sort();
}

function configChanges(
  base: Record<string, unknown>,
  other: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of new Set([...Object.keys(base), ...Object.keys(other)])) {
    if (JSON.stringify(base[k]) !== JSON.stringify(other[k])) out[k] = other[k];
  }
  return out;
}

let plain: KubeObj[];
let base: KubeObj[];

beforeAll(() => {
  requireKubectl();
  plain = loadYamlObjects(PLAIN_MANIFEST);
  base = kustomize(KUSTOMIZE_BASE);
});

describe('kustomize base', () => {
  it('renders to exactly the objects of deployments/multus-daemonset-thick.yml', () => {
    const want = byKey(plain);
    const got = byKey(base);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [k, o] of want) expect(got.get(k), k).toStrictEqual(o);
  });

  it('the comparison notices a one-character difference (it can fail)', () => {
    const changed = structuredClone(base);
    const cm = changed.find((o) => o.kind === 'ConfigMap') as KubeObj & { data: Record<string, string> };
    cm.data[DAEMON_CONFIG_KEY] = (cm.data[DAEMON_CONFIG_KEY] ?? '').replace('9091', '9092');
    expect(diffPaths(byKey(plain).get(objectKey(cm)), cm)).toEqual([`data.${DAEMON_CONFIG_KEY}`]);
  });
});

describe('kustomize overlays', () => {
  it('are exactly the documented ones', () => {
    expect(readdirSync(OVERLAYS_DIR).sort()).toEqual(Object.keys(OVERLAYS).sort());
  });

  describe.each(Object.entries(OVERLAYS))('%s', (name, want) => {
    let rendered: KubeObj[];
    beforeAll(() => {
      rendered = kustomize(join(OVERLAYS_DIR, name));
    });

    it('renders the same objects as the base, each valid with no unknown fields', async () => {
      expect(rendered.map(objectKey).sort()).toEqual(base.map(objectKey).sort());
      for (const o of rendered) await validateBuiltin(o);
    });

    it('differs from the base only where intended', () => {
      const baseByKey = byKey(base);
      const changes: Record<string, string[]> = {};
      for (const o of rendered) {
        const d = objectChanges(baseByKey.get(objectKey(o)) as KubeObj, o);
        if (d.length > 0) changes[objectKey(o)] = d;
      }
      expect(changes).toEqual(want.changes);
      expect(configChanges(daemonConfigOf(base).json, daemonConfigOf(rendered).json)).toEqual(
        want.configChanges,
      );
    });

    it("its daemon-config.json loads with the daemon's loader without warnings", () => {
      expect(loadManifestDaemonConfig(rendered).warnings).toEqual([]);
    });

    it('mounts every daemon path from its host path, and installs the shim where delegates are found', () => {
      expect(pathProblems(rendered, want.layout)).toEqual([]);
    });

    it('probes the daemon where it answers', () => {
      const c = daemonContainer(podSpecOf(rendered));
      expect(probeTargets(c)).toEqual(want.probes);
      const port = loadManifestDaemonConfig(rendered).typed.server.metricsPort;
      expect((c.ports ?? []).map((p) => p.containerPort)).toEqual(port === undefined ? [] : [port]);
    });
  });
});

describe("a user's kustomization on top (docs/quickstart.md)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'multus-ts-kustomize-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each(['base', ...Object.keys(OVERLAYS)])(
    '`images:` swaps the image of %s and changes nothing else',
    async (v) => {
      const target = v === 'base' ? KUSTOMIZE_BASE : join(OVERLAYS_DIR, v);
      await writeFile(
        join(dir, 'kustomization.yaml'),
        [
          'bases:',
          `  - ${relative(dir, target)}`,
          'images:',
          '  - name: ghcr.io/multus-ts/multus-ts',
          '    newName: registry.example.com/multus-ts',
          '    newTag: "0.1.0"',
          '',
        ].join('\n'),
      );
      const mine = byKey(kustomize(dir));
      const shipped = byKey(kustomize(target));
      expect([...mine.keys()].sort()).toEqual([...shipped.keys()].sort());
      for (const [k, o] of shipped) {
        const changed = diffPaths(normalizeNamedLists(o), normalizeNamedLists(mine.get(k)));
        expect(changed, k).toEqual(
          k === DS
            ? [`${CONTAINER}.image`, 'spec.template.spec.initContainers.name=install-multus-shim.image']
            : [],
        );
      }
      const spec = podSpecOf([...mine.values()]);
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        expect(c.image).toBe('registry.example.com/multus-ts:0.1.0');
      }
    },
  );
});
