// Every metric multus-daemon exposes, on a registry of its own (never prom-client's global one, so tests and
// embedders get independent instances). Events feed counters and histograms as they happen; state that already
// lives elsewhere (queue, informers, caches) is read only when Prometheus scrapes.
import type { PluginRunEvent } from '@multus-ts/cni';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { InformerState } from '../kube/informer.ts';
import type { HandlerLabel } from '../server/server.ts';
import {
  apiCodeLabel,
  BoundedLabel,
  cniCodeLabel,
  httpCodeLabel,
  httpMethodLabel,
  OTHER,
  oneOf,
  WELL_KNOWN_PLUGINS,
} from './labels.ts';

/** Distinct plugin types beyond the well-known ones that get their own series. */
export const DEFAULT_PLUGIN_LABEL_CAP = 32;

const COMMANDS: ReadonlySet<string> = new Set(['ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION']);
const HANDLERS: ReadonlySet<string> = new Set(['/cni', '/delegate', '/healthz', '/readyz', 'NotFound']);
const API_VERBS: ReadonlySet<string> = new Set([
  'get',
  'list',
  'watch',
  'create',
  'patch',
  'update',
  'delete',
]);
const API_RESOURCES: ReadonlySet<string> = new Set([
  'pods',
  'pods/status',
  'events',
  'network-attachment-definitions',
]);

/** Seconds; a CNI request spans pod lookup, every delegate and the status PATCH. */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Seconds; one plugin process, from exec to exit. */
const DELEGATE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * prom-client gauges whose `_total` suffix `promtool check metrics` rejects (only counters may end so); their
 * per-type siblings (`nodejs_active_handles{type}`, ...) carry the same numbers, summed.
 */
const LINT_FAILING_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export type RequestResult = 'success' | 'error';

export interface InformerView {
  readonly name: string;
  readonly state: Readonly<InformerState>;
  readonly size: number;
}

/** Where the scrape-time gauges read from; every function is cheap except `delegateCacheEntries` (one readdir). */
export interface MetricSources {
  requestsInFlight(): number;
  executionsInFlight(): number;
  executionLimit(): number;
  queueDepth(): number;
  informers(): readonly InformerView[];
  delegateCacheEntries(): Promise<number>;
  eventsDropped(): number;
  ready(): boolean;
  now?(): number;
}

export interface DaemonMetricsOptions {
  pluginLabelCap?: number;
  /** prom-client's process and Node.js runtime metrics (default on). */
  defaultMetrics?: boolean;
}

export class DaemonMetrics {
  readonly registry = new Registry();
  readonly pluginLabel: BoundedLabel;
  #sources: MetricSources | undefined;

