// The environment a plugin runs with: exactly the six CNI variables plus an explicit pass-through list.
// Nothing else of the daemon's environment leaks into plugins (libcni passes the whole environment; the daemon's
// may hold tokens and proxy settings that are none of a plugin's business).
import { CNI_ERRORS } from './catalogue.ts';
import { CniError } from './errors.ts';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';

/** CNI_ARGS: either the final string, or key/value pairs joined as `k1=v1;k2=v2`. */
export type CniArgsInput = string | readonly (readonly [string, string])[];

export const CNI_ENV_NAMES = [
  'CNI_COMMAND',
  'CNI_CONTAINERID',
  'CNI_NETNS',
  'CNI_IFNAME',
  'CNI_ARGS',
  'CNI_PATH',
] as const;

/** Variables passed through from the daemon's environment when the caller names none. */
export const DEFAULT_PASS_ENV: readonly string[] = ['PATH'];

const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

function invalid(name: string, reason: string): CniError {
  return CniError.of(CNI_ERRORS, 'ERR_PLUGIN_ENV_INVALID', { name, reason });
}

function noNul(name: string, value: string): string {
  if (value.includes('\0')) throw invalid(name, 'contains NUL');
  return value;
}

/**
 * Renders CNI_ARGS. Pairs are checked so that one pair can never smuggle in another: keys are non-empty and free
 * of '=' and ';', values free of ';'. A ready string is passed as given (only NUL is refused). Code 4.
 */
export function formatCniArgs(args: CniArgsInput | undefined): string {
  if (args === undefined) return '';
  if (typeof args === 'string') return noNul('CNI_ARGS', args);
  return args
    .map(([k, v], i) => {
      if (typeof k !== 'string' || typeof v !== 'string')
        throw invalid('CNI_ARGS', `pair ${i} is not two strings`);
      if (k === '') throw invalid('CNI_ARGS', `pair ${i} has an empty key`);
      if (/[=;\0]/.test(k)) throw invalid('CNI_ARGS', `key of pair ${i} contains '=', ';' or NUL`);
      if (/[;\0]/.test(v)) throw invalid('CNI_ARGS', `value of pair ${i} (${k}) contains ';' or NUL`);
      return `${k}=${v}`;
    })
    .join(';');
}

/** Renders CNI_PATH from a list of dirs (each free of ':' and NUL) or passes a ready string through. */
export function formatCniPath(path: readonly string[] | string | undefined): string {
  if (path === undefined) return '';
  if (typeof path === 'string') return noNul('CNI_PATH', path);
  for (const dir of path) {
    if (dir.includes(':')) throw invalid('CNI_PATH', `entry "${dir}" contains ':'`);
    noNul('CNI_PATH', dir);
  }
  return path.join(':');
}

export interface PluginEnvInput {
  command: CniCommand;
  containerId?: string | undefined;
  netns?: string | undefined;
  ifName?: string | undefined;
  args?: CniArgsInput | undefined;
  path?: readonly string[] | string | undefined;
  /** Names copied from `source` when set there (default: PATH). CNI_* names are ignored: ours always win. */
  passEnv?: readonly string[] | undefined;
  /** Where pass-through values come from (default: process.env). */
  source?: Readonly<Record<string, string | undefined>> | undefined;
}

/**
 * The complete environment for one plugin run. All six CNI variables are always present (empty when the
 * command does not use them), as libcni sets them; pass-through variables that are unset are left out.
 */
export function buildPluginEnv(input: PluginEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  const source = input.source ?? process.env;
  for (const name of input.passEnv ?? DEFAULT_PASS_ENV) {
    if (!ENV_NAME_RE.test(name)) throw invalid('passEnv', `"${name}" is not a variable name`);
    if ((CNI_ENV_NAMES as readonly string[]).includes(name)) continue;
    const value = source[name];
    if (value !== undefined) env[name] = noNul(name, value);
  }
  env['CNI_COMMAND'] = input.command;
  env['CNI_CONTAINERID'] = noNul('CNI_CONTAINERID', input.containerId ?? '');
  env['CNI_NETNS'] = noNul('CNI_NETNS', input.netns ?? '');
  env['CNI_IFNAME'] = noNul('CNI_IFNAME', input.ifName ?? '');
  env['CNI_ARGS'] = formatCniArgs(input.args);
  env['CNI_PATH'] = formatCniPath(input.path);
  return env;
}
