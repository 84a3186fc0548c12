import { describe, expect, it } from 'vitest';
import { KeyedMutex, LimiterTimeoutError, PriorityLimiter, SharedExclusiveGate } from './serial.ts';

const tick = () => new Promise((r) => setImmediate(r));
function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('KeyedMutex', () => {
  it('runs tasks of one key in order and never together', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const gate = deferred();
    const a = m.run('c1', async () => {
      log.push('a-start');
      await gate.promise;
      log.push('a-end');
    });
    const b = m.run('c1', async () => {
      log.push('b');
    });
    const other = m.run('c2', async () => {
      log.push('other');
    });
    await other;
    expect(log).toEqual(['a-start', 'other']);
    gate.resolve();
    await Promise.all([a, b]);
    expect(log).toEqual(['a-start', 'other', 'a-end', 'b']);
    await tick();
    expect(m.activeKeys).toBe(0);
  });

  it('a failing task does not block the next one of the same key', async () => {
    const m = new KeyedMutex();
    await expect(m.run('k', async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await expect(m.run('k', async () => 42)).resolves.toBe(42);
  });
});

describe('SharedExclusiveGate', () => {
  it('exclusive waits for shared holders and blocks new shared ones', async () => {
    const g = new SharedExclusiveGate();
    const log: string[] = [];
    const d1 = deferred();
    const s1 = g.shared(async () => {
      log.push('s1');
      await d1.promise;
      log.push('s1-end');
    });
    const ex = g.exclusive(async () => {
      log.push('gc');
    });
    const s2 = g.shared(async () => {
      log.push('s2');
    });
    await tick();
    expect(log).toEqual(['s1']);
    d1.resolve();
    await Promise.all([s1, ex, s2]);
    expect(log).toEqual(['s1', 's1-end', 'gc', 's2']);
  });
});

describe('PriorityLimiter', () => {
  it('never runs more than the limit and serves high priority first', async () => {
    const lim = new PriorityLimiter(2);
    let running = 0;
    let peak = 0;
    const order: string[] = [];
    const gates = Array.from({ length: 6 }, deferred);
    const work = (name: string, i: number) => async () => {
      running++;
      peak = Math.max(peak, running);
      order.push(name);
      await gates[i]!.promise;
      running--;
    };
    const ps = [
      lim.run('normal', Infinity, work('add0', 0)),
      lim.run('normal', Infinity, work('add1', 1)),
      lim.run('normal', Infinity, work('add2', 2)),
      lim.run('normal', Infinity, work('add3', 3)),
      lim.run('high', Infinity, work('del4', 4)),
    ];
    await tick();
    expect(lim.running).toBe(2);
    expect(lim.queued).toBe(3);
    gates[0]!.resolve();
    await tick();
    await tick();
    expect(order).toEqual(['add0', 'add1', 'del4']);
    for (const g of gates) g.resolve();
    await Promise.all(ps);
    expect(peak).toBe(2);
    expect(order).toEqual(['add0', 'add1', 'del4', 'add2', 'add3']);
    expect(lim.running).toBe(0);
  });

  it('fails a waiter past its deadline and keeps the slot count right', async () => {
    const lim = new PriorityLimiter(1);
    const g = deferred();
    const first = lim.run('normal', Infinity, () => g.promise);
    await expect(lim.run('normal', 20, async () => 'late')).rejects.toBeInstanceOf(LimiterTimeoutError);
    expect(lim.queued).toBe(0);
    g.resolve();
    await first;
    expect(lim.running).toBe(0);
    await expect(lim.run('normal', 20, async () => 'ok')).resolves.toBe('ok');
  });

  it('rejects a non-positive limit', () => {
    expect(() => new PriorityLimiter(0)).toThrow(RangeError);
  });
});
