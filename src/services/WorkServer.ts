/**
 * Seed 003's HTTP server leak, done right: an `@effect/platform` HTTP server on Node whose
 * handlers do interruptible work under a request deadline, expose a goroutine-dump analogue, and
 * shut down gracefully.
 *
 * Routes:
 * - `GET /work?ms=N`: N ms of interruptible work under the deadline: 200 `{ "ms": N, "result": … }`
 *   or 504 `{ "error": … }` at the deadline (the work is interrupted; a result that arrives after
 *   the deadline is a 504 too). A client that disconnects
 *   early interrupts its request's work too. `ms` must be a whole number in [0, maxWorkMs]: 400
 *   `{ "error": … }` otherwise.
 * - `GET /debug/fibers`: `{ "count": n, "fibers": ["fiber #12 [suspended, started by #3] in …", …] }`
 *   (Go's `/debug/pprof/goroutine?debug=1`).
 * - `GET /healthz`: 200 `{ "status": "ok" }`.
 *
 * @since 0.1.0
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Clock, Context, Data, Duration, Effect, FiberSet, Layer, Ref } from "effect"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import * as DurationArg from "../domain/DurationArg.js"
import * as LeakCheck from "../domain/LeakCheck.js"

/**
 * The server could not start (`reason: "Listen"`, e.g. the port is taken).
 * @since 0.1.0
 */
export class WorkServerError extends Data.TaggedError("WorkServerError")<{
  readonly reason: "Listen"
  readonly host: string
  readonly port: number
  readonly cause: unknown
}> {
  override get message(): string {
    const why = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `cannot listen on ${this.host}:${this.port}: ${why}`
  }
}

/** @since 0.1.0 */
export interface WorkServerOptions {
  /** Default 8080; 0 picks a free port (read it from `address`). */
  readonly port?: number
  /** Default `127.0.0.1` (loopback only). */
  readonly host?: string
  /** The request deadline (Go's `context.WithTimeout(r.Context(), …)`), default 5 s. */
  readonly timeout?: Duration.DurationInput
  /** On shutdown, how long in-flight requests may take to finish before they are interrupted (default 5 s). */
  readonly grace?: Duration.DurationInput
  /** The largest `ms` accepted by `/work` (default 600 000, ten minutes). */
  readonly maxWorkMs?: number
}

/**
 * What the server has done so far.
 * @since 0.1.0
 */
export interface WorkStats {
  /** `/work` requests that passed validation. */
  readonly started: number
  readonly completed: number
  /** Answered 504: the work was interrupted at the deadline. */
  readonly timedOut: number
  /** The client went away first (or shutdown's grace ran out): the work was interrupted. */
  readonly aborted: number
  readonly badRequests: number
  /** Requests of any route being handled right now. */
  readonly inFlight: number
}

/**
 * A running server.
 * @since 0.1.0
 */
export interface Running {
  readonly host: string
  readonly port: number
  readonly stats: Effect.Effect<WorkStats>
}

/**
 * The running server, for apps that embed it as a `Layer`.
 * @since 0.1.0
 */
export class WorkServer extends Context.Tag("leakproof/WorkServer")<WorkServer, Running>() {}

const badRequest = (message: string) => HttpServerResponse.unsafeJson({ error: message }, { status: 400 })

/**
 * Starts the server in the current `Scope` and returns once it is listening. Closing the scope is
 * the graceful shutdown: stop accepting, give in-flight requests `grace` to finish, interrupt the
 * rest, close every connection; when it returns no request fiber is left. Fails with
 * `WorkServerError` if it cannot listen.
 *
 * @since 0.1.0
 */
