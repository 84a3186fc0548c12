// Error catalogue of multus-daemon (request handling and orchestration). Codes below 100 are the CNI spec's;
// 100+ are ours and stable.
import { CniCode, defineCatalogue } from '@multus-ts/cni';

export const DAEMON_ERRORS = defineCatalogue({
  ERR_BODY_NOT_JSON: { code: CniCode.DecodeFailure, msg: 'request body is not valid JSON' },
  ERR_BODY_NOT_UTF8: { code: CniCode.DecodeFailure, msg: 'request body is not valid UTF-8' },
  ERR_CACHE_WRITE: { code: CniCode.IoFailure, msg: 'cannot write the delegate cache: {reason}' },
  ERR_BODY_INVALID: { code: CniCode.DecodeFailure, msg: 'invalid request body: {issue}' },
  ERR_BODY_TOO_LARGE: { code: CniCode.InvalidConfig, msg: 'request body is larger than {max} bytes' },
  ERR_CONFIG_NOT_BASE64: { code: CniCode.DecodeFailure, msg: 'request "config" is not standard base64' },
  ERR_COMMAND_MISSING: { code: CniCode.InvalidEnvironment, msg: 'unexpected or missing CNI_COMMAND' },
  ERR_COMMAND_UNKNOWN: { code: CniCode.InvalidEnvironment, msg: 'unknown CNI_COMMAND "{command}"' },
  ERR_ENV_MISSING: { code: CniCode.InvalidEnvironment, msg: 'required env variables [{names}] missing' },
  ERR_POD_ARGS_MISSING: {
    code: CniCode.InvalidEnvironment,
    msg: 'required CNI variable missing. pod name: {name}; pod namespace: {namespace}',
  },
  ERR_NOT_READY: { code: CniCode.TryAgainLater, msg: 'multus-daemon is not ready: {reason}' },
  ERR_OVERLOADED: { code: CniCode.TryAgainLater, msg: 'multus-daemon is busy: {reason}' },
  ERR_SHUTTING_DOWN: { code: CniCode.TryAgainLater, msg: 'multus-daemon is shutting down' },
  ERR_INTERNAL: { code: CniCode.Internal, msg: 'internal error: {message}' },
});
