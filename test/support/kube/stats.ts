// Request counters by verb, resource and status code, so tests and benchmarks can say how many API requests an
// operation cost (e.g. "0 GET and 1 PATCH per ADD").
import { matchesRequest, type RequestInfo, type RequestMatch } from './types.ts';

export interface StatEntry {
  verb: string;
  resource: string;
  code: number;
  count: number;
}

export interface StatsSnapshot {
  total: number;
  byVerb: Record<string, number>;
  byResource: Record<string, number>;
  /** `"<verb> <resource>"`, e.g. `"patch pods/status"`. */
  byVerbResource: Record<string, number>;
  byCode: Record<string, number>;
  entries: StatEntry[];
}

export class Stats {
  readonly #entries = new Map<string, StatEntry>();

  record(info: RequestInfo, code: number): void {
    const key = `${info.verb} ${info.resource} ${code}`;
    const e = this.#entries.get(key);
    if (e) e.count++;
    else this.#entries.set(key, { verb: info.verb, resource: info.resource, code, count: 1 });
  }

  /** Requests that match (all when no match is given), optionally only those answered with `code`. */
  count(match?: RequestMatch & { code?: number }): number {
    let n = 0;
    for (const e of this.#entries.values()) {
      if (match?.code !== undefined && e.code !== match.code) continue;
      if (matchesRequest(match, e)) n += e.count;
    }
    return n;
  }

  snapshot(): StatsSnapshot {
    const s: StatsSnapshot = {
      total: 0,
      byVerb: {},
      byResource: {},
      byVerbResource: {},
      byCode: {},
      entries: [],
    };
    const add = (m: Record<string, number>, k: string, n: number) => {
      m[k] = (m[k] ?? 0) + n;
    };
    for (const e of this.#entries.values()) {
      s.total += e.count;
      add(s.byVerb, e.verb, e.count);
      add(s.byResource, e.resource, e.count);
      add(s.byVerbResource, `${e.verb} ${e.resource}`, e.count);
      add(s.byCode, String(e.code), e.count);
      s.entries.push({ ...e });
    }
    return s;
  }

  reset(): void {
    this.#entries.clear();
  }
}
