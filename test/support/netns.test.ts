// The parts of the netns helpers that need neither root nor namespaces: names, the prerequisite check, and the
// cleanup registry's ordering and error reporting.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { requireHostTools, TestScope, uniqueName } from './netns.ts';

describe('uniqueName', () => {
  it('stays within the kernel link-name limit and never repeats', () => {
    const names = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const n = uniqueName('a-very-long-prefix-');
      expect(n.length).toBeLessThanOrEqual(15);
      names.add(n);
    }
    expect(names.size).toBe(500);
    expect(uniqueName('node-', 40).startsWith('node-')).toBe(true);
  });
});

describe('requireHostTools', () => {
  it('throws (so a test fails, never skips) naming a missing plugin', () => {
    expect(() => requireHostTools(['no-such-plugin-xyz'])).toThrow(/\/usr\/lib\/cni\/no-such-plugin-xyz/);
  });
});

describe('TestScope', () => {
  it('undoes newest first, runs every step even after a failure, and reports the failures together', async () => {
    const scope = new TestScope();
    const order: string[] = [];
    scope.defer('first', () => {
      order.push('first');
    });
    scope.defer('broken', () => {
      throw new Error('boom');
    });
    scope.defer('last', async () => {
      order.push('last');
    });
    await expect(scope.cleanup()).rejects.toThrow('cleanup of broken failed: boom');
    expect(order).toEqual(['last', 'first']);
    // A second cleanup has nothing left to do.
    await scope.cleanup();
  });

  it('removes its temp dirs, and cleanupAll catches scopes a test forgot', async () => {
    const scope = new TestScope();
    const dir = await scope.tempDir();
    expect(existsSync(dir)).toBe(true);
    await TestScope.cleanupAll();
    expect(existsSync(dir)).toBe(false);
  });
});
