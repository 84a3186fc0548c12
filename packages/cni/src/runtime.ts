// Conflist execution the way libcni does it: ADD threads prevResult from plugin to plugin and caches the final
// result; CHECK and DEL hand the cached result to every plugin (DEL in reverse order); GC and STATUS go to every
// plugin of a 1.1.0+ list; VERSION asks one plugin.
//
// Decisions (libcni's unless said otherwise):
// - Every plugin `type` of the list is validated before anything runs (code 7). For ADD and CHECK every plugin is
//   also looked up first, so a missing binary cannot leave a half-run chain behind (libcni finds it only when it
//   gets there). DEL, GC and STATUS look each plugin up when they reach it.
// - Results are parsed and converted to the list's cniVersion before they become the next plugin's prevResult,
//   and the final ADD result is returned in that version.
// - ADD/CHECK/DEL stop at the first plugin error (the spec's rule for lists) and name the plugin:
//   `plugin type="x" name="y" failed (add): <msg>`, keeping the plugin's code and details.
// - DEL never fails for lack of state: a missing, corrupt or foreign cache entry means no prevResult (a corrupt
//   one is removed). The entry is removed after a successful DEL and kept when a plugin fails, so a retried DEL
//   still has it.
// - CHECK below 0.4.0 is code 1 (checked before disableCheck, as libcni does); with disableCheck it is skipped; a
//   missing cached result is code 3 (no attachment is known for this container).
// - STATUS is skipped below 1.1.0; a plugin's STATUS error is returned unchanged (its code, 50 or 51, matters).
// - GC: see runtime-gc.ts.

import { ResultCache, resultFromEntry } from './cache.ts';
import { CNI_ERRORS } from './catalogue.ts';
import type { NetworkConfigList } from './config.ts';
import { validateContainerId, validateIfName, validateNetworkName } from './config.ts';
import { convertResult } from './convert.ts';
import { CniError } from './errors.ts';
import { DEFAULT_TIMEOUT_MS, execPlugin } from './exec.ts';
import type { CniCommand } from './exec-env.ts';
import { findPlugin, validateBinDirs, validatePluginType } from './find.ts';
import type { GcAttachment } from './gc.ts';
import { type CapabilityArgs, pluginConfigBytes } from './inject.ts';
import { type CniResult, parseResult } from './result.ts';
import { pluginFailed } from './runtime-errors.ts';
import { type GcOutcome, gcNetworkList } from './runtime-gc.ts';
import type { Spawner } from './spawner.ts';
import {
  assertSupportedVersion,
  CURRENT_VERSION,
  parseVersionReply,
  type VersionReply,
  versionAtLeast,
} from './version.ts';

export interface CniRuntimeOptions {
  /** Where plugins are looked up, in order; also the plugins' CNI_PATH. Absolute paths. */
  binDirs: readonly string[];
  /** Root of the libcni result cache (`<cacheDir>/results/...`). */
  cacheDir: string;
  /** Per plugin run; default 60 s. */
  timeoutMs?: number;
  /** Variables of this process passed through to plugins (default: PATH). */
  passEnv?: readonly string[];
  maxStdout?: number;
  maxStderr?: number;
  /** Run plugins chrooted into this directory (see ExecPluginOptions.chrootDir). */
  chrootDir?: string | undefined;
  /** Called after every plugin run (for logs and metrics): stderr is never lost. */
  onPluginRun?: (event: PluginRunEvent) => void;
  /** What starts plugin processes (default directSpawner; HelperSpawner keeps forks out of this process). */
  spawner?: Spawner | undefined;
}

export interface PluginRunEvent {
  network: string;
  type: string;
  command: CniCommand;
  /** CNI_IFNAME of the run (absent for GC, STATUS and VERSION). */
  ifName?: string;
  durationMs: number;
  stderr: string;
  error?: CniError;
}

/** The per-attachment half of a CNI call. */
export interface RuntimeConf {
  containerId: string;
  netns: string;
  ifName: string;
  /** CNI_ARGS pairs. */
  args?: readonly (readonly [string, string])[];
  /** Capability args (CONVENTIONS.md): injected as runtimeConfig into plugins that declare them. */
  capabilityArgs?: CapabilityArgs;
}

export type SkipReason = 'disableCheck' | 'disableGC' | 'version';

/** What CHECK and STATUS did: ran every plugin, or were skipped (and why). */
export interface VerbOutcome {
  skipped?: SkipReason;
}

type Plugin = Readonly<Record<string, unknown>> & { type: string };

