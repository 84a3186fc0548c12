// Error catalogue of @multus-ts/cni: stable ids -> CNI code + message template.
// The data half (config, result, version, cache, gc) owns the first section; the invocation half
// (exec, runtime, conflist execution) appends its own entries in the clearly marked section at the end.
import { CniCode, defineCatalogue } from './errors.ts';

export const CNI_ERRORS = defineCatalogue({
  // ---- version ----
  ERR_VERSION_UNSUPPORTED: {
    code: CniCode.IncompatibleVersion,
    msg: 'unsupported CNI version "{version}" (supported: {supported})',
  },
  ERR_VERSION_MALFORMED: { code: CniCode.IncompatibleVersion, msg: 'malformed CNI version "{version}"' },
  ERR_VERSION_REPLY_INVALID: { code: CniCode.DecodeFailure, msg: 'invalid VERSION reply from plugin' },

  // ---- network configuration ----
  ERR_CONFIG_TOO_LARGE: {
    code: CniCode.InvalidConfig,
    msg: 'network configuration is {size} bytes, more than the limit of {max}',
  },
  ERR_CONFIG_NOT_UTF8: { code: CniCode.DecodeFailure, msg: 'network configuration is not valid UTF-8' },
  ERR_CONFIG_NOT_JSON: { code: CniCode.DecodeFailure, msg: 'network configuration is not valid JSON' },
  ERR_CONFIG_NOT_OBJECT: { code: CniCode.InvalidConfig, msg: 'network configuration must be a JSON object' },
  ERR_CONFIG_INVALID: { code: CniCode.InvalidConfig, msg: 'invalid network configuration: key "{key}"' },
  ERR_NETWORK_NAME_MISSING: { code: CniCode.InvalidConfig, msg: 'missing network name:' },
  ERR_NETWORK_NAME_INVALID: { code: CniCode.InvalidConfig, msg: 'invalid characters found in network name' },
  ERR_CONFIG_NO_PLUGINS: { code: CniCode.InvalidConfig, msg: 'network configuration list has no plugins' },
  ERR_CONFIG_TOO_MANY_PLUGINS: {
    code: CniCode.InvalidConfig,
    msg: 'network configuration list has {count} plugins, more than the limit of {max}',
  },
  ERR_CONFIG_NO_TYPE: { code: CniCode.InvalidConfig, msg: "plugin {index}: missing 'type'" },

  // ---- runtime identifiers (texts and codes as libcni reports them) ----
  ERR_CONTAINER_ID_MISSING: { code: CniCode.UnknownContainer, msg: 'missing containerID' },
  ERR_CONTAINER_ID_INVALID: { code: CniCode.InvalidEnvironment, msg: 'invalid characters in containerID' },
  ERR_IFNAME_EMPTY: { code: CniCode.InvalidEnvironment, msg: 'interface name is empty' },
  ERR_IFNAME_TOO_LONG: { code: CniCode.InvalidEnvironment, msg: 'interface name is too long' },
  ERR_IFNAME_DOTS: { code: CniCode.InvalidEnvironment, msg: 'interface name is . or ..' },
  ERR_IFNAME_CHARS: {
    code: CniCode.InvalidEnvironment,
    msg: 'interface name contains / or : or whitespace characters',
  },

  // ---- results ----
  ERR_RESULT_UNDECODABLE: { code: CniCode.DecodeFailure, msg: 'cannot decode {version} result' },
  ERR_RESULT_VERSION_UNKNOWN: {
    code: CniCode.IncompatibleVersion,
    msg: 'unknown result version "{version}"',
  },
  ERR_RESULT_CONVERT: {
    code: CniCode.IncompatibleVersion,
    msg: 'cannot convert result from {from} to {to}',
  },

  // ---- result cache ----
  ERR_CACHE_KEY_INVALID: { code: CniCode.InvalidConfig, msg: 'invalid cache key {key} "{value}"' },
  ERR_CACHE_IO: { code: CniCode.IoFailure, msg: 'result cache {op} failed for {path}' },
  ERR_CACHE_CORRUPT: { code: CniCode.DecodeFailure, msg: 'corrupt result cache entry {path}' },

  // ---- garbage collection ----
  ERR_GC_ATTACHMENTS_INVALID: { code: CniCode.InvalidConfig, msg: 'invalid GC attachment list at {key}' },

  // ==== invocation half (exec.ts, runtime.ts, conflist execution): entries below this line ====

  // ---- plugin lookup (find.ts): a `type` is a bare name, never a path ----
  ERR_PLUGIN_TYPE_INVALID: { code: CniCode.InvalidConfig, msg: 'invalid plugin type {type}: {reason}' },
  ERR_PLUGIN_NOT_FOUND: { code: CniCode.InvalidConfig, msg: 'failed to find plugin {type} in path [{path}]' },
  ERR_BIN_DIR_INVALID: { code: CniCode.InvalidConfig, msg: 'invalid CNI bin dir "{dir}": {reason}' },

  // ---- plugin execution (exec.ts) ----
  ERR_PLUGIN_ENV_INVALID: { code: CniCode.InvalidEnvironment, msg: 'invalid value for {name}: {reason}' },
  ERR_PLUGIN_SPAWN_FAILED: { code: CniCode.IoFailure, msg: 'cannot execute plugin {path}: {reason}' },
  ERR_PLUGIN_TIMEOUT: {
    code: CniCode.TryAgainLater,
    msg: 'plugin {path} ({command}) did not finish within {ms} ms and was killed',
  },
  ERR_PLUGIN_OUTPUT_TOO_LARGE: {
    code: CniCode.IoFailure,
    msg: 'plugin {path} ({command}) wrote more than {max} bytes to {stream} and was killed',
  },
  ERR_PLUGIN_FAILED: { code: CniCode.Internal, msg: 'netplugin failed: {reason}' },
  ERR_PLUGIN_OUTPUT_UNDECODABLE: {
    code: CniCode.DecodeFailure,
    msg: 'cannot decode the output of plugin {path} ({command})',
  },
  ERR_PLUGIN_NO_RESULT: { code: CniCode.DecodeFailure, msg: 'plugin {path} printed no result for ADD' },
  ERR_SPAWN_HELPER_LOST: {
    code: CniCode.TryAgainLater,
    msg: 'the spawn helper went away while running {path}; it may or may not have run, try again later',
  },

  // ---- conflist execution (runtime.ts) ----
  ERR_CHECK_UNSUPPORTED: {
    code: CniCode.IncompatibleVersion,
    msg: 'configuration version "{version}" does not support the CHECK command',
  },
  ERR_CHECK_NO_CACHED_RESULT: {
    code: CniCode.UnknownContainer,
    msg: 'failed to get network "{name}" cached result: no result cached for container "{containerId}" interface "{ifName}"',
  },
  ERR_CAPABILITY_ARGS_INVALID: { code: CniCode.InvalidConfig, msg: 'capability args must be a JSON object' },
});
