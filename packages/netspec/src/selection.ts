// The network selection annotation `k8s.v1.cni.cncf.io/networks` (multi-net-spec 4.1) and the pod's default
// network override `v1.multus-cni.io/default-network` (same grammar, one element). Both forms are parsed into
// validated NetworkSelection values; any invalid element invalidates the whole annotation. The parsers return a
// result value and never throw.
import { CniError } from '@multus-ts/cni';
import { NETSPEC_ERRORS } from './catalogue.ts';
import { checkCommaIdentity, checkElement, type NetworkSelection } from './selection-element.ts';

export type { Bandwidth, NetworkSelection, PortMapping } from './selection-element.ts';

export const NETWORKS_ANNOTATION = 'k8s.v1.cni.cncf.io/networks';
export const DEFAULT_NETWORK_ANNOTATION = 'v1.multus-cni.io/default-network';

/** Kubernetes caps all of a pod's annotations together at 256 KiB; one annotation cannot legitimately be larger. */
export const MAX_SELECTION_BYTES = 256 * 1024;
/** Far beyond any real pod (each element is a plugin run and an interface), small enough to bound the work. */
export const MAX_SELECTION_ELEMENTS = 128;

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: CniError };

export interface SelectionOptions {
  /** Namespace for elements that name none: the pod's for `networks`, multusNamespace for `default-network`. */
  defaultNamespace: string;
  /** Annotation key used in messages. */
  annotation?: string;
  maxBytes?: number;
  maxElements?: number;
}

function err(id: keyof typeof NETSPEC_ERRORS, params: Record<string, string | number>, details?: string) {
  return { ok: false as const, error: CniError.of(NETSPEC_ERRORS, id, params, details) };
}

