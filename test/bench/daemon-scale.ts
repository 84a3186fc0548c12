// Scale: the API emulator holds 10,000 pods (110 of them on this node) and 1,000 NADs, seeded straight into its
// store. Measures the daemon's sync time (process start to the first successful ADD, which waits for both
// informers), its RSS after sync and when idle, and ADD/DEL latency and API requests with that cache. For
// comparison, measured in the same run: the daemon's idle RSS against an empty cluster, and a bare `node` process.
// Idle RSS is read 3 s after the last call (the target's figure) and again once V8's idle GC has run (its memory
// reducer fires about 8 s after the last major GC: until then freed objects still count).
// Prints one JSON document. Run: node test/bench/daemon-scale.ts   (BENCH_SCALE_RUNS, default 20)
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { NODE_NAME, NodeHarness, type SandboxRef } from '../support/daemon-harness.ts';
import type { KubeObject } from '../support/kube/index.ts';
import { TestScope } from '../support/netns.ts';
import { type Headline, procMemory, requireBuild, round, runBench, sleep, summarize } from './_lib.ts';
import {
  BENCH_LOG_LEVEL,
  dropSandboxes,
  macvlanNad,
  mustSucceed,
  NETWORKS_ANNOTATION,
  RequestTally,
  timedShim,
} from './_node.ts';

const PODS = 10_000;
const PODS_ON_NODE = 110;
const NADS = 1_000;
const NAD_NAMESPACES = 50;
const RUNS = Number(process.env['BENCH_SCALE_RUNS'] ?? 20);
const WARMUP = 2;
const IDLE_SETTLE_MS = 3000;
/** Where the idle series ends: past V8's memory-reducer delay (8 s after the last major GC). */
const IDLE_SETTLED_MS = 12_000;
const TARGET_IDLE_RSS_MIB = 70;
const SCALE_NAD = 'scale-mv';

let h: NodeHarness | undefined;

/** A pod shaped like a Deployment's (labels, owner, resources, probes, volumes, a Running status). */
function pod(i: number, node: string, networks?: string): KubeObject {
  const ns = i % 5 === 0 ? 'default' : `team-${i % 40}`;
  const app = `app-${i % 300}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${app}-7d9f8c6b5-${i.toString(36).padStart(5, '0')}`,
      namespace: ns,
      labels: { app, 'pod-template-hash': '7d9f8c6b5', tier: i % 2 ? 'web' : 'worker' },
      annotations: {
        'kubectl.kubernetes.io/restartedAt': '2026-01-01T00:00:00Z',
        ...(networks ? { [NETWORKS_ANNOTATION]: networks } : {}),
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: `${app}-7d9f8c6b5`,
          uid: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      nodeName: node,
      serviceAccountName: 'default',
      containers: [
        {
          name: 'app',
          image: `registry.example.com/${app}:1.${i % 10}.0`,
          ports: [{ containerPort: 8080, protocol: 'TCP' }],
          env: [
            { name: 'LOG_LEVEL', value: 'info' },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          ],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
          readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 10 },
          volumeMounts: [{ name: 'config', mountPath: '/etc/app' }],
        },
      ],
      volumes: [{ name: 'config', configMap: { name: `${app}-config` } }],
    },
    status: {
      phase: 'Running',
      podIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}

function nad(i: number, node: NodeHarness): KubeObject {
  const ns = `nets-${i % NAD_NAMESPACES}`;
  const name = `net-${i}`;
  const config =
    i % 2 === 0
      ? macvlanNad(node, name, `172.${16 + (i % 16)}.${i % 250}.0/24`)
      : {
          cniVersion: '0.3.1',
          type: 'bridge',
          bridge: `br${i}`,
          ipam: node.hostLocal(name, { subnet: `172.${16 + (i % 16)}.${i % 250}.0/24` }),
        };
  return {
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name, namespace: ns },
    spec: { config: JSON.stringify({ name, ...config }) },
  };
}

/** Resident memory of `node` itself with an empty event loop kept alive: the floor of any Node daemon. */
async function bareNodeRssKiB(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    await sleep(1000);
    return procMemory(child.pid!).vmRssKiB;
  } finally {
    child.kill('SIGKILL');
  }
}

