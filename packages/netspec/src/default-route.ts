// Default-route ownership (multi-net-spec 4.1.2.1.9) as data the daemon applies in the pod's netns: when one
// attachment asks for `default-route`, every attachment's default routes go (both families, on the cluster
// network too) and the owner gets the requested gateways. More than one gateway per family is refused, as
// upstream refuses ECMP. Also the matching edits of a cached 1.1.0 result.
import { CniError, type Result100 } from '@multus-ts/cni';
import { NETSPEC_ERRORS } from './catalogue.ts';
import { formatIp, type IpFamily, isDefaultDestination, parseCidr, parseIp } from './ip.ts';

export interface DefaultRouteRequest {
  network: string;
  ifName: string;
  /** The selection element's `default-route` (present only when it asked). */
  defaultRoute?: readonly string[] | undefined;
}

export interface DefaultRouteAction {
  network: string;
  ifName: string;
  /** Delete the default routes of these families on this interface before adding anything. */
  deleteFamilies: IpFamily[];
  /** Gateways to add default routes through (canonical form), on the owner only. */
  addGateways: { family: IpFamily; gateway: string }[];
}

/**
 * The actions for a pod's attachments, in attachment order; [] when no attachment asked for default-route (the
 * plugins' own routes then stand). Apply them only to attachments whose result reports interfaces or IPs.
 */
export function planDefaultRoutes(attachments: readonly DefaultRouteRequest[]): DefaultRouteAction[] {
  const owners = attachments.filter((a) => a.defaultRoute !== undefined);
  if (owners.length === 0) return [];
  if (owners.length > 1) {
    throw CniError.of(NETSPEC_ERRORS, 'ERR_DEFAULT_ROUTE_TWICE', {
      first: owners[0]!.network,
      second: owners[1]!.network,
    });
  }
  const owner = owners[0]!;
  const gateways: { family: IpFamily; gateway: string }[] = [];
  const perFamily = { 4: 0, 6: 0 };
  for (const gw of owner.defaultRoute ?? []) {
    const ip = parseIp(gw);
    if (!ip) throw CniError.of(NETSPEC_ERRORS, 'ERR_DEFAULT_ROUTE_ECMP', {}, `"${gw}" is not an IP address`);
    perFamily[ip.family]++;
    gateways.push({ family: ip.family, gateway: formatIp(ip) });
  }
  if (perFamily[4] > 1 || perFamily[6] > 1) {
    throw CniError.of(NETSPEC_ERRORS, 'ERR_DEFAULT_ROUTE_ECMP', {}, `network ${owner.network}`);
  }
  return attachments.map((a) => ({
    network: a.network,
    ifName: a.ifName,
    deleteFamilies: [4, 6],
    addGateways: a === owner ? gateways : [],
  }));
}

function familyOfDst(dst: string): IpFamily | undefined {
  return parseCidr(dst)?.ip.family;
}

/**
 * A copy of `result` without default routes of the given families (any spelling: `0.0.0.0/0`, `::/0`, `::0/0`).
 * Routes that are not default routes are kept untouched.
 */
export function withoutDefaultRoutes(result: Result100, families: readonly IpFamily[]): Result100 {
  const routes = (result.routes ?? []).filter((r) => {
    if (!isDefaultDestination(r.dst)) return true;
    const f = familyOfDst(r.dst);
    return f === undefined || !families.includes(f);
  });
  const { routes: _old, ...rest } = structuredClone(result);
  return routes.length > 0 ? { ...rest, routes: structuredClone(routes) } : rest;
}

/** A copy of `result` with a default route through each gateway appended. */
export function withDefaultGateways(
  result: Result100,
  gateways: readonly { family: IpFamily; gateway: string }[],
): Result100 {
  if (gateways.length === 0) return structuredClone(result);
  const copy = structuredClone(result);
  const added = gateways.map((g) => ({ dst: g.family === 4 ? '0.0.0.0/0' : '::/0', gw: g.gateway }));
  return { ...copy, routes: [...(copy.routes ?? []), ...added] };
}
