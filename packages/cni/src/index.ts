// Public entry of @multus-ts/cni. Everything another package may use is re-exported here.
export * from './errors.ts';