/** Upstream's rule for choosing the JSON form: any bracket, brace or quote anywhere in the value. */
function looksLikeJson(s: string): boolean {
  return /[[{"]/.test(s);
}

function parseCommaForm(text: string, opts: Required<SelectionOptions>): Parsed<NetworkSelection[]> {
  const items = text.split(',');
  if (items.length > opts.maxElements) {
    return err('ERR_SELECTION_TOO_MANY', {
      annotation: opts.annotation,
      count: items.length,
      max: opts.maxElements,
    });
  }
  const out: NetworkSelection[] = [];
  for (const [index, rawItem] of items.entries()) {
    const item = rawItem.trim();
    const bad = (reason: string) =>
      err('ERR_SELECTION_ELEMENT', { annotation: opts.annotation, index, reason: `"${item}": ${reason}` });
    if (item === '') return bad('empty network name');
    const slash = item.split('/');
    if (slash.length > 2) return bad("more than one '/'");
    const at = (slash.length === 2 ? slash[1]! : slash[0]!).split('@');
    if (at.length > 2) return bad("more than one '@'");
    const namespace = slash.length === 2 ? slash[0]!.trim() || opts.defaultNamespace : opts.defaultNamespace;
    const name = at[0]!.trim();
    if (name === '') return bad('empty network name');
    const ifname = at.length === 2 ? at[1]!.trim() || undefined : undefined;
    const problem = checkCommaIdentity(name, namespace, ifname);
    if (problem) return bad(problem);
    out.push(ifname === undefined ? { name, namespace } : { name, namespace, interface: ifname });
  }
  return { ok: true, value: out };
}

function parseJsonForm(text: string, opts: Required<SelectionOptions>): Parsed<NetworkSelection[]> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return err('ERR_SELECTION_NOT_JSON', { annotation: opts.annotation }, (e as Error).message);
  }
  if (!Array.isArray(doc)) return err('ERR_SELECTION_NOT_LIST', { annotation: opts.annotation });
  if (doc.length > opts.maxElements) {
    return err('ERR_SELECTION_TOO_MANY', {
      annotation: opts.annotation,
      count: doc.length,
      max: opts.maxElements,
    });
  }
  const out: NetworkSelection[] = [];
  for (const [index, raw] of doc.entries()) {
    const r = checkElement(raw, opts.defaultNamespace);
    if (!r.ok) return err('ERR_SELECTION_ELEMENT', { annotation: opts.annotation, index, reason: r.reason });
    out.push(r.value);
  }
  return { ok: true, value: out };
}

/** Cross-element rules: 4.1.2.1.5 (a repeated interface name fails) and 4.1.2.1.9 (one default-route). */
function crossCheck(list: readonly NetworkSelection[], annotation: string): CniError | undefined {
  const ifnames = new Map<string, number>();
  let routeOwner: number | undefined;
  for (const [index, sel] of list.entries()) {
    if (sel.interface !== undefined) {
      const first = ifnames.get(sel.interface);
      if (first !== undefined) {
        return CniError.of(NETSPEC_ERRORS, 'ERR_SELECTION_DUPLICATE_IFNAME', {
          annotation,
          index,
          ifname: sel.interface,
          first,
        });
      }
      ifnames.set(sel.interface, index);
    }
    if (sel.defaultRoute !== undefined) {
      if (routeOwner !== undefined) {
        return CniError.of(NETSPEC_ERRORS, 'ERR_SELECTION_DEFAULT_ROUTE_TWICE', {
          annotation,
          index,
          first: routeOwner,
        });
      }
      routeOwner = index;
    }
  }
  return undefined;
}

function withDefaults(opts: SelectionOptions): Required<SelectionOptions> {
  return {
    defaultNamespace: opts.defaultNamespace,
    annotation: opts.annotation ?? NETWORKS_ANNOTATION,
    maxBytes: opts.maxBytes ?? MAX_SELECTION_BYTES,
    maxElements: opts.maxElements ?? MAX_SELECTION_ELEMENTS,
  };
}

/**
 * Parses a selection annotation value (comma or JSON form). A missing, empty or blank value selects nothing.
 * Returns `{ok:false, error}` with a CniError from NETSPEC_ERRORS for any invalid input; never throws.
 */
export function parseNetworkSelection(
  value: string | undefined,
  options: SelectionOptions,
): Parsed<NetworkSelection[]> {
  try {
    const opts = withDefaults(options);
    if (value === undefined) return { ok: true, value: [] };
    if (typeof value !== 'string') return err('ERR_SELECTION_NOT_LIST', { annotation: opts.annotation });
    // UTF-8 takes at least one byte per UTF-16 unit: the cheap length test settles most oversized input.
    const size = value.length > opts.maxBytes ? value.length : Buffer.byteLength(value, 'utf8');
    if (size > opts.maxBytes) {
      return err('ERR_SELECTION_TOO_LARGE', { annotation: opts.annotation, size, max: opts.maxBytes });
    }
    const text = value.trim();
    if (text === '') return { ok: true, value: [] };
    const parsed = looksLikeJson(text) ? parseJsonForm(text, opts) : parseCommaForm(text, opts);
    if (!parsed.ok) return parsed;
    const cross = crossCheck(parsed.value, opts.annotation);
    return cross ? { ok: false, error: cross } : parsed;
  } catch (e) {
    // Defensive: a bug above must still come out as this parser's own error type.
    return { ok: false, error: CniError.wrap(e) };
  }
}

/** Parses `v1.multus-cni.io/default-network`: the same grammar, exactly one element. */
export function parseDefaultNetworkSelection(
  value: string | undefined,
  options: SelectionOptions,
): Parsed<NetworkSelection> {
  const annotation = options.annotation ?? DEFAULT_NETWORK_ANNOTATION;
  const r = parseNetworkSelection(value, { ...options, annotation });
  if (!r.ok) return r;
  const [first, ...rest] = r.value;
  if (first === undefined || rest.length > 0) {
    return err('ERR_DEFAULT_NETWORK_COUNT', { annotation, count: r.value.length });
  }
  return { ok: true, value: first };
}

/** Formats elements in the comma form (`ns/name@ifname`); only name, namespace and interface can be expressed. */
export function formatCommaSelection(
  list: readonly Pick<NetworkSelection, 'name' | 'namespace' | 'interface'>[],
): string {
  return list
    .map((s) => `${s.namespace ? `${s.namespace}/` : ''}${s.name}${s.interface ? `@${s.interface}` : ''}`)
    .join(',');
}
