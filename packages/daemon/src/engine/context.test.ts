import { describe, expect, it } from 'vitest';
import { inSlot, type RequestContext } from './context.ts';
import { PriorityLimiter } from './serial.ts';

function ctxWith(limiter: PriorityLimiter, queueTimeoutMs: number): RequestContext {
  return { limiter, deps: { queueTimeoutMs } } as unknown as RequestContext;
}

describe('inSlot', () => {
  it('turns a queue timeout into CNI code 11 (try again later), for ADD only', async () => {
    const limiter = new PriorityLimiter(1);
    let release!: () => void;
    const busy = inSlot(ctxWith(limiter, 20), 'add', () => new Promise<void>((r) => (release = r)));
    await expect(inSlot(ctxWith(limiter, 20), 'add', async () => 'late')).rejects.toMatchObject({ code: 11 });
    const del = inSlot(ctxWith(limiter, 20), 'del', async () => 'deleted');
    await new Promise((r) => setTimeout(r, 40));
    release();
    await busy;
    await expect(del, 'DEL waits as long as it takes').resolves.toBe('deleted');
  });

  it('passes the task error through unchanged', async () => {
    const err = new Error('boom');
    await expect(
      inSlot(ctxWith(new PriorityLimiter(1), 20), 'check', () => Promise.reject(err)),
    ).rejects.toBe(err);
  });
});
