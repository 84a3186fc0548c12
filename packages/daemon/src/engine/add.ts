// ADD: plan the pod's attachments, persist them, run each delegate in order, undo on failure, apply
// default routes, then record network-status (one PATCH) and events.

import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  CniError,
  type CniResult,
  convertResult,
  emptyResult,
  parseResult,
  type Result100,
} from '@multus-ts/cni';
import {
  type Attachment,
  buildNetworkStatus,
  type DeviceInfo,
  formatNetworkStatus,
  type NetworkStatus,
  parseDeviceInfo,
  parseK8sArgs,
  planDefaultRoutes,
  requirePodIdentity,
  withDefaultGateways,
  withoutDefaultRoutes,
} from '@multus-ts/netspec';
import { DAEMON_ERRORS } from '../catalogue.ts';
import type { CniReply } from '../server/server.ts';
import { inSlot, type RequestContext } from './context.ts';
import type { PodInfo } from './deps.ts';
import { cacheEntryFor, planForPod } from './plan.ts';
import { deleteAttachments } from './teardown.ts';

const NAD_MISSING_IDS = new Set(['ERR_NAD_NOT_FOUND']);

function ipsOf(result: CniResult): string[] {
  const r = convertResult(result, '1.1.0') as Result100;
  return (r.ips ?? []).map((ip) => ip.address);
}

async function readDeviceInfo(path: string | undefined): Promise<DeviceInfo | undefined> {
  if (!path) return undefined;
  try {
    return parseDeviceInfo(await readFile(path, 'utf8'), path);
  } catch {
    return undefined;
  }
}

const LOOKUP_FAILURES = new Set(['ERR_PLUGIN_NOT_FOUND', 'ERR_PLUGIN_TYPE_INVALID', 'ERR_BIN_DIR_INVALID']);

/** Whether the delegate failed before any of its plugins ran (its plugin could not be found). */
function neverRan(err: CniError): boolean {
  for (let e: unknown = err; e instanceof CniError; e = e.cause) {
    if (e.id && LOOKUP_FAILURES.has(e.id)) return true;
  }
  return false;
}

