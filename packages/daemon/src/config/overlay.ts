// The server-config overlay (multus-thick.md §2.4): every top-level key of daemon-config.json replaces the client
// config's value, shallowly, before a request is parsed. Upstream re-marshals the result, which sorts the keys;
// we keep the client's key order (daemon-only keys appended in file order) so delegates see stable, readable JSON.

export interface OverlayOptions {
  /** Auto mode: drop the client's `readinessindicatorfile` and do not inject the daemon's (upstream HEAD). */
  readonly ignoreReadinessIndicator: boolean;
}

const READINESS_KEY = 'readinessindicatorfile';

/** Own-property set that is safe for "__proto__" and friends (plain assignment would change the prototype). */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Returns a new object; neither input is modified. Daemon values are deep-copied so a consumer that edits the
 * merged config (runtimeConfig, args, ...) cannot reach back into the daemon's config.
 */
export function overlayDaemonConfig(
  client: Readonly<Record<string, unknown>>,
  daemonRaw: Readonly<Record<string, unknown>> | undefined,
  opts: OverlayOptions,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(client)) {
    if (opts.ignoreReadinessIndicator && key === READINESS_KEY) continue;
    define(out, key, client[key]);
  }
  if (!daemonRaw) return out;
  for (const key of Object.keys(daemonRaw)) {
    if (opts.ignoreReadinessIndicator && key === READINESS_KEY) continue;
    define(out, key, structuredClone(daemonRaw[key]));
  }
  return out;
}