export const make = (options: WorkServerOptions = {}): Effect.Effect<Running, WorkServerError, Scope.Scope> =>
  Effect.gen(function*() {
    const host = options.host ?? "127.0.0.1"
    const port = options.port ?? 8080
    const timeout = options.timeout ?? Duration.seconds(5)
    const timeoutMs = Duration.toMillis(timeout)
    const grace = options.grace ?? Duration.seconds(5)
    const maxWorkMs = options.maxWorkMs ?? 600_000
    const stats = yield* Ref.make<WorkStats>({
      started: 0,
      completed: 0,
      timedOut: 0,
      aborted: 0,
      badRequests: 0,
      inFlight: 0
    })
    const count = (key: Exclude<keyof WorkStats, "inFlight">) => Ref.update(stats, (s) => ({ ...s, [key]: s[key] + 1 }))

    // Every request fiber joins this set, so shutdown can wait for them and then interrupt them.
    const inflight = yield* FiberSet.make<unknown, unknown>()
    const nodeServer = Http.createServer()

    const work = Effect.gen(function*() {
      const params = yield* HttpServerRequest.ParsedSearchParams
      const raw = params["ms"]
      const text = typeof raw === "string" ? raw : undefined
      if (text === undefined || !/^\d+$/.test(text) || Number(text) > maxWorkMs) {
        yield* count("badRequests")
        return badRequest(
          `ms must be a whole number of milliseconds from 0 to ${maxWorkMs}, got ${
            text === undefined ? (raw === undefined ? "nothing" : "several values") : `'${text}'`
          }`
        )
      }
      const ms = Number(text)
      yield* count("started")
      const start = yield* Clock.currentTimeMillis
      // The work: interruptible at any point (a sleep stands in for I/O).
      const result = yield* Effect.sleep(Duration.millis(ms)).pipe(
        Effect.zipRight(Clock.currentTimeMillis),
        Effect.map((end) => ({ ms, result: `worked ${end - start}ms`, late: end - start > timeoutMs })),
        Effect.timeoutOption(timeout),
        Effect.onInterrupt(() => count("aborted"))
      )
      // A stalled event loop can fire the work's timer and the deadline's together, and either
      // may win the race: like Go's handler checking `ctx.Err()` before replying, a result that
      // arrives after the deadline is still a 504.
      if (result._tag === "None" || result.value.late) {
        yield* count("timedOut")
        return HttpServerResponse.unsafeJson(
          { error: `deadline exceeded: ${ms}ms of work, ${DurationArg.format(timeout)} deadline` },
          { status: 504 }
        )
      }
      yield* count("completed")
      return HttpServerResponse.unsafeJson({ ms: result.value.ms, result: result.value.result })
    })

    const fibers = Effect.map(LeakCheck.dumpFibers, (fs) =>
      HttpServerResponse.unsafeJson({ count: fs.length, fibers: fs.map(LeakCheck.formatFiber) }))

    const router = HttpRouter.empty.pipe(
      HttpRouter.get("/work", work),
      HttpRouter.get("/debug/fibers", fibers),
      HttpRouter.get("/healthz", Effect.succeed(HttpServerResponse.unsafeJson({ status: "ok" })))
    )

    const inFlight = (delta: number) => Ref.update(stats, (s) => ({ ...s, inFlight: s.inFlight + delta }))
    const tracked = Effect.withFiberRuntime<HttpServerResponse.HttpServerResponse, unknown, HttpServerRequest.HttpServerRequest>(
      (fiber) => {
        FiberSet.unsafeAdd(inflight, fiber)
        return Effect.acquireUseRelease(inFlight(1), () => router, () => inFlight(-1))
      }
    )

    const server = yield* NodeHttpServer.make(() => nodeServer, { port, host }).pipe(
      Effect.mapError((e) => new WorkServerError({ reason: "Listen", host, port, cause: e.cause }))
    )
    yield* server.serve(tracked)

    // Registered last, so it runs first when the scope closes, before the platform's own teardown.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        nodeServer.close() // stop accepting; the platform's finalizer then has nothing left to wait for
        nodeServer.closeIdleConnections()
        // Finalizers run uninterruptibly: the wait must be made interruptible for the grace
        // period to be able to cut it short.
        yield* Effect.interruptible(FiberSet.awaitEmpty(inflight)).pipe(Effect.timeoutOption(grace))
        yield* FiberSet.clear(inflight)
        nodeServer.closeAllConnections()
      })
    )

    const address = server.address
    return {
      host,
      port: address._tag === "TcpAddress" ? address.port : port,
      stats: Ref.get(stats)
    }
  })

/**
 * `make` as a `Layer`: the server runs for the layer's lifetime.
 * @since 0.1.0
 */
export const layer = (options: WorkServerOptions = {}): Layer.Layer<WorkServer, WorkServerError> =>
  Layer.scoped(WorkServer, make(options))
