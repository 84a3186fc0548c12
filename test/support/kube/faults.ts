// Run-time fault injection. Every switch can be flipped while clients are connected; each request consults the
// faults once, before it is handled, in this order: latency, injected status code, 410 for list/watch.
import { matchesRequest, type RequestInfo, type RequestMatch } from './types.ts';

export interface FailureRule {
  code: number;
  match?: RequestMatch;
}

export interface FaultState {
  latency: { ms: number; match?: RequestMatch } | null;
  failNext: Array<FailureRule & { remaining: number }>;
  failRate: (FailureRule & { rate: number }) | null;
  goneNext: { remaining: number; match?: RequestMatch } | null;
  watchStartDelayMs: number;
  down: boolean;
}

/** What the server lifecycle lets the faults do to connections. */
export interface FaultHooks {
  dropWatches(abrupt: boolean): number;
  down(): Promise<void>;
  up(): Promise<void>;
}

/** A small seeded generator so a failure rate gives the same sequence on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Faults {
  readonly #hooks: FaultHooks;
  #latency: FaultState['latency'] = null;
  #failNext: FaultState['failNext'] = [];
  #failRate: FaultState['failRate'] = null;
  #random: () => number = mulberry32(1);
  #gone: FaultState['goneNext'] = null;
  #watchStartDelayMs = 0;
  #down = false;

  constructor(hooks: FaultHooks) {
    this.#hooks = hooks;
  }

  /** Delays every matching request by `ms` (0 turns it off). */
  setLatency(ms: number, match?: RequestMatch): void {
    this.#latency = ms > 0 ? { ms, ...(match ? { match } : {}) } : null;
  }

  /** The next `n` matching requests are answered with `code` (default 500) and the server's Status body. */
  failNext(n: number, opts: { code?: number; match?: RequestMatch } = {}): void {
    this.#failNext.push({
      remaining: n,
      code: opts.code ?? 500,
      ...(opts.match ? { match: opts.match } : {}),
    });
  }

  /** A fraction `rate` (0..1) of matching requests fail with `code`; `seed` fixes the sequence. 0 turns it off. */
  failRate(rate: number, opts: { code?: number; match?: RequestMatch; seed?: number } = {}): void {
    this.#failRate =
      rate > 0 ? { rate, code: opts.code ?? 500, ...(opts.match ? { match: opts.match } : {}) } : null;
    this.#random = mulberry32(opts.seed ?? 1);
  }

  /** The next `n` matching list or watch requests get 410 Expired (a list: HTTP 410; a watch: an ERROR event). */
  goneNext(n: number, match?: RequestMatch): void {
    this.#gone = n > 0 ? { remaining: n, ...(match ? { match } : {}) } : null;
  }

  /** Watch requests wait this long before their response starts. */
  setWatchStartDelay(ms: number): void {
    this.#watchStartDelayMs = Math.max(0, ms);
  }

  /** Ends open watch streams now; returns how many. `abrupt` resets the connections instead of ending cleanly. */
  dropWatches(opts: { abrupt?: boolean } = {}): number {
    return this.#hooks.dropWatches(opts.abrupt ?? false);
  }

  /** Stops listening and resets every open connection: clients see connection refused until `up()`. */
  async down(): Promise<void> {
    if (this.#down) return;
    this.#down = true;
    await this.#hooks.down();
  }

  /** Listens again on the same port. */
  async up(): Promise<void> {
    if (!this.#down) return;
    await this.#hooks.up();
    this.#down = false;
  }

  get isDown(): boolean {
    return this.#down;
  }

  /** Turns off every fault (latency, failures, 410s, watch delay) except `down`. */
  clear(): void {
    this.#latency = null;
    this.#failNext = [];
    this.#failRate = null;
    this.#gone = null;
    this.#watchStartDelayMs = 0;
  }

  state(): FaultState {
    return structuredClone({
      latency: this.#latency,
      failNext: this.#failNext,
      failRate: this.#failRate,
      goneNext: this.#gone,
      watchStartDelayMs: this.#watchStartDelayMs,
      down: this.#down,
    });
  }

  latencyFor(info: RequestInfo): number {
    return this.#latency && matchesRequest(this.#latency.match, info) ? this.#latency.ms : 0;
  }

  watchStartDelay(): number {
    return this.#watchStartDelayMs;
  }

  /** The status code to inject for this request, if any (consumes one of `failNext`). */
  takeFailure(info: RequestInfo): number | undefined {
    const next = this.#failNext.find((f) => f.remaining > 0 && matchesRequest(f.match, info));
    if (next) {
      next.remaining--;
      this.#failNext = this.#failNext.filter((f) => f.remaining > 0);
      return next.code;
    }
    if (
      this.#failRate &&
      matchesRequest(this.#failRate.match, info) &&
      this.#random() < this.#failRate.rate
    ) {
      return this.#failRate.code;
    }
    return undefined;
  }

  /** Whether this list/watch request gets a 410 (consumes one). */
  takeGone(info: RequestInfo): boolean {
    if (info.verb !== 'list' && info.verb !== 'watch') return false;
    if (!this.#gone || !matchesRequest(this.#gone.match, info)) return false;
    this.#gone.remaining--;
    if (this.#gone.remaining <= 0) this.#gone = null;
    return true;
  }
}