export class CniRuntime {
  readonly binDirs: readonly string[];
  readonly cache: ResultCache;
  readonly #opts: CniRuntimeOptions;

  /** Code 7 for bin dirs that are not absolute paths (they become CNI_PATH, ':'-separated). */
  constructor(opts: CniRuntimeOptions) {
    this.binDirs = [...validateBinDirs(opts.binDirs)];
    this.cache = new ResultCache(opts.cacheDir);
    this.#opts = opts;
  }

  /** Runs one plugin with the list's name and version injected; returns its decoded stdout. */
  async runPlugin(
    list: NetworkConfigList,
    plugin: Plugin,
    command: CniCommand,
    rt: RuntimeConf | undefined,
    inject: { prevResult?: CniResult; extra?: Record<string, unknown>; pluginPath?: string } = {},
  ): Promise<Record<string, unknown> | undefined> {
    const started = performance.now();
    try {
      const pluginPath = inject.pluginPath ?? (await findPlugin(plugin.type, this.binDirs));
      const stdin = pluginConfigBytes(plugin, {
        name: list.name,
        cniVersion: list.cniVersion,
        prevResult: inject.prevResult,
        capabilityArgs: rt?.capabilityArgs,
        extra: inject.extra,
      });
      const run = await execPlugin({
        pluginPath,
        command,
        containerId: rt?.containerId,
        netns: rt?.netns,
        ifName: rt?.ifName,
        args: rt?.args,
        path: this.binDirs,
        stdin,
        timeoutMs: this.#opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        passEnv: this.#opts.passEnv,
        maxStdout: this.#opts.maxStdout,
        maxStderr: this.#opts.maxStderr,
        chrootDir: this.#opts.chrootDir,
        spawner: this.#opts.spawner,
      });
      this.#report(list, plugin, command, started, run.stderr, undefined, rt?.ifName);
      return run.output;
    } catch (err) {
      const e = CniError.wrap(err);
      this.#report(list, plugin, command, started, 'stderr' in e ? String(e.stderr) : '', e, rt?.ifName);
      throw e;
    }
  }

