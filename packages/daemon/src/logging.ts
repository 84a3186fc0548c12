// pino on stderr with upstream's level names mapped onto pino's (debug, verbose, error, panic).
import pino, { type Logger } from 'pino';

const LEVELS: Record<string, pino.Level> = {
  debug: 'debug',
  verbose: 'info',
  error: 'error',
  panic: 'fatal',
};

/** Upstream level name (case-insensitive) -> pino level; unknown or empty names log at info. */
export function pinoLevel(upstream: string): pino.Level {
  return LEVELS[upstream.toLowerCase()] ?? 'info';
}

export function createLogger(level: string): Logger {
  return pino(
    {
      level: pinoLevel(level),
      base: { component: 'multus-daemon' },
      redact: {
        paths: ['token', '*.token', 'authorization', '*.authorization', 'kubeconfig'],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}
