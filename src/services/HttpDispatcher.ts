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
  /**
   * Optional: a connection pool of its own for one batch, torn down at once (`destroy`, which
   * does not wait) when the batch stops. A mass cancel then closes every socket in one sweep;
   * aborting undici requests one by one makes each client reconnect for the aborted request
   * before dropping it (nodejs/undici#5845), which triples the time until the server sees the
   * sockets go. Without it, batches share `dispatch` and cancel request by request.
   */
  readonly forBatch?: () => BatchTransport
}

/**
 * A transport owned by one batch.
 * @since 0.1.0
 */
export interface BatchTransport {
  readonly dispatch: Transport["dispatch"]
  /** Closes every socket now and fails whatever is still in flight; returns without waiting. */
  readonly destroy: () => void
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

// undici is CommonJS: Node's `import()` names its exports, a bundler may only give `default`.
const loadUndici: Effect.Effect<typeof import("undici")> = Effect.promise(() =>
  import("undici").then((m) => (typeof m.Agent === "function" ? m : (m as unknown as { default: typeof import("undici") }).default))
)

/**
 * One undici `Agent` (a connection pool per origin, keep-alive) for the layer's lifetime, used by
 * `get`, and one `Agent` per `fetch`/`stream` batch (`forBatch`), destroyed when the batch stops.
 * Everything still open is destroyed when the layer's scope closes. undici is imported when the
 * layer is built, not when leakproof is imported. `options` go to `new Agent(options)` (defaults:
 * undici's).
 * @since 0.1.0
 */
export const layerUndici = (options?: Agent.Options): Layer.Layer<HttpDispatcher> =>
  Layer.scoped(
    HttpDispatcher,
    Effect.gen(function*() {
      const undici = yield* loadUndici
      const agents = new Set<Agent>()
      const destroy = (agent: Agent) => {
        agents.delete(agent)
        agent.destroy().catch(() => undefined)
      }
      yield* Effect.addFinalizer(() => Effect.sync(() => agents.forEach(destroy)))
      const shared = new undici.Agent(options)
      agents.add(shared)
      return {
        dispatch: (o, h) => shared.dispatch(o, h),
        forBatch: () => {
          const agent = new undici.Agent(options)
          agents.add(agent)
          return { dispatch: (o, h) => agent.dispatch(o, h), destroy: () => destroy(agent) }
        }
      } satisfies Transport
    })
  )
