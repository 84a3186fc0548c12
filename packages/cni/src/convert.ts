// Conversion of results between spec versions, in every direction libcni allows:
// 0.1.0/0.2.0 <-> 0.3.0/0.3.1/0.4.0 <-> 1.0.0/1.1.0. Everything goes through the 1.1.0 shape, which can hold
// all the others.
//
// Loss is deliberate and limited to what the target version cannot express:
// - to 0.1.0/0.2.0: interfaces and `ips[].interface` go; only the FIRST IPv4 and the FIRST IPv6 address survive
//   (as ip4/ip6), further addresses are dropped (libcni does the same); each route goes to ip4 or ip6 by the
//   family of its `dst`, and routes of a family with no address are dropped.
// - to 0.3.x/0.4.0/1.0.0: the 1.1.0-only interface fields (mtu, socketPath, pciID) and route fields
//   (mtu, advmss, priority, table, scope) go.
// - from 0.1.0/0.2.0: ips are built without `interface` (there were no interfaces); ip4 routes come before ip6.
// - to 0.3.x/0.4.0: `ips[].version` is derived from each address.
// Empty arrays are left out of converted results (Go marshals them with omitempty). Converting to the version a
// result already has returns an unchanged copy.
import { CNI_ERRORS } from './catalogue.ts';
import { CniError } from './errors.ts';
import {
  type CniResult,
  is1xVersion,
  is04xVersion,
  isLegacyVersion,
  type ResultFor,
  type Version1x,
  type Version04x,
} from './result.ts';
import {
  cidrFamily,
  type Interface11,
  type IpConfig100,
  type LegacyIpConfig,
  type Result020,
  type Result040,
  type Result100,
  type Route,
  type Route11,
} from './result-schemas.ts';
import { type CniVersion, isSupportedVersion } from './version.ts';

function nonEmpty<K extends string, T>(key: K, list: T[] | undefined): { [P in K]?: T[] } {
  return (list && list.length > 0 ? { [key]: list } : {}) as { [P in K]?: T[] };
}

function withDns(r: CniResult) {
  return r.dns === undefined ? {} : { dns: structuredClone(r.dns) };
}

function copyRoute(r: Route): Route {
  return { dst: r.dst, ...(r.gw === undefined ? {} : { gw: r.gw }) };
}

/** Any result -> the 1.1.0 shape. */
function toCanonical(r: CniResult): Result100 {
  if (isLegacyVersion(r.cniVersion)) {
    const legacy = r as Result020;
    const ips: IpConfig100[] = [];
    const routes: Route11[] = [];
    for (const cfg of [legacy.ip4, legacy.ip6]) {
      if (!cfg) continue;
      ips.push({ address: cfg.ip, ...(cfg.gateway === undefined ? {} : { gateway: cfg.gateway }) });
      for (const route of cfg.routes ?? []) routes.push(copyRoute(route));
    }
    return { cniVersion: '1.1.0', ...nonEmpty('ips', ips), ...nonEmpty('routes', routes), ...withDns(r) };
  }
  if (is04xVersion(r.cniVersion)) {
    const old = r as Result040;
    return {
      cniVersion: '1.1.0',
      ...nonEmpty(
        'interfaces',
        old.interfaces?.map((i) => ({ ...i })),
      ),
      ...nonEmpty(
        'ips',
        old.ips?.map(({ version: _version, ...rest }) => rest),
      ),
      ...nonEmpty('routes', old.routes?.map(copyRoute)),
      ...withDns(r),
    };
  }
  return structuredClone(r as Result100);
}

function to1x(c: Result100, v: Version1x): Result100 {
  if (v === '1.1.0') return { ...c, cniVersion: v };
  const interfaces = c.interfaces?.map(
    ({ mtu: _m, socketPath: _s, pciID: _p, ...keep }): Interface11 => keep,
  );
  const routes = c.routes?.map(copyRoute);
  return {
    cniVersion: v,
    ...nonEmpty('interfaces', interfaces),
    ...nonEmpty('ips', c.ips),
    ...nonEmpty('routes', routes),
    ...withDns(c),
  };
}

function to04x(c: Result100, v: Version04x): Result040 {
  const interfaces = c.interfaces?.map((i) => ({
    name: i.name,
    ...(i.mac === undefined ? {} : { mac: i.mac }),
    ...(i.sandbox === undefined ? {} : { sandbox: i.sandbox }),
  }));
  const ips = c.ips?.map((ip) => ({
    version: cidrFamily(ip.address) === 4 ? ('4' as const) : ('6' as const),
    ...ip,
  }));
  return {
    cniVersion: v,
    ...nonEmpty('interfaces', interfaces),
    ...nonEmpty('ips', ips),
    ...nonEmpty('routes', c.routes?.map(copyRoute)),
    ...withDns(c),
  };
}

function toLegacy(c: Result100, v: '0.1.0' | '0.2.0'): Result020 {
  let ip4: LegacyIpConfig | undefined;
  let ip6: LegacyIpConfig | undefined;
  for (const ip of c.ips ?? []) {
    const cfg = { ip: ip.address, ...(ip.gateway === undefined ? {} : { gateway: ip.gateway }) };
    if (cidrFamily(ip.address) === 4) ip4 ??= cfg;
    else ip6 ??= cfg;
  }
  for (const route of c.routes ?? []) {
    const target = cidrFamily(route.dst) === 4 ? ip4 : ip6;
    if (!target) continue;
    target.routes ??= [];
    target.routes.push(copyRoute(route));
  }
  return {
    cniVersion: v,
    ...(ip4 ? { ip4 } : {}),
    ...(ip6 ? { ip6 } : {}),
    ...withDns(c),
  };
}

/** Converts a result to `toVersion`. Code 1 if either version is not one we support. */
export function convertResult<V extends CniVersion>(result: CniResult, toVersion: V): ResultFor<V> {
  const from: string = result.cniVersion;
  if (!isSupportedVersion(from) || !isSupportedVersion(toVersion)) {
    throw CniError.of(CNI_ERRORS, 'ERR_RESULT_CONVERT', { from, to: String(toVersion) });
  }
  if (from === toVersion) return structuredClone(result) as ResultFor<V>;
  // Within one family the shape is identical, only the version string changes (1.1.0 -> 1.0.0 is handled below).
  if (isLegacyVersion(from) && isLegacyVersion(toVersion)) {
    return { ...structuredClone(result), cniVersion: toVersion } as ResultFor<V>;
  }
  if (is04xVersion(from) && is04xVersion(toVersion)) {
    return { ...structuredClone(result), cniVersion: toVersion } as ResultFor<V>;
  }
  const canonical = toCanonical(result);
  const v: CniVersion = toVersion;
  if (is1xVersion(v)) return to1x(canonical, v) as ResultFor<V>;
  if (is04xVersion(v)) return to04x(canonical, v) as ResultFor<V>;
  return toLegacy(canonical, v) as ResultFor<V>;
}
