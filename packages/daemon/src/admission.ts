// Fail-closed boot: ADD (and GC/STATUS) wait until the node can really serve them: informers synced, the
// primary CNI config found, the readiness indicator present. A pod must never be given a partial set of networks
// because the daemon was still starting; after the deadline the runtime gets code 11 and retries.
import { CniError } from '@multus-ts/cni';
import { DAEMON_ERRORS } from './catalogue.ts';
import type { AdmissionControl } from './engine/deps.ts';

/** Returns why the node is not ready, or undefined when this condition holds. */
export type Condition = () => string | undefined;

export class Admission implements AdmissionControl {
  readonly #conditions: Condition[];
  readonly #timeoutMs: number;
  readonly #pollMs: number;

  constructor(conditions: Condition[], opts: { timeoutMs: number; pollMs?: number }) {
    this.#conditions = conditions;
    this.#timeoutMs = opts.timeoutMs;
    this.#pollMs = opts.pollMs ?? 100;
  }

  /** The first unmet condition, or undefined when all hold. */
  blocker(): string | undefined {
    for (const c of this.#conditions) {
      const why = c();
      if (why !== undefined) return why;
    }
    return undefined;
  }

  async admitAdd(): Promise<void> {
    let why = this.blocker();
    if (why === undefined) return;
    const deadline = Date.now() + this.#timeoutMs;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, this.#pollMs));
      why = this.blocker();
      if (why === undefined) return;
    }
    throw CniError.of(DAEMON_ERRORS, 'ERR_NOT_READY', { reason: why });
  }
}
