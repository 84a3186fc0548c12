// How the daemon starts delegate plugins: through multus-spawn (packages/shim), a small static helper that does
// the fork/exec, so the daemon's main thread never forks a 100 MB process (2-4 ms each, measured in
// test/bench), or, when the helper is missing or switched off, with Node's own child_process.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { directSpawner, findSpawnHelper, HelperSpawner, type Spawner } from '@multus-ts/cni';

/** Path of the helper, or `off` to fork plugins from the daemon itself. */
export const SPAWN_HELPER_ENV = 'MULTUS_TS_SPAWN_HELPER';

interface SpawnLogger {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
}

/**
 * Where the helper is looked for when the environment does not say: beside the daemon in the image
 * (`/usr/src/multus-ts/bin/` next to `dist/`), and in the repository (`packages/shim/`, from `dist/` or `src/`).
 */
export function spawnHelperCandidates(codeDir: string): string[] {
  return [join(codeDir, '..', 'bin', 'multus-spawn'), join(codeDir, '..', '..', 'shim', 'multus-spawn')];
}

export function makePluginSpawner(
  env: NodeJS.ProcessEnv,
  logger: SpawnLogger,
  codeDir: string = dirname(fileURLToPath(import.meta.url)),
): Spawner {
  const configured = env[SPAWN_HELPER_ENV]?.trim();
  if (configured === 'off') {
    logger.info({}, `${SPAWN_HELPER_ENV}=off: delegate plugins are forked from the daemon itself`);
    return directSpawner;
  }
  const candidates = configured ? [configured] : spawnHelperCandidates(codeDir);
  const helperPath = findSpawnHelper(candidates);
  if (!helperPath) {
    logger.warn(
      { looked: candidates },
      'multus-spawn not found: delegate plugins are forked from the daemon itself (slower, more CPU)',
    );
    return directSpawner;
  }
  logger.info({ helper: helperPath }, 'delegate plugins are started through multus-spawn');
  return new HelperSpawner({
    helperPath,
    onLog: (line) => logger.warn({ helper: helperPath }, `multus-spawn: ${line}`),
    onFallback: (reason) =>
      logger.warn(
        { helper: helperPath, reason },
        'multus-spawn unusable: forking plugins from the daemon itself',
      ),
  });
}
