import { describe, expect, it } from 'vitest';
import { Admission } from './admission.ts';

describe('Admission (fail-closed boot)', () => {
  it('admits at once when every condition holds', async () => {
    await expect(new Admission([() => undefined], { timeoutMs: 10 }).admitAdd()).resolves.toBeUndefined();
  });
  it('waits for a condition to come true', async () => {
    let synced = false;
    setTimeout(() => {
      synced = true;
    }, 30);
    const a = new Admission([() => (synced ? undefined : 'pods not synced')], { timeoutMs: 2000, pollMs: 5 });
    await expect(a.admitAdd()).resolves.toBeUndefined();
  });
  it('fails with code 11 naming the blocker after the deadline', async () => {
    const a = new Admission([() => undefined, () => 'no primary CNI config'], { timeoutMs: 30, pollMs: 5 });
    await expect(a.admitAdd()).rejects.toMatchObject({
      code: 11,
      msg: 'multus-daemon is not ready: no primary CNI config',
    });
  });
});