async function idleRss(node: NodeHarness): Promise<ReturnType<typeof procMemory>> {
  await sleep(IDLE_SETTLE_MS);
  return procMemory(node.daemon!.pid!);
}

/** Continues an idle period that has lasted IDLE_SETTLE_MS: VmRSS once a second until IDLE_SETTLED_MS. */
async function idleSeries(
  pid: number,
): Promise<{ settled: ReturnType<typeof procMemory>; seriesMiB: number[] }> {
  const seriesMiB: number[] = [];
  let settled = procMemory(pid);
  for (let t = IDLE_SETTLE_MS; t < IDLE_SETTLED_MS; t += 1000) {
    await sleep(1000);
    settled = procMemory(pid);
    seriesMiB.push(round(settled.vmRssKiB / 1024, 1));
  }
  return { settled, seriesMiB };
}

async function body() {
  requireBuild();
  const node = await NodeHarness.start({ daemonConfig: { logLevel: BENCH_LOG_LEVEL }, deferDaemon: true });
  h = node;
  const bareNode = await bareNodeRssKiB();

  // The same daemon against an (almost) empty cluster: what the big cache adds on top.
  await node.startDaemon();
  const empty = await idleRss(node);
  await node.stopDaemon('SIGTERM');

  const objects: KubeObject[] = [];
  const measured = WARMUP + RUNS;
  for (let i = 0; i < PODS; i++) {
    const onNode = i < PODS_ON_NODE;
    // The first pods on this node (all in `default`) are the ones ADD runs for; the rest carry assorted NADs.
    const networks =
      onNode && i < measured * 5 && i % 5 === 0
        ? SCALE_NAD
        : i % 3 === 0
          ? `nets-${i % NAD_NAMESPACES}/net-${i % NADS}`
          : undefined;
    objects.push(pod(i, onNode ? NODE_NAME : `node-${2 + (i % 90)}`, networks));
  }
  objects.push({
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name: SCALE_NAD, namespace: 'default' },
    spec: { config: JSON.stringify({ name: SCALE_NAD, ...macvlanNad(node, SCALE_NAD, '192.168.70.0/24') }) },
  });
  for (let i = 1; i < NADS; i++) objects.push(nad(i, node));
  let t = performance.now();
  const seeded = node.emulator.store.seed(objects);
  const seedMs = performance.now() - t;
  const addPods = seeded.filter(
    (o) => o.kind === 'Pod' && o.metadata.annotations?.[NETWORKS_ANNOTATION] === SCALE_NAD,
  );
  if (addPods.length < measured) throw new Error(`daemon-scale: only ${addPods.length} pods to ADD`);
  const sandboxes: SandboxRef[] = [];
  for (const [i, p] of addPods.slice(0, measured).entries()) {
    const netnsName = await node.scope.netns('mts-pod');
    sandboxes.push({
      containerId: `scale${i}x${process.pid}`,
      netns: `/run/netns/${netnsName}`,
      netnsName,
      namespace: p.metadata.namespace ?? 'default',
      name: p.metadata.name ?? '',
      uid: p.metadata.uid ?? '',
    });
  }

  // Sync: from spawning the daemon to the first ADD that succeeds (ADD waits until both informers have listed).
  node.emulator.stats.reset();
  t = performance.now();
  await node.startDaemon();
  const listeningMs = performance.now() - t;
  const first = sandboxes[0]!;
  mustSucceed(node, `first ADD ${first.name}`, await timedShim(node, 'ADD', first));
  const syncMs = performance.now() - t;
  const syncRequests = node.emulator.stats.snapshot().byVerbResource;
  const pid = node.daemon!.pid!;
  const afterSync = procMemory(pid);
  mustSucceed(node, `DEL ${first.name}`, await timedShim(node, 'DEL', first));

  const adds: number[] = [];
  const dels: number[] = [];
  const addRequests = new RequestTally();
  for (const [i, sb] of sandboxes.slice(1).entries()) {
    node.emulator.stats.reset();
    const add = mustSucceed(node, `ADD ${sb.name}`, await timedShim(node, 'ADD', sb));
    await sleep(50); // events are sent after the reply
    const window = node.emulator.stats.snapshot().byVerbResource;
    const del = mustSucceed(node, `DEL ${sb.name}`, await timedShim(node, 'DEL', sb));
    if (i + 1 >= WARMUP) {
      adds.push(add);
      dels.push(del);
      addRequests.add(window);
    }
  }
  await dropSandboxes(sandboxes);
  const idle = await idleRss(node);
  const { settled, seriesMiB } = await idleSeries(pid);
  const left = await node.leftovers();
  if (left.leases.length + left.cache.length > 0)
    throw new Error(`daemon-scale: leftovers after DEL: ${JSON.stringify(left)}`);

  const idleMiB = round(idle.vmRssKiB / 1024, 1);
  const add = summarize(adds);
  const headline: Headline[] = [
    {
      name: 'idle RSS at 10k pods / 1k NADs',
      value: idleMiB,
      unit: 'MiB',
      target: `<= ${TARGET_IDLE_RSS_MIB} MiB`,
      met: idleMiB <= TARGET_IDLE_RSS_MIB,
    },
    {
      name: `idle RSS at 10k pods / 1k NADs after ${IDLE_SETTLED_MS / 1000} s (V8's idle GC has run)`,
      value: round(settled.vmRssKiB / 1024, 1),
      unit: 'MiB',
    },
    {
      name: 'idle RSS, empty cluster / bare node',
      value: `${round(empty.vmRssKiB / 1024, 1)} / ${round(bareNode / 1024, 1)}`,
      unit: 'MiB',
    },
    { name: 'sync time at 10k pods / 1k NADs (start to first ADD)', value: round(syncMs, 1), unit: 'ms' },
    { name: 'ADD eth0 + 1 macvlan with that cache (p50)', value: round(add.p50, 1), unit: 'ms' },
  ];
  return {
    name: 'daemon-scale: 10,000 pods (110 on this node) and 1,000 NADs',
    headline,
    cluster: { pods: PODS, podsOnNode: PODS_ON_NODE, nads: NADS, seedMs: round(seedMs, 1) },
    sync: {
      listeningMs: round(listeningMs, 1),
      firstAddDoneMs: round(syncMs, 1),
      apiRequests: syncRequests,
      note: 'listeningMs = spawn to the "listening" log line (polled every 50 ms); firstAddDoneMs includes that ADD',
    },
    rssKiB: {
      afterSync: afterSync.vmRssKiB,
      idle: idle.vmRssKiB,
      idleAnon: idle.rssAnonKiB,
      idleFile: idle.rssFileKiB,
      peak: idle.vmHwmKiB,
      idleSettled: settled.vmRssKiB,
      idleSettledAnon: settled.rssAnonKiB,
      idleSettledFile: settled.rssFileKiB,
      idleSeriesMiB: seriesMiB,
      emptyClusterIdle: empty.vmRssKiB,
      emptyClusterIdleAnon: empty.rssAnonKiB,
      bareNode,
      ratioToEmptyCluster: round(idle.vmRssKiB / empty.vmRssKiB),
    },
    add: { eth0Plus1Macvlan: add, del: summarize(dels), runs: RUNS, warmupRuns: WARMUP },
    apiRequestsPerAdd: {
      byVerbResource: addRequests.perWindow(),
      get: addRequests.verb('get'),
      patch: addRequests.verb('patch'),
    },
    target: { idleRssMiB: TARGET_IDLE_RSS_MIB },
    method:
      'objects seeded through the emulator store (no HTTP); idle = VmRSS after ' +
      `${IDLE_SETTLE_MS / 1000} s without calls, idleSettled after ${IDLE_SETTLED_MS / 1000} s (idleSeriesMiB: one ` +
      `reading a second from ${IDLE_SETTLE_MS / 1000 + 1} s); bare node = \`node -e "setInterval(...)"\` after 1 s; ` +
      `ADD/DEL through the shim on seeded pods of this node; logLevel ${BENCH_LOG_LEVEL}`,
  };
}

await runBench('daemon-scale', 4 * 60_000, body, async () => {
  await h?.stop();
  await TestScope.cleanupAll();
});
