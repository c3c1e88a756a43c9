/**
 * `leakproof/server`: the HTTP servers. `WorkServer` is seed 003's handler leak done right (request
 * deadlines, a fiber dump, graceful shutdown; `leakproof serve`), on `FiberHttpServer`, the thin
 * `node:http` adapter that runs each request as one fiber; `DemoServer` is the loopback server
 * behind `leakproof` with no command.
 *
 * @since 0.1.0
 */
export * as DemoServer from "./services/DemoServer.js"
export * as FiberHttpServer from "./services/FiberHttpServer.js"
export * as WorkServer from "./services/WorkServer.js"
