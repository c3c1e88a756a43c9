/**
 * Seed 003's HTTP server leak, done right: a Node HTTP server whose handlers do interruptible
 * work under a request deadline, expose a goroutine-dump analogue, and shut down gracefully.
 * The routes are Effect code; requests run on FiberHttpServer (one fiber per request, the
 * deadline one timer that interrupts it).
 *
 * Routes (any other method on them: 405 with `Allow`; any other path: 404 `{ "error": … }`):
 * - `GET /work?ms=N`: N ms of interruptible work under the deadline: 200 `{ "ms": N, "result": … }`
 *   or 504 `{ "error": … }` at the deadline (the work is interrupted; a result that arrives after
 *   the deadline is a 504 too). A client that disconnects early interrupts its request's work
 *   too. `ms` must be a whole number in [0, maxWorkMs]: 400 `{ "error": … }` otherwise.
 * - `GET /debug/fibers`: `{ "count": n, "fibers": ["fiber #12 [suspended, started by #3] in …", …] }`
 *   (Go's `/debug/pprof/goroutine?debug=1`).
 * - `GET /healthz`: 200 `{ "status": "ok" }`.
 *
 * @since 0.1.0
 */
import { Context, Data, Duration, Effect, Layer } from "effect"
import type * as Scope from "effect/Scope"
import * as DurationArg from "../domain/DurationArg.js"
import * as LeakCheck from "../domain/LeakCheck.js"
import * as FiberHttpServer from "./FiberHttpServer.js"

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

/**
 * Starts the server in the current `Scope` and returns once it is listening. Closing the scope is
 * the graceful shutdown: every request that reached the server is taken in and answered (nothing
 * is reset), the listener closes, requests in flight get `grace` to finish, the rest are
 * interrupted (503), every connection is closed; when it returns no request fiber is left.
 * Fails with `WorkServerError` if it cannot listen.
 *
 * @since 0.1.0
 */
export const make = (options: WorkServerOptions = {}): Effect.Effect<Running, WorkServerError, Scope.Scope> =>
  Effect.gen(function*() {
    const host = options.host ?? "127.0.0.1"
    const port = options.port ?? 8080
    const timeout = options.timeout ?? Duration.seconds(5)
    const maxWorkMs = options.maxWorkMs ?? 600_000
    // Plain numbers: every update happens on the event loop's one thread. How interrupted work
    // ended (deadline, client gone, shutdown) FiberHttpServer counts, as the one that interrupts.
    const counts = { started: 0, completed: 0, late: 0, badRequests: 0 }

    const deadlineExceeded = (ms: string) =>
      FiberHttpServer.json(
        { error: `deadline exceeded: ${ms}ms of work, ${DurationArg.format(timeout)} deadline` },
        504
      )

    const work: FiberHttpServer.Handler<never> = (request) => {
      const values = request.query.getAll("ms")
      const text = values.length === 1 ? values[0]! : undefined
      if (text === undefined || !/^\d+$/.test(text) || Number(text) > maxWorkMs) {
        counts.badRequests++
        const got = text === undefined ? (values.length === 0 ? "nothing" : "several values") : `'${text}'`
        return Effect.succeed(
          FiberHttpServer.json({ error: `ms must be a whole number of milliseconds from 0 to ${maxWorkMs}, got ${got}` }, 400)
        )
      }
      const ms = Number(text)
      counts.started++
      // The work: interruptible at any point (a sleep stands in for I/O).
      return Effect.clockWith((clock) => {
        const start = clock.unsafeCurrentTimeMillis()
        return Effect.map(clock.sleep(Duration.millis(ms)), () => {
          // Like Go's handler checking `ctx.Err()` before replying: a stalled event loop can run
          // the work's timer before the deadline's, and a result after the deadline is late.
          if (request.deadlineExceeded) {
            counts.late++
            return deadlineExceeded(text)
          }
          counts.completed++
          return FiberHttpServer.json({ ms, result: `worked ${clock.unsafeCurrentTimeMillis() - start}ms` })
        })
      })
    }

    const fibers: FiberHttpServer.Handler<never> = () =>
      Effect.map(LeakCheck.dumpFibers, (fs) => FiberHttpServer.json({ count: fs.length, fibers: fs.map(LeakCheck.formatFiber) }))

    const healthz = Effect.succeed(FiberHttpServer.json({ status: "ok" }))

    const server = yield* FiberHttpServer.make({
      host,
      port,
      grace: options.grace ?? Duration.seconds(5),
      deadline: {
        after: timeout,
        reply: (request) =>
          request.path === "/work"
            ? deadlineExceeded(request.query.get("ms") ?? "?")
            : FiberHttpServer.json({ error: `deadline exceeded: ${DurationArg.format(timeout)}` }, 504)
      },
      routes: [
        FiberHttpServer.get("/work", work),
        FiberHttpServer.get("/debug/fibers", fibers),
        FiberHttpServer.get("/healthz", () => healthz)
      ]
    }).pipe(Effect.mapError((e) => new WorkServerError({ reason: "Listen", host, port, cause: e.cause })))

    return {
      host,
      port: server.port,
      stats: Effect.sync(() => {
        const work = server.outcomes("/work")
        return {
          started: counts.started,
          completed: counts.completed,
          timedOut: counts.late + work.deadline,
          aborted: work.client + work.shutdown,
          badRequests: counts.badRequests,
          inFlight: server.inFlight()
        }
      })
    }
  })

/**
 * `make` as a `Layer`: the server runs for the layer's lifetime.
 * @since 0.1.0
 */
export const layer = (options: WorkServerOptions = {}): Layer.Layer<WorkServer, WorkServerError> =>
  Layer.scoped(WorkServer, make(options))
