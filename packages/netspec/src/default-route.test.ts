import type { CniError, Result100 } from '@multus-ts/cni';
import { describe, expect, it } from 'vitest';
import { planDefaultRoutes, withDefaultGateways, withoutDefaultRoutes } from './default-route.ts';

const master = { network: 'k8s-pod-network', ifName: 'eth0' };

function fails(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    return e as CniError;
  }
  throw new Error('expected a failure');
}

describe('4.1.2.1.9 default-route ownership', () => {
  it('4.1.2.1.9 without a request nothing changes (plugins keep their routes)', () => {
    expect(planDefaultRoutes([master, { network: 'default/a', ifName: 'net1' }])).toEqual([]);
  });
  it('4.1.2.1.9 a secondary network asking for it clears the default route from the cluster network and owns it', () => {
    const actions = planDefaultRoutes([
      master,
      { network: 'default/a', ifName: 'net1', defaultRoute: ['10.1.1.254'] },
    ]);
    expect(actions).toEqual([
      { network: 'k8s-pod-network', ifName: 'eth0', deleteFamilies: [4, 6], addGateways: [] },
      {
        network: 'default/a',
        ifName: 'net1',
        deleteFamilies: [4, 6],
        addGateways: [{ family: 4, gateway: '10.1.1.254' }],
      },
    ]);
  });
  it('4.1.2.1.9 one gateway per family is allowed; gateways come out canonical', () => {
    const [, owner] = planDefaultRoutes([
      master,
      { network: 'n', ifName: 'net1', defaultRoute: ['10.0.0.1', '2001:DB8::0:1'] },
    ]);
    expect(owner?.addGateways).toEqual([
      { family: 4, gateway: '10.0.0.1' },
      { family: 6, gateway: '2001:db8::1' },
    ]);
  });
  it('4.1.2.1.9 an empty list removes every default route and adds none', () => {
    const actions = planDefaultRoutes([master, { network: 'n', ifName: 'net1', defaultRoute: [] }]);
    expect(actions.every((a) => a.deleteFamilies.length === 2 && a.addGateways.length === 0)).toBe(true);
  });
  it('4.1.2.1.9 refuses ECMP (two gateways of one family) as upstream does', () => {
    const e = fails(() =>
      planDefaultRoutes([master, { network: 'n', ifName: 'net1', defaultRoute: ['10.0.0.1', '10.0.0.2'] }]),
    );
    expect(e.id).toBe('ERR_DEFAULT_ROUTE_ECMP');
    expect(e.msg).toBe('multus does not support ECMP for default-route');
    expect(e.code).toBe(7);
  });
  it('4.1.2.1.9 only one attachment may ask (the default-network element counts too)', () => {
    const e = fails(() =>
      planDefaultRoutes([
        { ...master, defaultRoute: [] },
        { network: 'n', ifName: 'net1', defaultRoute: ['10.0.0.1'] },
      ]),
    );
    expect(e.id).toBe('ERR_DEFAULT_ROUTE_TWICE');
    expect(e.msg).toContain('k8s-pod-network');
  });
});

describe('cached result edits', () => {
  const result: Result100 = {
    cniVersion: '1.1.0',
    routes: [
      { dst: '0.0.0.0/0', gw: '10.0.0.1' },
      { dst: '::/0', gw: 'fd00::1' },
      { dst: '::0/0', gw: 'fd00::2' },
      { dst: '10.96.0.0/12', gw: '10.0.0.1' },
    ],
  };
  it('removes default routes of the given families in any spelling (upstream missed "::/0")', () => {
    expect(withoutDefaultRoutes(result, [6]).routes).toEqual([
      { dst: '0.0.0.0/0', gw: '10.0.0.1' },
      { dst: '10.96.0.0/12', gw: '10.0.0.1' },
    ]);
    expect(withoutDefaultRoutes(result, [4, 6]).routes).toEqual([{ dst: '10.96.0.0/12', gw: '10.0.0.1' }]);
    expect(withoutDefaultRoutes({ cniVersion: '1.1.0', routes: [{ dst: '0.0.0.0/0' }] }, [4])).toEqual({
      cniVersion: '1.1.0',
    });
  });
  it('appends a default route per gateway and leaves the input untouched', () => {
    const out = withDefaultGateways({ cniVersion: '1.1.0' }, [
      { family: 4, gateway: '10.1.1.254' },
      { family: 6, gateway: 'fd00::fe' },
    ]);
    expect(out.routes).toEqual([
      { dst: '0.0.0.0/0', gw: '10.1.1.254' },
      { dst: '::/0', gw: 'fd00::fe' },
    ]);
    expect(withDefaultGateways(result, []).routes).toHaveLength(4);
    expect(result.routes).toHaveLength(4);
  });
});
