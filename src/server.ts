/**
 * `leakproof/server`: the HTTP servers, on `@effect/platform-node`. `WorkServer` is seed 003's
 * handler leak done right (request deadlines, a fiber dump, graceful shutdown; `leakproof serve`);
 * `DemoServer` is the loopback server behind `leakproof` with no command.
 *
 * @since 0.1.0
 */
export * as DemoServer from "./services/DemoServer.js"
export * as WorkServer from "./services/WorkServer.js"
