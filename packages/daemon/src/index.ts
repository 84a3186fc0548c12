// Public entry of @multus-ts/daemon (for tools and tests; the daemon itself starts from main.ts).
export { startDaemon } from './daemon.ts';
export { Engine } from './engine/engine.ts';
export { buildServer, listenOnSocket, RAW_OUTPUT_HEADER } from './server/server.ts';
