// Which of a running pod's attachments each element of its networks annotation is, and which interface name a new
// element gets. Pure: the reconciler feeds it what the delegate cache holds and what the annotation asks for.
//
// Identity is network + interface (multi-net-spec 4.2.1). An element that names its interface is the held
// attachment with that network and interface. An element that names none is a held attachment of that network
// whose name was generated (no `ifnameRequest`), first come first served, so removing an earlier network never
// renames a later one. A new element without a name gets the lowest `net<N>` (N >= 1) that no attachment keeps,
// no element asks for, and the pod's fixed attachments (cluster network, defaultNetworks) do not use.
//
// The reconciler only ever removes attachments it may own: not the cluster network, not the fixed ones, and only
// NAD attachments (`namespace/name`: all an annotation can select). Attachments named by a bare config name (file
// networks, and what external controllers add through /delegate) are left alone.

export interface HeldAttachment {
  /** Status name: `namespace/nad` for NAD attachments. */
  name: string;
  ifName: string;
  master: boolean;
  /** The interface the selection element named, when it named one. */
  ifnameRequest?: string | undefined;
}

export interface WantedElement {
  /** `namespace/nad`. */
  network: string;
  /** The element's own `interface`, if any. */
  interface?: string | undefined;
}

export interface NamePlan {
  /** Per wanted element: the interface name it has or gets. */
  ifNames: string[];
  /** Per wanted element: the index of the held attachment it is; undefined for a new attachment. */
  heldIndex: (number | undefined)[];
  /** Indexes of held attachments the annotation no longer selects, ascending. */
  remove: number[];
}

export type NameOutcome = { ok: true; plan: NamePlan } | { ok: false; reason: string };

export function attachmentKey(network: string, ifName: string): string {
  return `${network}\u0000${ifName}`;
}

/** Whether the annotation governs this held attachment (so hot-plug may remove it). */
export function annotationOwned(h: HeldAttachment, fixedKeys: ReadonlySet<string>): boolean {
  return !h.master && h.name.includes('/') && !fixedKeys.has(attachmentKey(h.name, h.ifName));
}

/**
 * `fixedKeys`: network + interface of the pod's fixed attachments as planned now; `reservedNames`: every interface
 * name those fixed attachments use (held or not), which a generated name must avoid.
 */
export function planInterfaceNames(
  held: readonly HeldAttachment[],
  fixedKeys: ReadonlySet<string>,
  reservedNames: ReadonlySet<string>,
  wanted: readonly WantedElement[],
): NameOutcome {
  const owned = held.map((h) => annotationOwned(h, fixedKeys));
  const taken = new Set<number>();
  const heldIndex: (number | undefined)[] = wanted.map(() => undefined);

  // Named elements first, so an unnamed one cannot take the attachment a named one is.
  for (const [i, w] of wanted.entries()) {
    if (w.interface === undefined) continue;
    const j = held.findIndex(
      (h, k) => owned[k] && !taken.has(k) && h.name === w.network && h.ifName === w.interface,
    );
    if (j !== -1) {
      taken.add(j);
      heldIndex[i] = j;
    }
  }
  for (const [i, w] of wanted.entries()) {
    if (w.interface !== undefined) continue;
    const j = held.findIndex(
      (h, k) => owned[k] && !taken.has(k) && h.name === w.network && h.ifnameRequest === undefined,
    );
    if (j !== -1) {
      taken.add(j);
      heldIndex[i] = j;
    }
  }

  const remove = held.map((_, k) => k).filter((k) => owned[k] && !taken.has(k));
  const removing = new Set(remove);
  const staying = new Map<string, string>();
  for (const [k, h] of held.entries()) if (!removing.has(k)) staying.set(h.ifName, h.name);

  const asked = new Set<string>();
  for (const [i, w] of wanted.entries()) {
    if (w.interface === undefined) continue;
    if (asked.has(w.interface)) return { ok: false, reason: `interface "${w.interface}" is asked for twice` };
    asked.add(w.interface);
    const user = heldIndex[i] === undefined ? staying.get(w.interface) : undefined;
    if (user !== undefined) {
      return { ok: false, reason: `interface "${w.interface}" is already used by ${user}` };
    }
  }

  const used = new Set<string>([...staying.keys(), ...asked, ...reservedNames]);
  const ifNames = wanted.map((w, i) => {
    const j = heldIndex[i];
    if (j !== undefined) return held[j]!.ifName;
    if (w.interface !== undefined) return w.interface;
    let n = 1;
    while (used.has(`net${n}`)) n++;
    used.add(`net${n}`);
    return `net${n}`;
  });
  return { ok: true, plan: { ifNames, heldIndex, remove } };
}
