// Choosing the primary (default-network) CNI config in multusAutoconfigDir (multus-thick.md §2.5): names starting
// with "00-multus" are ours and skipped, only ".conf" and ".conflist" count (".json" does not), byte-wise sort,
// first wins; `multusMasterCNI` names the file and bypasses discovery. Pure: the manager does the I/O.
import { posix } from 'node:path';
import { CniError } from '@multus-ts/cni';
import { DAEMON_CONFIG_ERRORS } from '../config/catalogue.ts';
import { MULTUS_CONF_FILE, MULTUS_CONF_PREFIX } from '../config/defaults.ts';
import { compareGoStrings } from './go-json.ts';

/** A directory entry: a bare name, or a Dirent (directories are then skipped; upstream would pick and fail). */
export type DirEntryLike = string | { readonly name: string; isDirectory(): boolean };

export interface SelectOptions {
  /** multusAutoconfigDir. */
  readonly dir: string;
  /** The `multusMasterCNI` file name; bypasses discovery when non-empty. */
  readonly multusMasterCNI?: string;
  /** Full path of the 00-multus.conf we write, to refuse a master that is our own output. */
  readonly outputPath?: string;
}

export interface PrimarySelection {
  readonly fileName: string;
  /** `<dir>/<fileName>`, cleaned as Go's filepath.Join does; this becomes `clusterNetwork`. */
  readonly path: string;
  /** True when named by multusMasterCNI rather than discovered. */
  readonly explicit: boolean;
}

/** Go's filepath.Join for two elements. */
export function goJoin(dir: string, name: string): string {
  if (dir === '' && name === '') return '';
  return posix.join(dir, name);
}

/** Go's filepath.Ext: from the last dot of the last element (so ".conf" alone has extension ".conf"). */
export function goExt(name: string): string {
  for (let i = name.length - 1; i >= 0 && name[i] !== '/'; i--) {
    if (name[i] === '.') return name.slice(i);
  }
  return '';
}

/** Whether discovery would consider this file name. */
export function isPrimaryCandidate(name: string): boolean {
  if (name.startsWith(MULTUS_CONF_PREFIX)) return false;
  const ext = goExt(name);
  return ext === '.conf' || ext === '.conflist';
}

/** The primary config, or undefined when the directory holds none (the caller waits and retries). */
export function selectPrimaryConfig(
  entries: Iterable<DirEntryLike>,
  opts: SelectOptions,
): PrimarySelection | undefined {
  const master = opts.multusMasterCNI ?? '';
  if (master !== '') {
    const path = goJoin(opts.dir, master);
    // Upstream only catches the literal "<dir>/00-multus.conf"; we also refuse anything that is, or looks like, ours.
    if (
      master === `${opts.dir}/${MULTUS_CONF_FILE}` ||
      posix.basename(path).startsWith(MULTUS_CONF_PREFIX) ||
      (opts.outputPath !== undefined && path === posix.normalize(opts.outputPath))
    ) {
      throw CniError.of(DAEMON_CONFIG_ERRORS, 'ERR_CONFGEN_RECURSIVE', { dir: opts.dir });
    }
    return { fileName: master, path, explicit: true };
  }
  const names: string[] = [];
  for (const e of entries) {
    if (typeof e !== 'string' && e.isDirectory()) continue;
    const name = typeof e === 'string' ? e : e.name;
    if (isPrimaryCandidate(name)) names.push(name);
  }
  if (names.length === 0) return undefined;
  names.sort(compareGoStrings);
  const fileName = names[0] as string;
  return { fileName, path: goJoin(opts.dir, fileName), explicit: false };
}
