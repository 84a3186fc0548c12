// One pass of keeping 00-multus.conf current: discover the primary, read it, generate, and replace the file if (and
// only if) its content differs. No state and no timers; the manager decides when to run a pass and what to log.
import { readdir, readFile } from 'node:fs/promises';
import { CniError, writeFileAtomic } from '@multus-ts/cni';
import { DAEMON_CONFIG_ERRORS } from '../config/catalogue.ts';
import type { DaemonConfig } from '../config/views.ts';
import { generateMultusConf } from './generate.ts';
import { forcePrimaryCniVersion, readPrimaryText } from './primary-file.ts';
import { type PrimarySelection, selectPrimaryConfig } from './select.ts';

export type PassOutcome =
  | {
      readonly kind: 'ok';
      readonly selection: PrimarySelection;
      readonly content: string;
      readonly wrote: boolean;
    }
  | { readonly kind: 'no-primary' }
  /** `transient`: worth retrying without any change (missing directory, half-written primary, I/O). */
  | { readonly kind: 'failed'; readonly error: CniError; readonly transient: boolean };

function failed(
  id: 'ERR_CONFGEN_LIST_DIR' | 'ERR_CONFGEN_LOAD_PRIMARY' | 'ERR_CONFGEN_WRITE',
  err: unknown,
): PassOutcome {
  const error = CniError.of(DAEMON_CONFIG_ERRORS, id, { reason: (err as Error).message });
  return { kind: 'failed', error, transient: true };
}

/**
 * Runs one pass. `mayWrite` is consulted just before writing, so a manager that is stopping never writes after
 * its stop() returned.
 */
export async function runConfPass(
  config: DaemonConfig,
  outputPath: string,
  mayWrite: () => boolean,
): Promise<PassOutcome> {
  const m = config.multus;
  let selection: PrimarySelection | undefined;
  try {
    const entries = m.multusMasterCNI ? [] : await readdir(m.multusAutoconfigDir, { withFileTypes: true });
    selection = selectPrimaryConfig(entries, {
      dir: m.multusAutoconfigDir,
      multusMasterCNI: m.multusMasterCNI,
      outputPath,
    });
  } catch (err) {
    if (err instanceof CniError) return { kind: 'failed', error: err, transient: false };
    return failed('ERR_CONFGEN_LIST_DIR', err);
  }
  if (!selection) return { kind: 'no-primary' };

  let text: string | undefined;
  try {
    text = await readPrimaryText(selection.path);
    if (text === undefined) return { kind: 'no-primary' };
    if (m.forceCNIVersion) await forcePrimaryCniVersion(selection.path, text, m.cniVersion);
  } catch (err) {
    return failed('ERR_CONFGEN_LOAD_PRIMARY', err);
  }

  let content: string;
  try {
    content = generateMultusConf(config, { fileName: selection.fileName, text });
  } catch (err) {
    const error = CniError.wrap(err);
    // A primary being rewritten in place is briefly empty or truncated: worth waiting for. A version mismatch or
    // a missing name is not going to fix itself without a change to the file.
    return {
      kind: 'failed',
      error,
      transient: error.msg.includes('failed to unmarshall primary CNI config'),
    };
  }

  let wrote = false;
  try {
    const onDisk = await readFile(outputPath, 'utf8').catch(() => undefined);
    if (onDisk !== content && mayWrite()) {
      await writeFileAtomic(outputPath, content, { mode: 0o600 });
      wrote = true;
    }
  } catch (err) {
    return failed('ERR_CONFGEN_WRITE', err);
  }
  return { kind: 'ok', selection, content, wrote };
}
