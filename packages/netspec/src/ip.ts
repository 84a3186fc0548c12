// IP, CIDR and hardware-address parsing without node:net, strict the way Go's net package is (the library the
// rest of the ecosystem validates with): IPv4 without leading zeros, IPv6 without zones, MACs in the three
// notations Go accepts. Formatting follows Go's IP.String() so status values match upstream byte for byte.

export type IpFamily = 4 | 6;

export interface ParsedIp {
  /** 4 for IPv4 and IPv4-mapped IPv6 (Go's To4() != nil), 6 otherwise. */
  family: IpFamily;
  /** 16 bytes, IPv4 stored IPv4-mapped. */
  bytes: Uint8Array;
}

const V4_PART = /^(0|[1-9]\d{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseV4Parts(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!V4_PART.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

function mapped(v4: readonly number[]): Uint8Array {
  const b = new Uint8Array(16);
  b[10] = 0xff;
  b[11] = 0xff;
  b.set(v4, 12);
  return b;
}

function parseV6(s: string): Uint8Array | undefined {
  if (s.length < 2 || s.length > 45) return undefined;
  let tail: number[] = [];
  let text = s;
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) !== -1) {
    const v4 = parseV4Parts(s.slice(lastColon + 1));
    if (!v4) return undefined;
    tail = v4;
    // Drop the separator colon before the dotted quad, but keep a "::" elision intact.
    text = s.slice(0, lastColon + 1);
    text = text.endsWith('::') ? text : text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!HEX_GROUP.test(g)) return undefined;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const head = groupsOf(halves[0] ?? '');
  const rest = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  if (!head || !rest) return undefined;
  const want = tail.length ? 6 : 8;
  const have = head.length + rest.length;
  if (halves.length === 2 ? have >= want : have !== want) return undefined;
  const groups = [...head, ...new Array<number>(want - have).fill(0), ...rest];
  const b = new Uint8Array(16);
  groups.forEach((g, i) => {
    b[i * 2] = g >> 8;
    b[i * 2 + 1] = g & 0xff;
  });
  b.set(tail, 12);
  return b;
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** Parses a bare IPv4 or IPv6 address; undefined when it is not one. */
export function parseIp(s: string): ParsedIp | undefined {
  if (typeof s !== 'string') return undefined;
  if (s.includes(':')) {
    const bytes = parseV6(s);
    if (!bytes) return undefined;
    return { family: isV4Mapped(bytes) ? 4 : 6, bytes };
  }
  const v4 = parseV4Parts(s);
  return v4 ? { family: 4, bytes: mapped(v4) } : undefined;
}

/** Parses `ip/prefix`; the prefix length must fit the written family (32 for dotted quads, 128 for IPv6). */
export function parseCidr(s: string): { ip: ParsedIp; prefix: number } | undefined {
  if (typeof s !== 'string') return undefined;
  const slash = s.indexOf('/');
  if (slash === -1) return undefined;
  const ip = parseIp(s.slice(0, slash));
  const p = s.slice(slash + 1);
  if (!ip || !/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
  const prefix = Number(p);
  const max = s.slice(0, slash).includes(':') ? 128 : 32;
  return prefix <= max ? { ip, prefix } : undefined;
}

/** An IP with an optional `/prefix` (the multi-net-spec `ips` element). */
export function isIpOrCidr(s: string): boolean {
  return s.includes('/') ? parseCidr(s) !== undefined : parseIp(s) !== undefined;
}

/** Go's IP.String(): dotted quad for IPv4 (and IPv4-mapped), RFC 5952 compression for the rest. */
export function formatIp(ip: ParsedIp): string {
  const b = ip.bytes;
  if (isV4Mapped(b)) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[i * 2]! << 8) | b[i * 2 + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number) => g.toString(16);
  if (bestStart === -1) return groups.map(hex).join(':');
  const left = groups.slice(0, bestStart).map(hex).join(':');
  const right = groups
    .slice(bestStart + bestLen)
    .map(hex)
    .join(':');
  return `${left}::${right}`;
}

/** The address part of `ip` or `ip/prefix`, canonicalised; undefined when unparsable. */
export function canonicalAddress(s: string): string | undefined {
  const slash = s.indexOf('/');
  const ip = parseIp(slash === -1 ? s : s.slice(0, slash));
  if (!ip || (slash !== -1 && !parseCidr(s))) return undefined;
  return formatIp(ip);
}

/** Whether a route destination is a default route (prefix length 0, either family). */
export function isDefaultDestination(dst: string): boolean {
  const c = parseCidr(dst);
  return c !== undefined && c.prefix === 0;
}

const COLON_MAC = /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2})+$/;
const DASH_MAC = /^[0-9a-fA-F]{2}(?:-[0-9a-fA-F]{2})+$/;
const DOT_MAC = /^[0-9a-fA-F]{4}(?:\.[0-9a-fA-F]{4})+$/;

/**
 * Hardware address in any of Go's net.ParseMAC notations (`aa:bb:..`, `aa-bb-..`, `aabb.ccdd.eeff`), with exactly
 * `size` bytes (6 for a MAC, 8 for an InfiniBand GUID). Returns the bytes, or undefined.
 */
export function parseHardwareAddr(s: string, size: number): Uint8Array | undefined {
  if (typeof s !== 'string') return undefined;
  let hex: string;
  if (COLON_MAC.test(s) || DASH_MAC.test(s)) hex = s.replace(/[:-]/g, '');
  else if (DOT_MAC.test(s)) hex = s.replace(/\./g, '');
  else return undefined;
  if (hex.length !== size * 2) return undefined;
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
