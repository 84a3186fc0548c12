// Non-auto mode (multus-thick.md §2.7): `multusConfigFile` names a ready-made multus config that is copied once
// into cniConfigDir under its own base name. Upstream copies with os.Create (non-atomic, umask mode) and only logs a
// failure; we copy atomically with the source's mode and let the caller decide what a failure means.
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { CniError, writeFileAtomic } from '@multus-ts/cni';
import { DAEMON_CONFIG_ERRORS } from '../config/catalogue.ts';
import type { DaemonConfig } from '../config/views.ts';
import { goJoin } from './select.ts';

/** Copies the user-provided config into cniConfigDir; returns the destination path. Auto mode: a no-op (undefined). */
export async function installUserProvidedConfig(config: DaemonConfig): Promise<string | undefined> {
  const { multusConfigFile, cniConfigDir } = config.multus;
  if (multusConfigFile === 'auto') return undefined;
  const dest = goJoin(cniConfigDir, basename(multusConfigFile));
  try {
    const [bytes, st] = await Promise.all([readFile(multusConfigFile), stat(multusConfigFile)]);
    if (goJoin('', multusConfigFile) !== dest) await writeFileAtomic(dest, bytes, { mode: st.mode & 0o777 });
    return dest;
  } catch (err) {
    throw CniError.of(DAEMON_CONFIG_ERRORS, 'ERR_CONFGEN_WRITE', { reason: (err as Error).message });
  }
}
