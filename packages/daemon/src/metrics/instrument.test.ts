import { CniError } from '@multus-ts/cni';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logging.ts';
import type { CniReply, CniService } from '../server/server.ts';
import type { CniCall } from '../server/wire.ts';
import { instrumentService, pluginRunObserver, STDERR_LOG_LIMIT } from './instrument.ts';
import { DaemonMetrics } from './registry.ts';

function capture(level = 'debug') {
  const lines: string[] = [];
  const log = createLogger({
    level,
    logToStderr: true,
    stderr: {
      write(s: string) {
        lines.push(s);
      },
    },
  });
  return { log, json: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const call = (command: CniCall['command']): CniCall => ({
  command,
  containerId: 'ctr-1',
  netns: '/var/run/netns/p',
  ifName: 'eth0',
  args: 'K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=pod1',
  env: {},
  config: Buffer.from('{"name":"multus-cni-network","cniVersion":"1.0.0"}'),
  interfaceAttributes: undefined,
});

function count(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

describe('instrumentService', () => {
  it('times /cni calls by command and result and passes replies and errors through untouched', async () => {
    const metrics = new DaemonMetrics({ defaultMetrics: false });
    const reply: CniReply = { cniVersion: '1.0.0', result: { cniVersion: '1.0.0' } };
    const failure = new CniError(7, 'bad config');
    const inner: CniService = {
      cni: async (c) => {
        if (c.command === 'DEL') throw failure;
        return reply;
      },
      delegate: async () => reply,
    };
    const svc = instrumentService(inner, { metrics });
    expect(await svc.cni(call('ADD'))).toBe(reply);
    await expect(svc.cni(call('DEL'))).rejects.toBe(failure);
    expect(await svc.delegate(call('ADD'))).toBe(reply);
    const text = await metrics.exposition();
    expect(count(text, 'multus_cni_request_duration_seconds_count{command="ADD",result="success"}')).toBe(1);
    expect(count(text, 'multus_cni_request_duration_seconds_count{command="DEL",result="error"}')).toBe(1);
    // /delegate is not a /cni request: it is not in this histogram
    expect(text.match(/multus_cni_request_duration_seconds_count\{/g)).toHaveLength(2);
  });

  it("logs each request's start, end and failure with the request's identity", async () => {
    const { log, json } = capture();
    const inner: CniService = {
      cni: async (c) => {
        log.child({ containerID: c.containerId }).warn({}, 'inside the engine');
        if (c.command === 'CHECK') throw new CniError(11, 'try later');
        return { cniVersion: '1.0.0' };
      },
      delegate: async () => ({ cniVersion: '1.0.0' }),
    };
    const svc = instrumentService(inner, { logger: log });
    await svc.cni(call('ADD'));
    // "done" is written once the reply is on its way (after the I/O turn), still with the request's identity
    expect(json().map((l) => l['msg'])).not.toContain('ADD request done');
    await new Promise((r) => setImmediate(r));
    await expect(svc.cni(call('CHECK'))).rejects.toThrow('try later');
    const lines = json();
    expect(lines.map((l) => l['msg'])).toEqual([
      'ADD request received',
      'inside the engine',
      'ADD request done',
      'CHECK request received',
      'inside the engine',
      'CHECK request failed',
    ]);
    for (const l of lines) {
      expect(l).toMatchObject({
        containerID: 'ctr-1',
        pod: 'ns1/pod1',
        ifname: 'eth0',
        network: 'multus-cni-network',
      });
    }
    expect(lines[2]).toHaveProperty('durationMs');
    expect(lines[5]).toMatchObject({ level: 'error', code: 11, err: 'try later' });
  });
});

describe('pluginRunObserver', () => {
  it('feeds the delegate metrics and logs one debug line per run with bounded stderr', async () => {
    const metrics = new DaemonMetrics({ defaultMetrics: false });
    const { log, json } = capture();
    const observe = pluginRunObserver(log, metrics);
    observe({ network: 'n1', type: 'macvlan', command: 'ADD', ifName: 'net1', durationMs: 4.26, stderr: '' });
    observe({
      network: 'n1',
      type: 'macvlan',
      command: 'DEL',
      durationMs: 1,
      stderr: 'e'.repeat(STDERR_LOG_LIMIT * 3),
      error: new CniError(5, 'io'),
    });
    const lines = json();
    expect(lines[0]).toMatchObject({
      level: 'debug',
      plugin: 'macvlan',
      network: 'n1',
      ifname: 'net1',
      durationMs: 4.3,
    });
    expect(lines[0]).not.toHaveProperty('stderr');
    expect(lines[1]).toMatchObject({ msg: 'delegate plugin failed', code: 5 });
    expect(String(lines[1]!['stderr']).length).toBe(STDERR_LOG_LIMIT + 3);
    const text = await metrics.exposition();
    expect(count(text, 'multus_delegate_errors_total{plugin="macvlan",command="DEL",code="5"}')).toBe(1);
  });

  it('still records metrics when debug lines are off', async () => {
    const metrics = new DaemonMetrics({ defaultMetrics: false });
    const { log, json } = capture('verbose');
    pluginRunObserver(
      log,
      metrics,
    )({ network: 'n', type: 'bridge', command: 'ADD', durationMs: 2, stderr: 'x' });
    expect(json()).toEqual([]);
    const text = await metrics.exposition();
    expect(
      count(text, 'multus_delegate_duration_seconds_count{plugin="bridge",command="ADD",result="success"}'),
    ).toBe(1);
  });
});
