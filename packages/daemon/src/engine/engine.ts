// The engine: turns a decoded CNI call into work. It applies the daemon-config overlay, parses the multus
// config, and serialises: one operation per container at a time, GC alone, a bounded number of delegate
// executions (DEL and CHECK ahead of ADD).
import { CniError, versionReply } from '@multus-ts/cni';
import { DAEMON_ERRORS } from '../catalogue.ts';
import { overlayDaemonConfig } from '../config/index.ts';
import type { CniReply, CniService } from '../server/server.ts';
import type { CniCall } from '../server/wire.ts';
import { runAdd } from './add.ts';
import { runCheck } from './check.ts';
import { makeContext } from './context.ts';
import { runDel } from './del.ts';
import { runDelegate } from './delegate.ts';
import type { EngineDeps } from './deps.ts';
import { runGc, runStatus } from './gc.ts';
import { decodeRequestConfig, parseMultusNetConf } from './netconf.ts';
import { KeyedMutex, PriorityLimiter, SharedExclusiveGate } from './serial.ts';

export const DEFAULT_MAX_CONCURRENT_DELEGATES = 8;

export class Engine implements CniService {
  readonly deps: EngineDeps;
  readonly limiter: PriorityLimiter;
  readonly #perContainer = new KeyedMutex();
  readonly #gcGate = new SharedExclusiveGate();
  #inFlight = 0;

  constructor(deps: EngineDeps) {
    this.deps = deps;
    this.limiter = new PriorityLimiter(deps.maxConcurrentDelegates ?? DEFAULT_MAX_CONCURRENT_DELEGATES);
  }

  /** Requests being handled right now (waiting or running). */
  get inFlight(): number {
    return this.#inFlight;
  }

  async cni(call: CniCall): Promise<CniReply> {
    this.#inFlight++;
    try {
      return await this.#dispatch(call);
    } finally {
      this.#inFlight--;
    }
  }

  /** /delegate: one attachment for an external controller (hot-plug); serialised per container like /cni. */
  async delegate(call: CniCall): Promise<CniReply> {
    this.#inFlight++;
    try {
      if (call.command === 'GC' || call.command === 'VERSION') {
        throw CniError.of(DAEMON_ERRORS, 'ERR_COMMAND_UNKNOWN', { command: call.command });
      }
      // binDir and cniDir come from the daemon's configuration: the request config is the delegate's own.
      const conf = parseMultusNetConf({ ...(this.deps.daemonConfig ?? {}) }, { requireNetworks: false });
      const ctx = makeContext(call, conf, this.deps, this.limiter);
      return await this.#gcGate.shared(() =>
        this.#perContainer.run(call.containerId, () => runDelegate(ctx)),
      );
    } finally {
      this.#inFlight--;
    }
  }

  async #dispatch(call: CniCall): Promise<CniReply> {
    if (call.command === 'VERSION') {
      return { cniVersion: '1.1.0', result: versionReply('1.1.0') as unknown as Record<string, unknown> };
    }
    const client = decodeRequestConfig(call.config);
    const merged = overlayDaemonConfig(client, this.deps.daemonConfig, {
      ignoreReadinessIndicator: this.deps.ignoreReadinessIndicator ?? true,
    });
    const conf = parseMultusNetConf(merged);
    const ctx = makeContext(call, conf, this.deps, this.limiter);
    switch (call.command) {
      case 'ADD':
        return this.#gcGate.shared(() => this.#perContainer.run(call.containerId, () => runAdd(ctx)));
      case 'DEL':
        return this.#gcGate.shared(() => this.#perContainer.run(call.containerId, () => runDel(ctx)));
      case 'CHECK':
        return this.#gcGate.shared(() => this.#perContainer.run(call.containerId, () => runCheck(ctx)));
      case 'GC':
        await this.deps.admission?.admitAdd();
        return this.#gcGate.exclusive(() => runGc(ctx));
      case 'STATUS':
        await this.deps.admission?.admitAdd();
        return runStatus(ctx);
    }
  }
}
