// Error catalogue of @multus-ts/netspec: stable ids -> CNI code + message template.
// Codes: 6 when text cannot be decoded at all, 7 for everything a user or admin configured wrongly (annotations,
// NADs, multus config), 4 for a bad CNI_ARGS. Messages name the network or annotation they are about.
import { CniCode, defineCatalogue } from '@multus-ts/cni';

export const NETSPEC_ERRORS = defineCatalogue({
  // ---- selection annotations (k8s.v1.cni.cncf.io/networks, v1.multus-cni.io/default-network) ----
  ERR_SELECTION_TOO_LARGE: {
    code: CniCode.InvalidConfig,
    msg: 'annotation {annotation} is {size} bytes, more than the limit of {max}',
  },
  ERR_SELECTION_TOO_MANY: {
    code: CniCode.InvalidConfig,
    msg: 'annotation {annotation} selects {count} networks, more than the limit of {max}',
  },
  ERR_SELECTION_NOT_JSON: {
    code: CniCode.DecodeFailure,
    msg: 'annotation {annotation} is not valid JSON',
  },
  ERR_SELECTION_NOT_LIST: {
    code: CniCode.InvalidConfig,
    msg: 'annotation {annotation} must be a JSON list of network selection elements',
  },
  ERR_SELECTION_ELEMENT: {
    code: CniCode.InvalidConfig,
    msg: 'annotation {annotation}: element {index}: {reason}',
  },
  ERR_SELECTION_DUPLICATE_IFNAME: {
    code: CniCode.InvalidConfig,
    msg: 'annotation {annotation}: element {index}: interface name "{ifname}" is already used by element {first}',
  },
  ERR_SELECTION_DEFAULT_ROUTE_TWICE: {
    code: CniCode.InvalidConfig,
    msg: 'annotation {annotation}: element {index}: only one element may set default-route (element {first} already does)',
  },
  ERR_DEFAULT_NETWORK_COUNT: {
    code: CniCode.InvalidConfig,
    msg: 'annotation {annotation} must select exactly one network, got {count}',
  },

  // ---- NetworkAttachmentDefinitions and their configs ----
  ERR_NAD_INVALID: { code: CniCode.InvalidConfig, msg: 'invalid NetworkAttachmentDefinition {ref}' },
  ERR_NAD_NOT_FOUND: {
    code: CniCode.InvalidConfig,
    msg: 'cannot find a network-attachment-definition ({name}) in namespace ({namespace})',
  },
  ERR_NAD_CONFIG_INVALID: {
    code: CniCode.InvalidConfig,
    msg: 'network {network}: invalid CNI configuration in spec.config',
  },
  ERR_NAD_CONFIG_UNDECODABLE: {
    code: CniCode.DecodeFailure,
    msg: 'network {network}: cannot decode spec.config',
  },
  ERR_NAD_CONFIG_NOT_FOUND: {
    code: CniCode.InvalidConfig,
    msg: 'network {network}: no spec.config and no .conflist or .conf named "{name}" in {dir}',
  },
  ERR_NETWORK_NOT_FOUND: {
    code: CniCode.InvalidConfig,
    msg: 'cannot find network "{ref}" (no NetworkAttachmentDefinition in namespace {namespace}, no config named so in {dir})',
  },
  ERR_NETWORK_FILE_INVALID: {
    code: CniCode.InvalidConfig,
    msg: 'network {ref}: cannot load CNI config {path}',
  },
  ERR_NO_DELEGATES: {
    code: CniCode.InvalidConfig,
    msg: 'at least one delegate/clusterNetwork must be specified',
  },
  ERR_DELEGATE_INVALID: {
    code: CniCode.InvalidConfig,
    msg: 'static delegate {index} is not a valid CNI config',
  },

  // ---- the delegate plan ----
  ERR_NAMESPACE_ISOLATION: {
    code: CniCode.InvalidConfig,
    msg: 'namespace isolation enabled, annotation violates permission, pod is in namespace {podNamespace} but refers to target namespace {namespace}',
  },
  ERR_IFNAME_TAKEN: {
    code: CniCode.InvalidConfig,
    msg: 'network {network}: interface name "{ifname}" is already used by network {other}',
  },
  ERR_IFNAME_INVALID: {
    code: CniCode.InvalidConfig,
    msg: 'network {network}: invalid interface name "{ifname}"',
  },
  ERR_CAPABILITY_MISSING: {
    code: CniCode.InvalidConfig,
    msg: 'network {network}: "{key}" requested but no plugin in the chain declares the capability "{capability}"',
  },
  ERR_ARGS_CNI_INVALID: {
    code: CniCode.InvalidConfig,
    msg: 'network {network}: cannot merge cni-args, plugin {index} has a non-object "args.cni"',
  },
  ERR_DEFAULT_ROUTE_TWICE: {
    code: CniCode.InvalidConfig,
    msg: 'default-route is requested by both network {first} and network {second}',
  },
  ERR_DEFAULT_ROUTE_ECMP: {
    code: CniCode.InvalidConfig,
    msg: 'multus does not support ECMP for default-route',
  },

  // ---- runtime input ----
  ERR_K8S_ARGS_INVALID: { code: CniCode.InvalidEnvironment, msg: 'invalid CNI_ARGS: {reason}' },
  ERR_K8S_ARGS_MISSING: { code: CniCode.InvalidEnvironment, msg: 'CNI_ARGS lacks {key}' },

  // ---- results, status and device-info ----
  ERR_STATUS_INVALID: { code: CniCode.DecodeFailure, msg: 'invalid network-status annotation' },
  ERR_DEVINFO_INVALID: { code: CniCode.DecodeFailure, msg: 'invalid device-info {what}' },
  ERR_RESULT_INVALID: { code: CniCode.DecodeFailure, msg: 'network {network}: cannot read the CNI result' },
});

export type NetspecErrorId = keyof typeof NETSPEC_ERRORS;