export async function runAdd(ctx: RequestContext): Promise<CniReply> {
  const { call, conf, deps, cache } = ctx;
  const version = conf.cniVersion;
  const k8s = parseK8sArgs(call.args);
  const who = requirePodIdentity(k8s);
  let log = ctx.log.child({ pod: `${who.namespace}/${who.name}` });
  await deps.admission?.admitAdd();
  const t0 = performance.now();

  const found = await deps.pods.lookup(who.namespace, who.name, k8s.podUid ?? '', 'add');
  if (found.kind === 'not-found') {
    // The pod is gone before its sandbox got networking: a valid empty result lets the runtime tear it down.
    log.info({}, 'pod not found: returning an empty result');
    return {
      cniVersion: version,
      result: emptyResult(version as never, call.ifName, call.netns) as Record<string, unknown>,
    };
  }
  if (found.kind === 'unavailable')
    throw CniError.of(DAEMON_ERRORS, 'ERR_NOT_READY', { reason: `pod lookup: ${found.reason}` });
  if (found.kind === 'uid-mismatch') {
    throw new CniError(7, `expected pod UID "${k8s.podUid}" but got "${found.pod.uid}" from Kube API`);
  }
  const pod: PodInfo = found.pod;

  const tPlan = performance.now();
  let plan: Attachment[];
  try {
    plan = planForPod(ctx, pod);
    // Device-plugin resources: only when a selected NAD names one is the kubelet asked (once per ADD).
    if (plan.some((a) => a.resourceName !== undefined) && deps.devices) {
      let devices: Record<string, string[]>;
      try {
        devices = await deps.devices.forPod(pod.namespace, pod.name);
      } catch (err) {
        throw new CniError(
          11,
          "cannot get the pod's devices from the kubelet PodResources API",
          (err as Error).message,
        );
      }
      plan = planForPod(ctx, pod, devices);
    }
  } catch (err) {
    const e = CniError.wrap(err);
    if (e.id && NAD_MISSING_IDS.has(e.id)) {
      deps.events.record(pod, { type: 'Warning', reason: 'NoNetworkFound', message: e.msg });
    }
    throw e;
  }
  const routeActions = planDefaultRoutes(plan);

  const entry = cacheEntryFor(ctx, pod, plan);
  // Persisted before anything runs, so a crash at any later point still lets DEL find every delegate.
  try {
    await cache.save(entry);
  } catch (err) {
    throw CniError.of(DAEMON_ERRORS, 'ERR_CACHE_WRITE', { reason: (err as Error).message });
  }

  const tRun = performance.now();
  const results: CniResult[] = [];
  for (const [i, a] of plan.entries()) {
    log = ctx.log.child({ pod: `${pod.namespace}/${pod.name}`, network: a.network, ifname: a.ifName });
    try {
      if (a.deviceInfo?.dpFile) await copyDeviceInfo(a.deviceInfo.dpFile, a.deviceInfo.cniFile);
      const result = await inSlot(ctx, 'add', () =>
        ctx.runtime.addNetworkList(a.config, {
          containerId: call.containerId,
          netns: call.netns,
          ifName: a.ifName,
          args: a.cniArgs,
          capabilityArgs: a.capabilityArgs,
        }),
      );
      results.push(result);
      log.debug({}, 'delegate added');
    } catch (err) {
      const failure = CniError.wrap(err);
      log.error({ err: failure.message, code: failure.code }, 'delegate ADD failed: removing what was added');
      // Undo in reverse order, the failed one included (it may have half-configured things), unless it never
      // ran: every plugin of a list is looked up before the first one runs.
      const undo = entry.delegates.slice(0, neverRan(failure) ? i : i + 1);
      const teardown = await deleteAttachments(ctx, { ...entry, delegates: undo });
      if (teardown.length === 0) {
        await cache.remove(call.containerId);
      } else {
        // What could not be undone stays cached for the DEL the runtime sends after a failed ADD.
        const failed = new Set(teardown.map((t) => `${t.network}\u0000${t.ifName}`));
        await cache.save({
          ...entry,
          delegates: undo.filter((d) => failed.has(`${d.name}\u0000${d.ifName}`)),
        });
      }
      throw failure;
    }
  }

  const tRoutes = performance.now();
  // Default routes: only where a result reports interfaces or IPs (as upstream); the cached result is edited to
  // match so CHECK and DEL see what the pod really has.
  for (const action of routeActions) {
    const idx = plan.findIndex((a) => a.network === action.network && a.ifName === action.ifName);
    const a = plan[idx];
    const res = results[idx];
    if (!a || !res) continue;
    const r11 = convertResult(res, '1.1.0') as Result100;
    if ((r11.interfaces?.length ?? 0) === 0 && (r11.ips?.length ?? 0) === 0) continue;
    await deps.netns.applyDefaultRoutes(call.netns, action);
    const edited = withDefaultGateways(withoutDefaultRoutes(r11, action.deleteFamilies), action.addGateways);
    await rewriteCachedResult(ctx, a, edited);
  }

  const statuses: NetworkStatus[] = [];
  for (const [i, a] of plan.entries()) {
    const deviceInfo = await readDeviceInfo(a.deviceInfo?.cniFile);
    statuses.push(
      buildNetworkStatus({
        network: a.network,
        ifName: a.ifName,
        isDefault: a.master,
        result: results[i],
        deviceInfo,
        defaultRoute: a.defaultRoute,
      }),
    );
  }
  const tStatus = performance.now();
  const value = formatNetworkStatus(statuses);
  // After the reply: the runtime does not read the annotation, and an API round trip (milliseconds, far more on a
  // loaded API server) would otherwise sit on every pod's start. The container's turn is held until it is done.
  ctx.afterReply.push(async () => {
    const patched = await writeStatus(deps, pod, value);
    if (!patched.ok) {
      // The pod has its networks; a failed annotation write must not tear them down (upstream #1407).
      log.warn({ status: patched.status, reason: patched.reason }, 'could not write network-status');
    }
    // Events after the status write: they are fire-and-forget, and sent first they would queue ahead of the
    // PATCH on the connection to the API server.
    for (const [i, a] of plan.entries()) {
      deps.events.record(pod, {
        type: 'Normal',
        reason: 'AddedInterface',
        message: `Add ${a.ifName} [${ipsOf(results[i]!).join(' ')}] from ${a.network}`,
      });
    }
  });
  log.debug(
    {
      ms: {
        lookup: +(tPlan - t0).toFixed(2),
        plan: +(tRun - tPlan).toFixed(2),
        delegates: +(tRoutes - tRun).toFixed(2),
        routesAndStatus: +(tStatus - tRoutes).toFixed(2),
      },
    },
    'ADD timings',
  );

  const master = results[plan.findIndex((a) => a.master)] ?? results[0];
  const out = master ? convertResult(master, version as never) : emptyResult(version as never);
  return { cniVersion: version, result: out as Record<string, unknown> };
}

/** Transient API failures (no answer, 429, 5xx) are retried twice, 100 ms then 400 ms later; the rest are final. */
const STATUS_RETRY_DELAYS_MS = [100, 400];

async function writeStatus(
  deps: RequestContext['deps'],
  pod: PodInfo,
  value: string,
): ReturnType<RequestContext['deps']['status']['write']> {
  for (let attempt = 0; ; attempt++) {
    const out = await deps.status.write(pod.namespace, pod.name, value);
    const transient = !out.ok && (out.status === undefined || out.status === 429 || out.status >= 500);
    const delay = STATUS_RETRY_DELAYS_MS[attempt];
    if (!transient || delay === undefined) return out;
    await new Promise((r) => setTimeout(r, delay));
  }
}

async function copyDeviceInfo(from: string, to: string): Promise<void> {
  try {
    const text = await readFile(from, 'utf8');
    await mkdir(dirname(to), { recursive: true });
    await rm(to, { force: true });
    await writeFile(to, text, { mode: 0o444 });
  } catch {
    // No device-plugin file: the plugin may write the CNI file itself.
  }
}

async function rewriteCachedResult(ctx: RequestContext, a: Attachment, result: Result100): Promise<void> {
  const read = await ctx.runtime.cache.read(a.config.name, ctx.call.containerId, a.ifName);
  if (!read.ok) return;
  const converted = convertResult(parseResult(result), a.config.cniVersion);
  await ctx.runtime.cache.write({ ...read.entry, result: converted as Record<string, unknown> });
}
