import { describe, expect, it } from 'vitest';
import { lazyChild } from './lazy-logger.ts';

function recorder(level: 'debug' | 'info') {
  const order = ['debug', 'info', 'warn', 'error'];
  const lines: { bindings: object; level: string; obj: object; msg: string }[] = [];
  let children = 0;
  type Fake = {
    debug(o: object, m: string): void;
    info(o: object, m: string): void;
    warn(o: object, m: string): void;
    error(o: object, m: string): void;
    isLevelEnabled(l: string): boolean;
    child(b: object): Fake;
  };
  const make = (bindings: object): Fake => {
    const log = (lvl: string) => (obj: object, msg: string) => lines.push({ bindings, level: lvl, obj, msg });
    return {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      isLevelEnabled: (l: string) => order.indexOf(l) >= order.indexOf(level),
      child: (b: object): Fake => {
        children++;
        return make({ ...bindings, ...b });
      },
    };
  };
  return { root: make({}), lines, children: () => children };
}

describe('lazyChild', () => {
  it('makes no child for lines below the level, and one (with every binding) on the first line that counts', () => {
    const r = recorder('info');
    const req = lazyChild(r.root, { containerID: 'c1' });
    const del = req.child({ network: 'n1' });
    req.debug({}, 'not written');
    del.debug({ x: 1 }, 'nor this');
    expect(r.children()).toBe(0);
    expect(r.lines).toEqual([]);
    del.warn({ x: 2 }, 'written');
    del.error({}, 'again');
    req.info({}, 'request line');
    expect(r.lines).toEqual([
      { bindings: { containerID: 'c1', network: 'n1' }, level: 'warn', obj: { x: 2 }, msg: 'written' },
      { bindings: { containerID: 'c1', network: 'n1' }, level: 'error', obj: {}, msg: 'again' },
      { bindings: { containerID: 'c1' }, level: 'info', obj: {}, msg: 'request line' },
    ]);
    expect(r.children()).toBe(2); // one per logger that wrote, each made once
  });

  it('a child of a logger that already wrote builds on it; later bindings win', () => {
    const r = recorder('debug');
    const req = lazyChild(r.root, { containerID: 'c1', pod: 'a' });
    req.debug({}, 'first');
    req.child({ pod: 'b' }).info({}, 'second');
    expect(r.lines.map((l) => l.bindings)).toEqual([
      { containerID: 'c1', pod: 'a' },
      { containerID: 'c1', pod: 'b' },
    ]);
  });
});
