/**
 * The transport under `UrlFetcher`: undici's `Dispatcher.dispatch(options, handler)`, as a port.
 * The edge provides it: `layerUndici` (one undici `Agent` for the layer's lifetime plus a few kept
 * between batches, loaded lazily so importing leakproof never loads undici), tests a deterministic
 * fake or undici's `MockAgent`.
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
   * Optional: a connection pool for one batch of at most `concurrency` requests in flight, owned by
   * the batch until it stops. A batch that stops with requests in flight (cancelled, deadline)
   * tears it down at once (`destroy`, which does not wait): a mass cancel then closes every socket
   * in one sweep, where aborting undici requests one by one makes each client reconnect for the
   * aborted request before dropping it (nodejs/undici#5845), which triples the time until the
   * server sees the sockets go. A batch that ends with nothing on the wire hands it back
   * (`release`) with its keep-alive connections, for the next batch. Without it, batches share
   * `dispatch` and cancel request by request.
   */
  readonly forBatch?: (concurrency: number) => BatchTransport
}

/**
 * A transport owned by one batch until it calls `destroy` or `release` (once; later calls do
 * nothing).
 * @since 0.1.0
 */
export interface BatchTransport {
  readonly dispatch: Transport["dispatch"]
  /** Closes every socket now and fails whatever is still in flight; returns without waiting. */
  readonly destroy: () => void
  /**
   * Nothing of the batch is on the wire any more: keep the connections for a later batch (or close
   * them, if the transport keeps no more). Optional: without it the batch destroys.
   */
  readonly release?: () => void
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
 * How many idle batch pools `layerUndici` keeps for later batches (sequential batches need one;
 * a few batches running side by side, e.g. a worker's concurrent jobs, need a few).
 * @since 0.1.0
 */
export const IDLE_BATCH_AGENTS = 4

/**
 * One undici `Agent` (a connection pool per origin, keep-alive) for the layer's lifetime, used by
 * `get`, and an `Agent` per `fetch`/`stream` batch (`forBatch`) with at most `concurrency`
 * connections per origin (unless `options.connections` says otherwise): a batch that ends with
 * nothing on the wire hands its Agent back, and the next batch with the same bound takes it with
 * its open keep-alive connections (up to `IDLE_BATCH_AGENTS` are kept; undici closes their idle
 * sockets after its keep-alive timeout); a batch that stops with requests in flight destroys its
 * Agent in one sweep. Everything still open is destroyed when the layer's scope closes. undici is
 * imported when the layer is built, not when leakproof is imported. `options` go to
 * `new Agent(options)` (defaults: undici's).
 *
 * Why a bound per batch: undici resumes a client on `setImmediate` after a response, so a request
 * dispatched by the batch's wake-up in the same turn finds every connection busy, and an unbounded
 * pool opens a new one (measured: 2 x concurrency connections per batch); with the bound it waits
 * in the pool's queue for that turn.
 * @since 0.1.0
 */
export const layerUndici = (options?: Agent.Options): Layer.Layer<HttpDispatcher> =>
  Layer.scoped(
    HttpDispatcher,
    Effect.gen(function*() {
      const undici = yield* loadUndici
      const agents = new Set<Agent>()
      const idle: Array<{ readonly agent: Agent; readonly connections: number | null }> = []
      let closed = false
      const destroy = (agent: Agent) => {
        agents.delete(agent)
        agent.destroy().catch(() => undefined)
      }
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          closed = true
          idle.length = 0
          agents.forEach(destroy)
        })
      )
      const shared = new undici.Agent(options)
      agents.add(shared)
      return {
        dispatch: (o, h) => shared.dispatch(o, h),
        forBatch: (concurrency) => {
          const connections = options?.connections !== undefined ? options.connections : concurrency
          let i = idle.length - 1
          while (i >= 0 && idle[i]!.connections !== connections) i--
          const agent = i >= 0 ? idle.splice(i, 1)[0]!.agent : new undici.Agent({ ...options, connections })
          agents.add(agent)
          let owned = true
          return {
            dispatch: (o, h) => agent.dispatch(o, h),
            destroy: () => {
              if (!owned) return
              owned = false
              destroy(agent)
            },
            release: () => {
              if (!owned) return
              owned = false
              if (closed) return destroy(agent)
              idle.push({ agent, connections })
              if (idle.length > IDLE_BATCH_AGENTS) destroy(idle.shift()!.agent)
            }
          }
        }
      } satisfies Transport
    })
  )
