// Public entry of @multus-ts/netspec: the NPWG multi-net-spec v1.3 and the device-info spec as pure functions.
export {
  type CapabilityInput,
  type CapabilityOutput,
  capabilityArgsFor,
  declaredCapabilities,
  mergeCniArgs,
  SELECTION_CAPABILITIES,
} from './capabilities.ts';
export { NETSPEC_ERRORS, type NetspecErrorId } from './catalogue.ts';
export {
  type DefaultRouteAction,
  type DefaultRouteRequest,
  planDefaultRoutes,
  withDefaultGateways,
  withoutDefaultRoutes,
} from './default-route.ts';
export {
  cniDeviceInfoPath,
  DEVINFO_BASE_DIR,
  DEVINFO_CAPABILITY,
  DEVINFO_VERSION,
  type DeviceInfo,
  DeviceInfoSchema,
  dpDeviceInfoPath,
  parseDeviceInfo,
} from './devinfo.ts';
export { canonicalAddress, formatIp, type IpFamily, isIpOrCidr, parseCidr, parseIp } from './ip.ts';
export {
  type K8sArgs,
  KNOWN_RUNTIME_CONFIG_KEYS,
  normalizeRuntimeConfig,
  parseCniArgs,
  parseK8sArgs,
  requirePodIdentity,
} from './k8s-args.ts';
export { memoryReader } from './memory-reader.ts';
export {
  type ConfDirReader,
  DEFAULT_CONF_DIR,
  injectName,
  NAD_API_VERSION,
  NAD_KIND,
  type Nad,
  NadSchema,
  nadResourceName,
  parseNad,
  RESOURCE_NAME_ANNOTATION,
  type ResolvedConfig,
  resolveNadConfig,
} from './nad.ts';
export { dns1123LabelProblem, ifNameProblem } from './names.ts';
export {
  type Attachment,
  type AttachmentSource,
  DEFAULT_GLOBAL_NAMESPACES,
  DEFAULT_MULTUS_NAMESPACE,
  DEFAULT_SYSTEM_NAMESPACES,
  type PlanMultusConfig,
  type PlanPod,
  type PlanRequest,
  type PlanRuntime,
  planAttachments,
} from './plan.ts';
export { type NadLookup, type ResolvedNetwork, resolveNetworkRef } from './resolve.ts';
export {
  type Bandwidth,
  DEFAULT_NETWORK_ANNOTATION,
  formatCommaSelection,
  MAX_SELECTION_BYTES,
  MAX_SELECTION_ELEMENTS,
  NETWORKS_ANNOTATION,
  type NetworkSelection,
  type Parsed,
  type PortMapping,
  parseDefaultNetworkSelection,
  parseNetworkSelection,
  type SelectionOptions,
} from './selection.ts';
export {
  buildNetworkStatus,
  formatNetworkStatus,
  NETWORK_STATUS_ANNOTATION,
  type NetworkStatus,
  OLD_NETWORK_STATUS_ANNOTATION,
  parseNetworkStatus,
  type StatusDns,
  type StatusInput,
} from './status.ts';