  readonly #serverRequests = new Counter({
    name: 'multus_server_request_total',
    help: 'Counter of HTTP requests',
    labelNames: ['handler', 'code', 'method'] as const,
    registers: [this.registry],
  });
  readonly #cniDuration = new Histogram({
    name: 'multus_cni_request_duration_seconds',
    help: 'Time to answer a /cni request on the daemon socket, by CNI command and result',
    labelNames: ['command', 'result'] as const,
    buckets: REQUEST_BUCKETS,
    registers: [this.registry],
  });
  readonly #delegateDuration = new Histogram({
    name: 'multus_delegate_duration_seconds',
    help: 'Time one delegate plugin process took, by plugin type, CNI command and result',
    labelNames: ['plugin', 'command', 'result'] as const,
    buckets: DELEGATE_BUCKETS,
    registers: [this.registry],
  });
  readonly #delegateErrors = new Counter({
    name: 'multus_delegate_errors_total',
    help: 'Delegate plugin runs that failed, by plugin type, CNI command and CNI error code (bucketed)',
    labelNames: ['plugin', 'command', 'code'] as const,
    registers: [this.registry],
  });
  readonly #apiRequests = new Counter({
    name: 'multus_kube_api_requests_total',
    help: 'Requests to the Kubernetes API server outside the informers, by verb, resource and HTTP status',
    labelNames: ['verb', 'resource', 'code'] as const,
    registers: [this.registry],
  });

  constructor(opts: DaemonMetricsOptions = {}) {
    this.pluginLabel = new BoundedLabel(opts.pluginLabelCap ?? DEFAULT_PLUGIN_LABEL_CAP, WELL_KNOWN_PLUGINS);
    if (opts.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      for (const name of LINT_FAILING_DEFAULTS) this.registry.removeSingleMetric(name);
    }
    this.#defineScrapeGauges();
  }

  /** Connects the scrape-time gauges to the running daemon's state. */
  attach(sources: MetricSources): void {
    this.#sources = sources;
  }

  /** The socket server's per-response hook (upstream's counter, same label values). */
  onServerResponse(handler: HandlerLabel, statusCode: number, method: string): void {
    this.#serverRequests.inc({
      handler: oneOf(HANDLERS, handler) === OTHER ? 'NotFound' : handler,
      code: httpCodeLabel(statusCode),
      method: httpMethodLabel(method),
    });
  }

  observeCniRequest(command: string, result: RequestResult, seconds: number): void {
    this.#cniDuration.observe({ command: oneOf(COMMANDS, command), result }, seconds);
  }

  /** The CNI runtime's per-plugin hook. */
  onPluginRun(event: PluginRunEvent): void {
    const plugin = this.pluginLabel.value(event.type);
    const command = oneOf(COMMANDS, event.command);
    const result: RequestResult = event.error ? 'error' : 'success';
    this.#delegateDuration.observe({ plugin, command, result }, Math.max(0, event.durationMs) / 1000);
    if (event.error) this.#delegateErrors.inc({ plugin, command, code: cniCodeLabel(event.error.code) });
  }

  /** kube/'s per-request hook. */
  onApiRequest(verb: string, resource: string, code: number | 'error'): void {
    this.#apiRequests.inc({
      verb: oneOf(API_VERBS, verb),
      resource: oneOf(API_RESOURCES, resource),
      code: apiCodeLabel(code),
    });
  }

  /** The exposition in the Prometheus text format. */
  async exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  #defineScrapeGauges(): void {
    const src = () => this.#sources;
    const simple = (name: string, help: string, read: (s: MetricSources) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          const s = src();
          if (s) this.set(read(s));
        },
      });
    simple('multus_requests_in_flight', 'CNI requests being handled (waiting or running)', (s) =>
      s.requestsInFlight(),
    );
    simple('multus_delegate_executions_in_flight', 'Delegate plugin executions running now', (s) =>
      s.executionsInFlight(),
    );
    simple(
      'multus_delegate_execution_limit',
      'Bound on concurrent delegate executions (maxConcurrentDelegates)',
      (s) => s.executionLimit(),
    );
    simple('multus_delegate_queue_depth', 'Requests waiting for a free delegate execution slot', (s) =>
      s.queueDepth(),
    );
    simple(
      'multus_ready',
      '1 when the daemon admits ADD (informers synced, primary config present, not stopping)',
      (s) => (s.ready() ? 1 : 0),
    );
    new Gauge({
      name: 'multus_delegate_cache_entries',
      help: 'Containers with a delegate cache file (attachments DEL can tear down); NaN when unreadable',
      registers: [this.registry],
      async collect() {
        const s = src();
        if (!s) return;
        try {
          this.set(await s.delegateCacheEntries());
        } catch {
          this.set(Number.NaN);
        }
      },
    });
    new Counter({
      name: 'multus_events_dropped_total',
      help: 'Kubernetes Events not sent because too many were already in flight',
      registers: [this.registry],
      collect() {
        const s = src();
        if (!s) return;
        this.reset();
        this.inc(s.eventsDropped());
      },
    });
    this.#defineInformerGauges(src);
  }

  #defineInformerGauges(src: () => MetricSources | undefined): void {
    const perInformer = (read: (i: InformerView, now: number) => number) =>
      function collect(this: Gauge<'informer'>) {
        const s = src();
        if (!s) return;
        this.reset();
        const now = s.now?.() ?? Date.now();
        for (const i of s.informers()) this.set({ informer: i.name }, read(i, now));
      };
    new Gauge({
      name: 'multus_informer_synced',
      help: '1 once the informer has completed its initial list, else 0',
      labelNames: ['informer'] as const,
      registers: [this.registry],
      collect: perInformer((i) => (i.state.synced ? 1 : 0)),
    });
    new Gauge({
      name: 'multus_informer_last_sync_age_seconds',
      help: 'Seconds since the informer last received a list or watch event; NaN before the first',
      labelNames: ['informer'] as const,
      registers: [this.registry],
      collect: perInformer((i, now) =>
        i.state.lastSyncAt > 0 ? Math.max(0, now - i.state.lastSyncAt) / 1000 : Number.NaN,
      ),
    });
    new Gauge({
      name: 'multus_informer_cached_objects',
      help: 'Objects in the informer cache (pods of this node, NetworkAttachmentDefinitions)',
      labelNames: ['informer'] as const,
      registers: [this.registry],
      collect: perInformer((i) => i.size),
    });
    new Counter({
      name: 'multus_informer_restarts_total',
      help: 'Times the informer restarted its list and watch after an error',
      labelNames: ['informer'] as const,
      registers: [this.registry],
      collect() {
        const s = src();
        if (!s) return;
        this.reset();
        for (const i of s.informers()) this.inc({ informer: i.name }, i.state.restarts);
      },
    });
  }
}
