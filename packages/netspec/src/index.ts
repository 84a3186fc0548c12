// Public entry of @multus-ts/netspec.
export {};
