// Discovery documents (/api, /apis, /api/v1, /apis/<group>[/<version>]) and /version, shaped like the legacy
// (non-aggregated) discovery a 1.2x kube-apiserver serves.
import { createHash } from 'node:crypto';
import { apiVersionOf, RESOURCES, type ResourceDef } from './resources.ts';

export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
  gitCommit: string;
  gitTreeState: string;
  buildDate: string;
  goVersion: string;
  compiler: string;
  platform: string;
}

export const DEFAULT_VERSION: VersionInfo = {
  major: '1',
  minor: '20',
  gitVersion: 'v1.20.2-emulator',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2021-01-13T13:20:00Z',
  goVersion: 'go1.19',
  compiler: 'gc',
  platform: 'linux/amd64',
};

const groups = (): string[] => [...new Set(RESOURCES.filter((d) => d.group).map((d) => d.group))].sort();

function groupEntry(group: string) {
  const version = RESOURCES.find((d) => d.group === group)?.version ?? 'v1';
  const gv = { groupVersion: `${group}/${version}`, version };
  return { name: group, versions: [gv], preferredVersion: gv };
}

export function apiVersions(serverAddress: string) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function apiGroupList() {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups().map(groupEntry) };
}

export function apiGroup(group: string) {
  return groups().includes(group) ? { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(group) } : undefined;
}

function storageVersionHash(d: ResourceDef): string {
  return createHash('sha256')
    .update(`${d.group}/${d.version}/${d.kind}`)
    .digest()
    .subarray(0, 8)
    .toString('base64');
}

function resourceEntries(d: ResourceDef) {
  const main: Record<string, unknown> = {
    name: d.plural,
    singularName: d.singular,
    namespaced: d.namespaced,
    kind: d.kind,
    verbs: d.verbs,
  };
  if (d.shortNames.length > 0) main.shortNames = d.shortNames;
  if (d.plural === 'pods' || !d.builtin) main.categories = d.builtin ? ['all'] : undefined;
  if (main.categories === undefined) delete main.categories;
  main.storageVersionHash = storageVersionHash(d);
  const subs = d.subresources.map((s) => ({
    name: `${d.plural}/${s}`,
    singularName: '',
    namespaced: d.namespaced,
    ...(s === 'binding'
      ? { kind: 'Binding', verbs: ['create'] }
      : { kind: d.kind, verbs: ['get', 'patch', 'update'] }),
  }));
  return [main, ...subs];
}

/** The APIResourceList of a group version, or undefined when the emulator does not serve it. */
export function apiResourceList(group: string, version: string) {
  const defs = RESOURCES.filter((d) => d.group === group && d.version === version);
  if (defs.length === 0) return undefined;
  const gv = apiVersionOf(defs[0] as ResourceDef);
  const resources = defs.flatMap(resourceEntries);
  // The core group's list has no apiVersion; named groups' lists do.
  return group
    ? { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources }
    : { kind: 'APIResourceList', groupVersion: gv, resources };
}

/**
 * The root paths this server serves, sorted: the body of the 404 an authenticated client gets for a path that is
 * neither an API nor a health/version endpoint (kube-apiserver answers its NotFound with such an index too; its
 * list names the aggregated servers' paths, so the entries differ).
 */
export function rootPaths(): string[] {
  const apis = groups().flatMap((g) => [
    `/apis/${g}`,
    `/apis/${groupEntry(g).preferredVersion.groupVersion}`,
  ]);
  return ['/api', '/api/v1', '/apis', '/apis/', ...apis, '/healthz', '/livez', '/readyz', '/version'].sort();
}
