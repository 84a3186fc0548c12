// Request loggers that cost nothing until they log. A pino child serialises its bindings when it is made (20 us
// compiled, ~75 us interpreted, measured); an ADD makes one per request and one per delegate, and at the shipped
// level most of them never write a line. This one makes the pino child on the first line at an enabled level.
import type { EngineLogger } from './deps.ts';

type Level = 'debug' | 'info' | 'warn' | 'error';

/** What the engine is given: pino's Logger has both (tests may pass a logger without isLevelEnabled). */
export type LevelAwareLogger = EngineLogger & { isLevelEnabled?(level: string): boolean };

export function lazyChild(parent: LevelAwareLogger, bindings: object): LevelAwareLogger {
  let real: LevelAwareLogger | undefined;
  const get = (): LevelAwareLogger => {
    real ??= parent.child(bindings) as LevelAwareLogger;
    return real;
  };
  const enabled = (level: Level) => parent.isLevelEnabled?.(level) ?? true;
  const at =
    (level: Level) =>
    (obj: object, msg: string): void => {
      if (enabled(level)) get()[level](obj, msg);
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    isLevelEnabled: (level: string) => parent.isLevelEnabled?.(level) ?? true,
    child: (more: object) => (real ? lazyChild(real, more) : lazyChild(parent, { ...bindings, ...more })),
  };
}
