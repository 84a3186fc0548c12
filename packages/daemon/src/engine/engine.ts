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
import { makeContext, type RequestContext } from './context.ts';
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
  /** Requests answered whose after-reply work (network-status, events) is still running. */
  #tails = 0;

  constructor(deps: EngineDeps) {
    this.deps = deps;
    this.limiter = new PriorityLimiter(deps.maxConcurrentDelegates ?? DEFAULT_MAX_CONCURRENT_DELEGATES);
  }

  /** Requests being handled right now (waiting, running, or finishing after their reply). */
  get inFlight(): number {
    return this.#inFlight + this.#tails;
  }

  async cni(call: CniCall): Promise<CniReply> {
    this.#inFlight++;
    try {
      return await this.#dispatch(call);
    } finally {
      this.#inFlight--;
    }
  }

  /**
   * /delegate: one attachment for an external controller (hot-plug). runDelegate finds the pod's sandbox first
   * and then serialises on it (the caller's container ID may not be the sandbox's, multus-dynamic-networks #209).
   */
  async delegate(call: CniCall): Promise<CniReply> {
    this.#inFlight++;
    try {
      if (call.command === 'GC' || call.command === 'VERSION') {
        throw CniError.of(DAEMON_ERRORS, 'ERR_COMMAND_UNKNOWN', { command: call.command });
      }
      // binDir and cniDir come from the daemon's configuration: the request config is the delegate's own.
      const conf = parseMultusNetConf({ ...(this.deps.daemonConfig ?? {}) }, { requireNetworks: false });
      const ctx = makeContext(call, conf, this.deps, this.limiter);
      return await runDelegate(ctx, (containerId, fn) => this.serialised(containerId, fn));
    } finally {
      this.#inFlight--;
    }
  }

  /**
   * Runs `fn` as one operation on `containerId`: after and before that container's ADD/DEL/CHECK, never during GC.
   * For work the daemon starts itself (hot-plug) and for /delegate.
   */
  serialised<T>(containerId: string, fn: () => Promise<T>): Promise<T> {
    return this.#gcGate.shared(() => this.#perContainer.run(containerId, fn));
  }

  /** A request context for `call` with the multus config in `call.config`, read exactly as a /cni request's. */
  contextFor(call: CniCall): RequestContext {
    const client = decodeRequestConfig(call.config);
    const merged = overlayDaemonConfig(client, this.deps.daemonConfig, {
      ignoreReadinessIndicator: this.deps.ignoreReadinessIndicator ?? true,
    });
    return makeContext(call, parseMultusNetConf(merged), this.deps, this.limiter);
  }

  /**
   * Runs `work` in the container's turn and resolves with its reply as soon as it has one; the context's
   * after-reply tasks then run in the same turn, so the container's next operation waits for them. Their failures
   * are theirs to log: the runtime already has its answer.
   */
  #answerThenFinish(ctx: RequestContext, work: () => Promise<CniReply>): Promise<CniReply> {
    return new Promise((resolve, reject) => {
      this.#gcGate
        .shared(() =>
          this.#perContainer.run(ctx.call.containerId, async () => {
            const reply = await work();
            this.#tails++; // before the reply leaves: no moment where the daemon looks idle with work pending
            resolve(reply);
            try {
              // Let the reply be written first: the tasks' first steps (building a request) are synchronous.
              await new Promise((r) => setImmediate(r));
              for (const task of ctx.afterReply.splice(0)) {
                await task().catch((err: unknown) =>
                  ctx.log.error({ err: (err as Error).message }, 'after-reply task failed'),
                );
              }
            } finally {
              this.#tails--;
            }
          }),
        )
        .catch(reject);
    });
  }

  async #dispatch(call: CniCall): Promise<CniReply> {
    if (call.command === 'VERSION') {
      return { cniVersion: '1.1.0', result: versionReply('1.1.0') as unknown as Record<string, unknown> };
    }
    const ctx = this.contextFor(call);
    switch (call.command) {
      case 'ADD':
        return this.#answerThenFinish(ctx, () => runAdd(ctx));
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