  #report(
    list: NetworkConfigList,
    plugin: Plugin,
    command: CniCommand,
    started: number,
    stderr: string,
    error?: CniError,
    ifName?: string,
  ): void {
    try {
      this.#opts.onPluginRun?.({
        network: list.name,
        type: plugin.type,
        command,
        durationMs: performance.now() - started,
        stderr,
        ...(ifName ? { ifName } : {}),
        ...(error ? { error } : {}),
      });
    } catch {
      // a broken log hook must not change the outcome of a CNI operation
    }
  }

  /** The list's plugins with their types checked (code 7 for a non-bare name) and its version checked (code 1). */
  plugins(list: NetworkConfigList): Plugin[] {
    validateNetworkName(list.name);
    assertSupportedVersion(list.cniVersion);
    if (list.plugins.length === 0) throw CniError.of(CNI_ERRORS, 'ERR_CONFIG_NO_PLUGINS');
    return list.plugins.map((p) => {
      validatePluginType(p.type);
      return p as Plugin;
    });
  }

  #validateRt(rt: RuntimeConf): void {
    validateContainerId(rt.containerId);
    validateIfName(rt.ifName);
  }

  /** ADD: every plugin in order, prevResult threaded; caches and returns the final result (list's version). */
  async addNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<CniResult> {
    const plugins = this.plugins(list);
    this.#validateRt(rt);
    const paths = await Promise.all(plugins.map((p) => findPlugin(p.type, this.binDirs)));
    let prev: CniResult | undefined;
    for (const [i, plugin] of plugins.entries()) {
      try {
        const out = await this.runPlugin(list, plugin, 'ADD', rt, {
          ...(prev ? { prevResult: prev } : {}),
          pluginPath: paths[i]!,
        });
        if (out === undefined) {
          throw CniError.of(CNI_ERRORS, 'ERR_PLUGIN_NO_RESULT', { path: paths[i]! });
        }
        prev = convertResult(parseResult(out, list.cniVersion), list.cniVersion);
      } catch (err) {
        throw pluginFailed(plugin, 'add', err);
      }
    }
    const result = prev!;
    try {
      await this.cache.write({
        networkName: list.name,
        containerId: rt.containerId,
        ifName: rt.ifName,
        config: list.bytes,
        netns: rt.netns,
        cniArgs: (rt.args ?? []).map(([k, v]) => [k, v]),
        capabilityArgs: { ...(rt.capabilityArgs ?? {}) },
        result,
      });
    } catch (err) {
      const e = CniError.wrap(err);
      throw new CniError(e.code, `failed to set network "${list.name}" cached result: ${e.msg}`, e.details, {
        cause: e,
      });
    }
    return result;
  }

  /**
   * The cached ADD result of this attachment in the list's version, or undefined when there is none usable.
   * A corrupt or foreign entry is removed (it can never be used again); a missing one is not an error.
   */
  async cachedResult(list: NetworkConfigList, rt: RuntimeConf): Promise<CniResult | undefined> {
    const read = await this.cache.read(list.name, rt.containerId, rt.ifName);
    if (!read.ok) {
      if (read.reason !== 'missing')
        await this.cache.remove(list.name, rt.containerId, rt.ifName).catch(() => false);
      return undefined;
    }
    try {
      return resultFromEntry(read.entry, list.cniVersion);
    } catch {
      await this.cache.remove(list.name, rt.containerId, rt.ifName).catch(() => false);
      return undefined;
    }
  }

  /** CHECK: every plugin in order with the cached result as prevResult. */
  async checkNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<VerbOutcome> {
    const plugins = this.plugins(list);
    if (!versionAtLeast(list.cniVersion, '0.4.0')) {
      throw CniError.of(CNI_ERRORS, 'ERR_CHECK_UNSUPPORTED', { version: list.cniVersion });
    }
    if (list.disableCheck) return { skipped: 'disableCheck' };
    this.#validateRt(rt);
    const paths = await Promise.all(plugins.map((p) => findPlugin(p.type, this.binDirs)));
    const read = await this.cache.read(list.name, rt.containerId, rt.ifName);
    if (!read.ok) {
      if (read.reason !== 'missing') throw read.error;
      throw CniError.of(CNI_ERRORS, 'ERR_CHECK_NO_CACHED_RESULT', {
        name: list.name,
        containerId: rt.containerId,
        ifName: rt.ifName,
      });
    }
    const cached = resultFromEntry(read.entry, list.cniVersion);
    for (const [i, plugin] of plugins.entries()) {
      try {
        await this.runPlugin(list, plugin, 'CHECK', rt, {
          ...(cached ? { prevResult: cached } : {}),
          pluginPath: paths[i]!,
        });
      } catch (err) {
        throw pluginFailed(plugin, 'check', err);
      }
    }
    return {};
  }

  /** DEL: every plugin in reverse order, with the cached result as prevResult from 0.4.0 on; then uncache. */
  async delNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
    const plugins = this.plugins(list);
    this.#validateRt(rt);
    const cached = versionAtLeast(list.cniVersion, '0.4.0') ? await this.cachedResult(list, rt) : undefined;
    for (const plugin of [...plugins].reverse()) {
      try {
        await this.runPlugin(list, plugin, 'DEL', rt, cached ? { prevResult: cached } : {});
      } catch (err) {
        throw pluginFailed(plugin, 'delete', err);
      }
    }
    await this.cache.remove(list.name, rt.containerId, rt.ifName).catch(() => false);
  }

  /** GC: DEL for stale cached attachments, then GC to every plugin (1.1.0+); see runtime-gc.ts. */
  gcNetworkList(list: NetworkConfigList, validAttachments: readonly GcAttachment[]): Promise<GcOutcome> {
    return gcNetworkList(this, list, validAttachments);
  }

  /** STATUS: every plugin in order (1.1.0+ lists only); the first error is returned unchanged. */
  async statusNetworkList(list: NetworkConfigList): Promise<VerbOutcome> {
    const plugins = this.plugins(list);
    if (!versionAtLeast(list.cniVersion, '1.1.0')) return { skipped: 'version' };
    for (const plugin of plugins) await this.runPlugin(list, plugin, 'STATUS', undefined);
    return {};
  }

  /** VERSION of one plugin: what it speaks (code 6 for a reply that is not a VERSION reply). */
  async versionInfo(type: string): Promise<VersionReply> {
    const pluginPath = await findPlugin(type, this.binDirs);
    const run = await execPlugin({
      pluginPath,
      command: 'VERSION',
      path: this.binDirs,
      stdin: JSON.stringify({ cniVersion: CURRENT_VERSION }),
      timeoutMs: this.#opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      passEnv: this.#opts.passEnv,
      maxStdout: this.#opts.maxStdout,
      maxStderr: this.#opts.maxStderr,
      spawner: this.#opts.spawner,
    });
    return parseVersionReply(run.output ?? {});
  }
}
