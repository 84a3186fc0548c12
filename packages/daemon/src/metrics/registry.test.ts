import { CniError, type PluginRunEvent } from '@multus-ts/cni';
import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { InformerState } from '../kube/informer.ts';
import { DaemonMetrics, type InformerView, type MetricSources } from './registry.ts';

/** Sample lines of one metric family (name, optional label filter) from an exposition. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

function value(text: string, name: string, want: Record<string, string> = {}): number | undefined {
  return samples(text, name).find((s) => Object.entries(want).every(([k, v]) => s.labels[k] === v))?.value;
}

const run = (
  type: string,
  command: PluginRunEvent['command'],
  ms: number,
  error?: CniError,
): PluginRunEvent => ({
  network: 'net1',
  type,
  command,
  durationMs: ms,
  stderr: '',
  ...(error ? { error } : {}),
});

function informer(name: string, state: Partial<InformerState>, size: number): InformerView {
  return { name, size, state: { synced: false, lastSyncAt: 0, restarts: 0, lastError: undefined, ...state } };
}

function sources(over: Partial<MetricSources> = {}): MetricSources {
  return {
    requestsInFlight: () => 3,
    executionsInFlight: () => 2,
    executionLimit: () => 8,
    queueDepth: () => 5,
    informers: () => [
      informer('pods', { synced: true, lastSyncAt: 97_500, restarts: 2 }, 11),
      informer('network-attachment-definitions', {}, 0),
    ],
    delegateCacheEntries: async () => 7,
    eventsDropped: () => 4,
    ready: () => true,
    now: () => 100_000,
    ...over,
  };
}

describe('DaemonMetrics', () => {
  it('counts socket responses with upstream label values', async () => {
    const m = new DaemonMetrics({ defaultMetrics: false });
    m.onServerResponse('/cni', 200, 'POST');
    m.onServerResponse('/cni', 200, 'POST');
    m.onServerResponse('/cni', 400, 'POST');
    m.onServerResponse('/healthz', 405, 'PUT');
    m.onServerResponse('NotFound', 404, 'PROPFIND');
    const text = await m.exposition();
    expect(text).toContain('# HELP multus_server_request_total Counter of HTTP requests');
    expect(text).toContain('# TYPE multus_server_request_total counter');
    expect(value(text, 'multus_server_request_total', { handler: '/cni', code: '200', method: 'post' })).toBe(
      2,
    );
    expect(value(text, 'multus_server_request_total', { handler: '/cni', code: '400', method: 'post' })).toBe(
      1,
    );
    expect(
      value(text, 'multus_server_request_total', { handler: '/healthz', code: '405', method: 'put' }),
    ).toBe(1);
    expect(
      value(text, 'multus_server_request_total', { handler: 'NotFound', code: '404', method: 'unknown' }),
    ).toBe(1);
  });

  it('times /cni requests by command and result', async () => {
    const m = new DaemonMetrics({ defaultMetrics: false });
    m.observeCniRequest('ADD', 'success', 0.2);
    m.observeCniRequest('DEL', 'error', 3);
    m.observeCniRequest('BOGUS', 'error', 1);
    const text = await m.exposition();
    expect(
      value(text, 'multus_cni_request_duration_seconds_count', { command: 'ADD', result: 'success' }),
    ).toBe(1);
    expect(value(text, 'multus_cni_request_duration_seconds_sum', { command: 'DEL', result: 'error' })).toBe(
      3,
    );
    expect(value(text, 'multus_cni_request_duration_seconds_bucket', { command: 'ADD', le: '0.25' })).toBe(1);
    expect(value(text, 'multus_cni_request_duration_seconds_bucket', { command: 'ADD', le: '0.1' })).toBe(0);
    expect(value(text, 'multus_cni_request_duration_seconds_count', { command: 'other' })).toBe(1);
  });

  it('records each plugin run by type, and its failures by bucketed CNI code', async () => {
    const m = new DaemonMetrics({ defaultMetrics: false });
    m.onPluginRun(run('macvlan', 'ADD', 12));
    m.onPluginRun(run('macvlan', 'ADD', 30, new CniError(11, 'busy')));
    m.onPluginRun(run('bridge', 'DEL', 5, new CniError(412, 'plugin specific')));
    const text = await m.exposition();
    expect(
      value(text, 'multus_delegate_duration_seconds_count', { plugin: 'macvlan', result: 'success' }),
    ).toBe(1);
    expect(
      value(text, 'multus_delegate_duration_seconds_sum', { plugin: 'macvlan', result: 'success' }),
    ).toBeCloseTo(0.012);
    expect(
      value(text, 'multus_delegate_duration_seconds_count', { plugin: 'macvlan', result: 'error' }),
    ).toBe(1);
    expect(
      value(text, 'multus_delegate_errors_total', { plugin: 'macvlan', command: 'ADD', code: '11' }),
    ).toBe(1);
    expect(
      value(text, 'multus_delegate_errors_total', { plugin: 'bridge', command: 'DEL', code: 'plugin' }),
    ).toBe(1);
    expect(
      value(text, 'multus_delegate_errors_total', { plugin: 'macvlan', command: 'ADD', code: 'plugin' }),
    ).toBe(undefined);
  });

  it('a flood of made-up plugin types cannot grow the exposition past the cap', async () => {
    const m = new DaemonMetrics({ defaultMetrics: false, pluginLabelCap: 4 });
    for (let i = 0; i < 500; i++)
      m.onPluginRun(run(`evil-${i}`, 'ADD', 1, new CniError(7, 'no such plugin')));
    m.onPluginRun(run('macvlan', 'ADD', 1));
    m.onPluginRun(run('../../../bin/sh', 'ADD', 1));
    const text = await m.exposition();
    const plugins = new Set(samples(text, 'multus_delegate_errors_total').map((s) => s.labels['plugin']));
    expect([...plugins].sort()).toEqual(['evil-0', 'evil-1', 'evil-2', 'evil-3', 'other']);
    expect(value(text, 'multus_delegate_errors_total', { plugin: 'other' })).toBe(496);
    expect(value(text, 'multus_delegate_duration_seconds_count', { plugin: 'macvlan' })).toBe(1);
    expect(
      value(text, 'multus_delegate_duration_seconds_count', { plugin: 'other', result: 'success' }),
    ).toBe(1);
    expect(text).not.toContain('bin/sh');
  });

  it('counts API requests by verb, resource and status, folding anything unexpected', async () => {
    const m = new DaemonMetrics({ defaultMetrics: false });
    m.onApiRequest('patch', 'pods/status', 200);
    m.onApiRequest('get', 'pods', 404);
    m.onApiRequest('get', 'pods', 'error');
    m.onApiRequest('frobnicate', 'secrets', 200);
    const text = await m.exposition();
    expect(
      value(text, 'multus_kube_api_requests_total', { verb: 'patch', resource: 'pods/status', code: '200' }),
    ).toBe(1);
    expect(value(text, 'multus_kube_api_requests_total', { verb: 'get', code: '404' })).toBe(1);
    expect(value(text, 'multus_kube_api_requests_total', { verb: 'get', code: 'error' })).toBe(1);
    expect(value(text, 'multus_kube_api_requests_total', { verb: 'other', resource: 'other' })).toBe(1);
  });

  it('reads queue, informer and cache state only when scraped', async () => {
    const m = new DaemonMetrics({ defaultMetrics: false });
    let queued = 5;
    m.attach(sources({ queueDepth: () => queued }));
    let text = await m.exposition();
    expect(value(text, 'multus_requests_in_flight')).toBe(3);
    expect(value(text, 'multus_delegate_executions_in_flight')).toBe(2);
    expect(value(text, 'multus_delegate_execution_limit')).toBe(8);
    expect(value(text, 'multus_delegate_queue_depth')).toBe(5);
    expect(value(text, 'multus_ready')).toBe(1);
    expect(value(text, 'multus_delegate_cache_entries')).toBe(7);
    expect(value(text, 'multus_events_dropped_total')).toBe(4);
    expect(value(text, 'multus_informer_synced', { informer: 'pods' })).toBe(1);
    expect(value(text, 'multus_informer_synced', { informer: 'network-attachment-definitions' })).toBe(0);
    expect(value(text, 'multus_informer_last_sync_age_seconds', { informer: 'pods' })).toBe(2.5);
    expect(
      value(text, 'multus_informer_last_sync_age_seconds', { informer: 'network-attachment-definitions' }),
    ).toBe(Number.NaN);
    expect(value(text, 'multus_informer_cached_objects', { informer: 'pods' })).toBe(11);
    expect(value(text, 'multus_informer_restarts_total', { informer: 'pods' })).toBe(2);
    queued = 0;
    text = await m.exposition();
    expect(value(text, 'multus_delegate_queue_depth')).toBe(0);
  });

  it('an unreadable delegate cache shows NaN instead of failing the scrape', async () => {
    const m = new DaemonMetrics({ defaultMetrics: false });
    m.attach(
      sources({
        delegateCacheEntries: async () => {
          throw new Error('EACCES');
        },
      }),
    );
    const text = await m.exposition();
    expect(value(text, 'multus_delegate_cache_entries')).toBe(Number.NaN);
    expect(value(text, 'multus_requests_in_flight')).toBe(3);
  });

  it('includes process and Node.js runtime metrics, and never touches the global registry', async () => {
    const m = new DaemonMetrics();
    const text = await m.exposition();
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(text).toContain('# TYPE process_resident_memory_bytes gauge');
    expect(text).toContain('# TYPE nodejs_heap_size_used_bytes gauge');
    expect(text).toContain('nodejs_gc_duration_seconds');
    // gauges named *_total fail `promtool check metrics`; their per-type siblings stay
    expect(text).not.toContain('nodejs_active_handles_total');
    expect(text).toContain('# TYPE nodejs_active_handles gauge');
    expect(m.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(globalRegistry.getSingleMetric('multus_server_request_total')).toBeUndefined();
    // two instances side by side (tests, embedders) do not clash
    expect(() => new DaemonMetrics()).not.toThrow();
  });
});
