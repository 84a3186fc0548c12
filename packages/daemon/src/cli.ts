// multus-daemon's command line: `node packages/daemon/dist/main.js --config <file>` (also `-config`, as upstream's
// manifests pass it). main.ts loads this module once the process is set up (V8 flags, compile cache).
import { flushCompileCache } from 'node:module';
import { CniError } from '@multus-ts/cni';
import { DAEMON_USAGE, loadDaemonConfig, parseDaemonArgs } from './config/index.ts';
import { startDaemon } from './daemon.ts';
import { createLogger, logSettingsFromConfig } from './logging.ts';
import { VERSION } from './version.ts';

async function main(): Promise<number> {
  let args: ReturnType<typeof parseDaemonArgs>;
  try {
    args = parseDaemonArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${DAEMON_USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stderr.write(DAEMON_USAGE);
    return 0;
  }
  if (args.version) {
    process.stdout.write(`multus-daemon: version:${VERSION}\n`);
    return 0;
  }
  let loaded: Awaited<ReturnType<typeof loadDaemonConfig>>;
  try {
    loaded = await loadDaemonConfig(args.configPath);
  } catch (err) {
    process.stderr.write(`multus-daemon: ${err instanceof CniError ? err.message : String(err)}\n`);
    return 1;
  }
  const logger = createLogger(logSettingsFromConfig(loaded.typed));
  for (const w of loaded.warnings) logger.warn({}, w);
  if (process.getuid?.() !== 0) {
    logger.error({}, 'failed to run multus-daemon with root');
    return 1;
  }
  let daemon: Awaited<ReturnType<typeof startDaemon>>;
  try {
    daemon = await startDaemon({ loaded, logger, cleanupConfigOnExit: args.cleanupConfigOnExit });
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'multus-daemon failed to start');
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    // Parts already started (informers, the 00-multus.conf manager) must not keep a daemon alive that does not
    // listen: exit, and let the kubelet restart the pod.
    process.exit(3);
  }
  // Now, not at exit: a daemon that is killed (OOM, SIGKILL) would otherwise never write it.
  flushCompileCache();
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      logger.info({ signal: sig }, 'shutting down: /readyz now answers 500, finishing requests in flight');
      resolve();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  await daemon.stop();
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  return 0;
}

process.exitCode = await main();
