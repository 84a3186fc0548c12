// Error catalogue for the daemon's configuration (daemon-config.json, command line) and for the generation of
// 00-multus.conf. Texts that operators or upstream's tests grep for keep upstream's wording; the rest name the
// file and the key so a bad config is fixed in one read.
import { CniCode, defineCatalogue } from '@multus-ts/cni';

export const DAEMON_CONFIG_ERRORS = defineCatalogue({
  // ---- daemon-config.json ----
  ERR_DAEMON_CONFIG_READ: {
    code: CniCode.IoFailure,
    msg: '{source}: cannot read the daemon configuration: {reason}',
  },
  ERR_DAEMON_CONFIG_NOT_FILE: {
    code: CniCode.InvalidConfig,
    msg: '{source}: the daemon configuration must be a regular file, not {kind}',
  },
  ERR_DAEMON_CONFIG_TOO_LARGE: {
    code: CniCode.InvalidConfig,
    msg: '{source}: file is {size} bytes, more than the limit of {max} bytes',
  },
  ERR_DAEMON_CONFIG_TOO_DEEP: {
    code: CniCode.InvalidConfig,
    msg: '{source}: JSON nesting is deeper than {max} levels (at {path})',
  },
  ERR_DAEMON_CONFIG_BOM: {
    code: CniCode.DecodeFailure,
    msg: '{source}: file starts with a UTF-8 byte order mark; save it without one',
  },
  ERR_DAEMON_CONFIG_NOT_JSON: { code: CniCode.DecodeFailure, msg: '{source}: not valid JSON: {reason}' },
  ERR_DAEMON_CONFIG_NOT_OBJECT: {
    code: CniCode.InvalidConfig,
    msg: '{source}: the daemon configuration must be a JSON object, got {got}',
  },
  ERR_DAEMON_CONFIG_INVALID: { code: CniCode.InvalidConfig, msg: '{source}: {problems}' },

  // ---- command line (Go `flag` package texts) ----
  ERR_ARGS_UNKNOWN_FLAG: { code: CniCode.InvalidConfig, msg: 'flag provided but not defined: -{name}' },
  ERR_ARGS_BAD_SYNTAX: { code: CniCode.InvalidConfig, msg: 'bad flag syntax: {arg}' },
  ERR_ARGS_MISSING_VALUE: { code: CniCode.InvalidConfig, msg: 'flag needs an argument: -{name}' },
  ERR_ARGS_BAD_BOOL: {
    code: CniCode.InvalidConfig,
    msg: 'invalid boolean value "{value}" for -{name}: parse error',
  },
  ERR_ARGS_EMPTY_VALUE: { code: CniCode.InvalidConfig, msg: 'flag -{name} needs a non-empty value' },

  // ---- 00-multus.conf generation (upstream texts) ----
  ERR_CONFGEN_NO_PRIMARY: {
    code: CniCode.TryAgainLater,
    msg: 'failed to find the cluster master CNI plugin: could not find a plugin configuration in {dir}',
  },
  ERR_CONFGEN_LIST_DIR: {
    code: CniCode.IoFailure,
    msg: 'failed to find the cluster master CNI plugin: error when listing the CNI plugin configurations: {reason}',
  },
  ERR_CONFGEN_RECURSIVE: {
    code: CniCode.InvalidConfig,
    msg: 'cannot specify {dir}/00-multus.conf to prevent recursive config load',
  },
  ERR_CONFGEN_LOAD_PRIMARY: {
    code: CniCode.InvalidConfig,
    msg: "failed to load the primary CNI configuration as a multus delegate with error '{reason}'",
  },
  ERR_CONFGEN_OVERRIDE_NAME: {
    code: CniCode.InvalidConfig,
    msg: 'could not override the network name: {reason}',
  },
  ERR_CONFGEN_WRITE: { code: CniCode.IoFailure, msg: 'failed to persist the multus configuration: {reason}' },
});

export type DaemonConfigErrorId = keyof typeof DAEMON_CONFIG_ERRORS;
