// Public entry of @multus-ts/cni. Everything another package may use is re-exported here.

export * from './atomic-file.ts';
export * from './cache.ts';
export * from './catalogue.ts';
export * from './config.ts';
export * from './convert.ts';
export * from './errors.ts';
export * from './exec.ts';
export * from './exec-decode.ts';
export * from './exec-env.ts';
export * from './find.ts';
export * from './gc.ts';
export * from './helper-spawner.ts';
export * from './inject.ts';
export * from './result.ts';
export * from './runtime.ts';
export * from './runtime-errors.ts';
export * from './runtime-gc.ts';
export * from './spawn-frames.ts';
export * from './spawner.ts';
export * from './version.ts';
