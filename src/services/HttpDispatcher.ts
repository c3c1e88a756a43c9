/**
 * The transport under `UrlFetcher`: undici's `Dispatcher.dispatch(options, handler)`, as a port.
 * The edge provides it: `layerUndici` (one undici `Agent` for the layer's lifetime, loaded lazily so
 * importing leakproof never loads undici), tests a deterministic fake or undici's `MockAgent`.
 *
 * Go analogue: the `http.RoundTripper` under an `http.Client` (`layerUndici` is the
 * `http.Transport` with its connection pool).
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import type { Agent, Dispatcher } from "undici"

/**
 * What the engine needs from a transport: undici's `dispatch`. The handler is undici's callback
 * protocol (`onConnect(abort)`, `onHeaders`, `onData`, `onComplete`, `onError`): no body stream
 * and no `AbortSignal` per request. Any undici `Dispatcher` (an `Agent`, a `Pool`, a `MockAgent`)
 * fits as it is.
 * @since 0.1.0
 */
export interface Transport {
  readonly dispatch: (options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) => boolean
}

/**
 * The port.
 * @since 0.1.0
 */
export class HttpDispatcher extends Context.Tag("leakproof/HttpDispatcher")<HttpDispatcher, Transport>() {}

/**
 * Wraps an existing undici `Dispatcher` (its lifetime stays with the caller), e.g. a `MockAgent`
 * in tests or an `Agent` with the embedder's own TLS or proxy settings.
 * @since 0.1.0
 */
export const fromDispatcher = (dispatcher: Dispatcher): Layer.Layer<HttpDispatcher> =>
  Layer.succeed(HttpDispatcher, { dispatch: (options, handler) => dispatcher.dispatch(options, handler) })

/**
 * One undici `Agent` (a connection pool per origin, keep-alive) for the layer's lifetime,
 * destroyed when the layer's scope closes (open sockets are closed, nothing waits for them).
 * undici is imported when the layer is built, not when leakproof is imported. `options` go to
 * `new Agent(options)` (defaults: undici's).
 * @since 0.1.0
 */
export const layerUndici = (options?: Agent.Options): Layer.Layer<HttpDispatcher> =>
  Layer.scoped(
    HttpDispatcher,
    Effect.map(
      Effect.acquireRelease(
        Effect.promise(() => import("undici")).pipe(Effect.map((undici) => new undici.Agent(options))),
        (agent) => Effect.promise(() => agent.destroy().catch(() => undefined))
      ),
      (agent): Transport => ({ dispatch: (o, h) => agent.dispatch(o, h) })
    )
  )
