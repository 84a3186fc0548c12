// zod schemas for CNI results of every spec version. Key order in each schema is the order Go's libcni marshals
// the fields in, so a parsed result serialises the way other runtimes print it. Unknown keys are dropped (libcni
// drops them too when it decodes a result into its types); every field the spec defines is kept.
import { isIP } from 'node:net';
import { z } from 'zod';

/** 4 or 6 for a plain IP address, 0 otherwise. Zone suffixes (`%eth0`) are refused, as Go's parser does. */
export function ipFamily(s: string): 0 | 4 | 6 {
  if (s.includes('%')) return 0;
  const f = isIP(s);
  return f === 4 || f === 6 ? f : 0;
}

/**
 * The family of an `ip/prefix` string, 0 when it is not one. An IPv4-mapped IPv6 address counts as IPv4, which
 * is how Go classifies it (and so how libcni fills `version` for it).
 */
export function cidrFamily(s: string): 0 | 4 | 6 {
  const slash = s.lastIndexOf('/');
  if (slash < 0) return 0;
  const ip = s.slice(0, slash);
  const prefix = s.slice(slash + 1);
  const family = ipFamily(ip);
  if (family === 0 || !/^\d{1,3}$/.test(prefix)) return 0;
  if (Number(prefix) > (family === 4 ? 32 : 128)) return 0;
  if (family === 6 && /^::ffff:\d{1,3}(\.\d{1,3}){3}$/i.test(ip)) return 4;
  return family;
}

const Ip = z.string().refine((s) => ipFamily(s) !== 0, { message: 'expected an IP address' });
const Cidr = z.string().refine((s) => cidrFamily(s) !== 0, { message: 'expected an address in CIDR form' });
const Int = z.number().int();

export const DnsSchema = z.object({
  nameservers: z.array(z.string()).optional(),
  domain: z.string().optional(),
  search: z.array(z.string()).optional(),
  options: z.array(z.string()).optional(),
});
export type Dns = z.infer<typeof DnsSchema>;

/** Routes up to 1.0.0. */
export const RouteSchema = z.object({ dst: Cidr, gw: Ip.optional() });
export type Route = z.infer<typeof RouteSchema>;

/** 1.1.0 adds per-route MTU, advertised MSS, metric, table and scope. */
export const Route11Schema = z.object({
  dst: Cidr,
  gw: Ip.optional(),
  mtu: Int.optional(),
  advmss: Int.optional(),
  priority: Int.optional(),
  table: Int.optional(),
  scope: Int.optional(),
});
export type Route11 = z.infer<typeof Route11Schema>;

// ---- 0.1.0 / 0.2.0 ----
export const LegacyIpConfigSchema = z.object({
  ip: Cidr,
  gateway: Ip.optional(),
  routes: z.array(RouteSchema).optional(),
});
export type LegacyIpConfig = z.infer<typeof LegacyIpConfigSchema>;

export const Result020Schema = z.object({
  cniVersion: z.enum(['0.1.0', '0.2.0']),
  ip4: LegacyIpConfigSchema.optional(),
  ip6: LegacyIpConfigSchema.optional(),
  dns: DnsSchema.optional(),
});
export type Result020 = z.infer<typeof Result020Schema>;

// ---- 0.3.0 / 0.3.1 / 0.4.0 ----
export const InterfaceSchema = z.object({
  name: z.string(),
  mac: z.string().optional(),
  sandbox: z.string().optional(),
});
export type Interface = z.infer<typeof InterfaceSchema>;

/**
 * `version` is required by the spec but Go plugins have been seen to leave it out; when absent it is filled from
 * the address so the typed result always carries it.
 */
export const IpConfig040Schema = z
  .object({
    version: z.enum(['4', '6']).optional(),
    // Go decodes this as *int: a negative index (no interface) must not make a whole result unreadable.
    interface: Int.optional(),
    address: Cidr,
    gateway: Ip.optional(),
  })
  .transform((ip) => ({
    version: ip.version ?? (cidrFamily(ip.address) === 4 ? ('4' as const) : ('6' as const)),
    ...(ip.interface === undefined ? {} : { interface: ip.interface }),
    address: ip.address,
    ...(ip.gateway === undefined ? {} : { gateway: ip.gateway }),
  }));
export type IpConfig040 = z.output<typeof IpConfig040Schema>;

export const Result040Schema = z.object({
  cniVersion: z.enum(['0.3.0', '0.3.1', '0.4.0']),
  interfaces: z.array(InterfaceSchema).optional(),
  ips: z.array(IpConfig040Schema).optional(),
  routes: z.array(RouteSchema).optional(),
  dns: DnsSchema.optional(),
});
export type Result040 = z.output<typeof Result040Schema>;

// ---- 1.0.0 / 1.1.0 ----
/** 1.1.0 adds `mtu`, `socketPath` and `pciID` to interfaces. */
export const Interface11Schema = z.object({
  name: z.string(),
  mac: z.string().optional(),
  mtu: Int.optional(),
  sandbox: z.string().optional(),
  socketPath: z.string().optional(),
  pciID: z.string().optional(),
});
export type Interface11 = z.infer<typeof Interface11Schema>;

export const IpConfig100Schema = z.object({
  // Go decodes this as *int: a negative index (no interface) must not make a whole result unreadable.
  interface: Int.optional(),
  address: Cidr,
  gateway: Ip.optional(),
});
export type IpConfig100 = z.infer<typeof IpConfig100Schema>;

/**
 * One schema for 1.0.0 and 1.1.0, as libcni has one type for both: a 1.0.0 result that already carries 1.1.0
 * fields keeps them when parsed (nothing a plugin reported is lost on the way up). Converting TO 1.0.0 drops them.
 */
export const Result100Schema = z.object({
  cniVersion: z.enum(['1.0.0', '1.1.0']),
  interfaces: z.array(Interface11Schema).optional(),
  ips: z.array(IpConfig100Schema).optional(),
  routes: z.array(Route11Schema).optional(),
  dns: DnsSchema.optional(),
});
export type Result100 = z.infer<typeof Result100Schema>;

/** What a plugin prints on failure. Extra keys are tolerated on input. */
export const ErrorResultSchema = z.looseObject({
  cniVersion: z.string().optional(),
  code: z.number().int().nonnegative(),
  msg: z.string(),
  details: z.string().optional(),
});
export type ErrorResult = z.infer<typeof ErrorResultSchema>;
