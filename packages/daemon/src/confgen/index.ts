// 00-multus.conf: primary selection, generation (exact upstream bytes), atomic writes, and the manager that keeps
// the file current while the daemon runs. Other areas import from here only.
export {
  checkVersionCompatibility,
  generateMultusConf,
  loadPrimaryConfig,
  type PrimaryConfigInput,
  primaryCapabilities,
} from './generate.ts';
export { compareGoStrings, goFormatValue, goJsonString } from './go-json.ts';
export {
  type ConfLogger,
  type ConfLogLevel,
  MultusConfManager,
  type MultusConfManagerOptions,
  type WrittenInfo,
} from './manager.ts';
export { type PassOutcome, runConfPass } from './pass.ts';
export { forcePrimaryCniVersion, PRIMARY_CONFIG_MAX_BYTES, readPrimaryText } from './primary-file.ts';
export { ReadinessTracker } from './readiness.ts';
export {
  type DirEntryLike,
  goExt,
  goJoin,
  isPrimaryCandidate,
  type PrimarySelection,
  type SelectOptions,
  selectPrimaryConfig,
} from './select.ts';
export { installUserProvidedConfig } from './user-config.ts';
