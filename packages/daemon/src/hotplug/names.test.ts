import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  annotationOwned,
  attachmentKey,
  type HeldAttachment,
  planInterfaceNames,
  type WantedElement,
} from './names.ts';

const eth0: HeldAttachment = { name: 'cbr0', ifName: 'eth0', master: true };
const held = (name: string, ifName: string, ifnameRequest?: string): HeldAttachment => ({
  name,
  ifName,
  master: false,
  ...(ifnameRequest ? { ifnameRequest } : {}),
});
const none = new Set<string>();
const reserved = new Set(['eth0']);

function names(h: HeldAttachment[], w: WantedElement[], fixed: Set<string> = none) {
  const out = planInterfaceNames(h, fixed, reserved, w);
  if (!out.ok) throw new Error(out.reason);
  return out.plan;
}

describe('planInterfaceNames', () => {
  it('a new unnamed network gets the lowest free net<N>', () => {
    expect(names([eth0], [{ network: 'default/a' }])).toEqual({
      ifNames: ['net1'],
      heldIndex: [undefined],
      remove: [],
    });
    const p = names(
      [eth0, held('default/a', 'net1'), held('default/b', 'net3')],
      [{ network: 'default/a' }, { network: 'default/b' }, { network: 'default/c' }],
    );
    expect(p.ifNames).toEqual(['net1', 'net3', 'net2']);
    expect(p.heldIndex).toEqual([1, 2, undefined]);
  });

  it('removing an earlier network renames nothing that stays', () => {
    const p = names([eth0, held('default/a', 'net1'), held('default/b', 'net2')], [{ network: 'default/b' }]);
    expect(p).toEqual({ ifNames: ['net2'], heldIndex: [2], remove: [1] });
  });

  it('a swap reuses the name of the network that goes', () => {
    const p = names([eth0, held('default/a', 'net1')], [{ network: 'default/b' }]);
    expect(p).toEqual({ ifNames: ['net1'], heldIndex: [undefined], remove: [1] });
  });

  it('a generated name avoids names other elements ask for and the reserved ones', () => {
    const p = planInterfaceNames([eth0], none, new Set(['eth0', 'net1']), [
      { network: 'default/a' },
      { network: 'default/b', interface: 'net2' },
    ]);
    expect(p.ok && p.plan.ifNames).toEqual(['net3', 'net2']);
  });

  it('identity is network + interface: a named element is not an unnamed attachment of another name', () => {
    const h = [eth0, held('default/a', 'net1'), held('default/a', 'data0', 'data0')];
    expect(names(h, [{ network: 'default/a', interface: 'data0' }, { network: 'default/a' }])).toEqual({
      ifNames: ['data0', 'net1'],
      heldIndex: [2, 1],
      remove: [],
    });
    // The explicitly named attachment does not serve an unnamed element: it goes, a new one comes.
    expect(names(h.slice(0, 1).concat(h[2]!), [{ network: 'default/a' }])).toEqual({
      ifNames: ['net1'],
      heldIndex: [undefined],
      remove: [1],
    });
  });

  it('duplicates of one network match one attachment each', () => {
    const h = [eth0, held('default/a', 'net1'), held('default/a', 'net2')];
    expect(names(h, [{ network: 'default/a' }])).toEqual({ ifNames: ['net1'], heldIndex: [1], remove: [2] });
    expect(
      names(h, [{ network: 'default/a' }, { network: 'default/a' }, { network: 'default/a' }]).ifNames,
    ).toEqual(['net1', 'net2', 'net3']);
  });

  it('never removes the cluster network, fixed attachments or bare-named (foreign) ones', () => {
    const h = [eth0, held('kube-system/dflt', 'net1'), held('extra', 'net5'), held('default/a', 'net2')];
    const fixed = new Set([attachmentKey('kube-system/dflt', 'net1')]);
    expect(names(h, [], fixed).remove).toEqual([3]);
    expect(h.map((x) => annotationOwned(x, fixed))).toEqual([false, false, false, true]);
  });

  it('refuses a new named element whose interface an attachment that stays already uses', () => {
    const out = planInterfaceNames([eth0, held('extra', 'net5')], none, reserved, [
      { network: 'default/a', interface: 'net5' },
    ]);
    expect(out).toEqual({ ok: false, reason: 'interface "net5" is already used by extra' });
    const ok = planInterfaceNames([eth0, held('default/b', 'net5')], none, reserved, [
      { network: 'default/a', interface: 'net5' },
    ]);
    expect(ok.ok && ok.plan.remove).toEqual([1]);
  });

  it('property: names are unique, held ones are kept, and only owned unmatched attachments go', () => {
    const nets = fc.constantFrom('default/a', 'default/b', 'default/c');
    const ifs = fc.option(fc.constantFrom('data0', 'data1', 'net2'), { nil: undefined });
    fc.assert(
      fc.property(
        fc.array(fc.record({ network: nets, interface: ifs }), { maxLength: 6 }),
        fc.array(fc.record({ network: nets, interface: ifs }), { maxLength: 6 }),
        (before, after) => {
          // Build a consistent held set from `before`, the way an earlier pass would have.
          const first = planInterfaceNames([eth0], none, reserved, before);
          fc.pre(first.ok);
          const h = [
            eth0,
            ...before.map((w, i) => held(w.network, first.ok ? first.plan.ifNames[i]! : '', w.interface)),
          ];
          const out = planInterfaceNames(h, none, reserved, after);
          if (!out.ok) return;
          const { ifNames, heldIndex, remove } = out.plan;
          expect(new Set(ifNames).size).toBe(ifNames.length);
          expect(remove).not.toContain(0);
          const kept = heldIndex.filter((j) => j !== undefined);
          expect(kept.every((j) => !remove.includes(j))).toBe(true);
          for (const [i, j] of heldIndex.entries())
            if (j !== undefined) expect(ifNames[i]).toBe(h[j]!.ifName);
          const stays = h.filter((_, k) => !remove.includes(k)).map((x) => x.ifName);
          for (const [i, n] of ifNames.entries())
            if (heldIndex[i] === undefined) expect(stays).not.toContain(n);
          expect(remove.length + kept.length).toBe(h.length - 1);
        },
      ),
    );
  });
});
