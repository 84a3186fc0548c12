// multus-daemon's command line, parsed with the rules of Go's `flag` package (upstream's manifests pass
// `-config=...`): one or two dashes, `-f=v` or `-f v` for values, bool flags only as `-f` or `-f=<bool>`, parsing
// stops at the first non-flag argument or at `--`. Error texts are Go's.
import { CniError } from '@multus-ts/cni';
import { DAEMON_CONFIG_ERRORS } from './catalogue.ts';
import { DEFAULT_DAEMON_CONFIG_PATH } from './defaults.ts';

export interface DaemonArgs {
  readonly configPath: string;
  readonly version: boolean;
  readonly help: boolean;
  /** Ours: remove 00-multus.conf when the daemon stops (uninstall); upstream always removes it, we never do by default. */
  readonly cleanupConfigOnExit: boolean;
  /** Arguments after the flags (e.g. a subcommand); upstream ignores them. */
  readonly rest: readonly string[];
}

type FlagName = 'config' | 'version' | 'help' | 'cleanup-config-on-exit';
const BOOL_FLAGS: ReadonlySet<string> = new Set(['version', 'help', 'h', 'cleanup-config-on-exit']);
const STRING_FLAGS: ReadonlySet<string> = new Set(['config']);

export const DAEMON_USAGE = `Usage of multus-daemon:
  -cleanup-config-on-exit
        remove 00-multus.conf when the daemon exits (for uninstall; default: keep it)
  -config string
        daemon configuration file (default "${DEFAULT_DAEMON_CONFIG_PATH}")
  -version
        print the version and exit
`;

/** strconv.ParseBool */
function parseGoBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  return undefined;
}

/** Parses `argv` (without node and the script, i.e. `process.argv.slice(2)`). Throws CniError on a bad flag. */
export function parseDaemonArgs(argv: readonly string[]): DaemonArgs {
  const values: Partial<Record<FlagName, string | boolean>> = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg.length < 2 || arg[0] !== '-') break;
    if (arg === '--') {
      i++;
      break;
    }
    const body = arg[1] === '-' ? arg.slice(2) : arg.slice(1);
    if (body === '' || body[0] === '-' || body[0] === '=') {
      throw CniError.of(DAEMON_CONFIG_ERRORS, 'ERR_ARGS_BAD_SYNTAX', { arg });
    }
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    if (BOOL_FLAGS.has(name)) {
      const v = inline === undefined ? true : parseGoBool(inline);
      if (v === undefined) {
        throw CniError.of(DAEMON_CONFIG_ERRORS, 'ERR_ARGS_BAD_BOOL', { value: inline ?? '', name });
      }
      values[name === 'h' ? 'help' : (name as FlagName)] = v;
    } else if (STRING_FLAGS.has(name)) {
      let v = inline;
      if (v === undefined) {
        if (i + 1 >= argv.length) throw CniError.of(DAEMON_CONFIG_ERRORS, 'ERR_ARGS_MISSING_VALUE', { name });
        v = argv[++i] as string;
      }
      if (v === '') throw CniError.of(DAEMON_CONFIG_ERRORS, 'ERR_ARGS_EMPTY_VALUE', { name });
      values[name as FlagName] = v;
    } else {
      throw CniError.of(DAEMON_CONFIG_ERRORS, 'ERR_ARGS_UNKNOWN_FLAG', { name });
    }
  }
  return {
    configPath: typeof values.config === 'string' ? values.config : DEFAULT_DAEMON_CONFIG_PATH,
    version: values.version === true,
    help: values.help === true,
    cleanupConfigOnExit: values['cleanup-config-on-exit'] === true,
    rest: argv.slice(i),
  };
}
