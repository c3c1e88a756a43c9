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
 * - `GET /debug/fibers`: the live fibers grouped by state and spans, biggest group first (Go's
 *   `/debug/pprof/goroutine?debug=1`): `{ "total": n, "groups": [{ "count": 10000, "state": …,
 *   "spans": […], "ids": [first ten] }, …] }` for programs, a table for a browser (`Accept:
 *   text/html`), `?format=text` for a terminal (`10000 x [suspended] in http.server GET /work`);
 *   `?format=flat` (JSON) or `?debug=2` (text) list every fiber on its own. A bad `format`/`debug`
 *   is a 400.
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
 * The server could not start (`reason: "Listen"`, e.g. the port is taken); Go's error from
 * `http.ListenAndServe`. Interruption: none (it is only ever a failure of `make`/`layer`).
 * @since 0.1.0
 */
// Why not FiberHttpServer's `FiberHttpServerError`, which has the same fields and message: the
// `_tag` is part of `leakproof/server`'s public API (`Effect.catchTag("WorkServerError", …)`), and a
// tagged error cannot take another class's tag. `make` maps the one to the other, cause kept.
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

    const clock = yield* Effect.clock
    const work: FiberHttpServer.Handler<never> = (request) => {
      const text = msParam(request)
      if (typeof text !== "string" || Number(text) > maxWorkMs) {
        counts.badRequests++
        const got = typeof text === "string" ? `'${text}'` : text.got
        return Effect.succeed(
          FiberHttpServer.json({ error: `ms must be a whole number of milliseconds from 0 to ${maxWorkMs}, got ${got}` }, 400)
        )
      }
      const ms = Number(text)
      counts.started++
      const start = clock.unsafeCurrentTimeMillis()
      // The work: interruptible at any point (a sleep stands in for I/O). `request.sleep`, not
      // `Effect.sleep`: its timer is cleared with the request, so no canceler is needed.
      return Effect.map(request.sleep(ms), () => {
        // Like Go's handler checking `ctx.Err()` before replying: a stalled event loop can run
        // the work's timer before the deadline's, and a result after the deadline is late.
        if (request.deadlineExceeded) {
          counts.late++
          return deadlineExceeded(text)
        }
        counts.completed++
        return FiberHttpServer.json(new WorkDone(ms, `worked ${clock.unsafeCurrentTimeMillis() - start}ms`))
      })
    }

    const fibers: FiberHttpServer.Handler<never> = (request) => {
      const view = dumpView(request.query.getAll("format"), request.query.getAll("debug"), request.headers.accept)
      if (typeof view !== "string") return Effect.succeed(FiberHttpServer.json({ error: view.error }, 400))
      if (view === "flat" || view === "flat-text") {
        return Effect.map(LeakCheck.dumpFibers, (fs) =>
          view === "flat"
            ? FiberHttpServer.json({ count: fs.length, fibers: fs.map(LeakCheck.formatFiber) })
            : FiberHttpServer.text(
              [`fibers: ${fs.length}`, ...fs.map(LeakCheck.formatFiber)].join("\n\n") + "\n"
            ))
      }
      return Effect.map(LeakCheck.dumpFibersGrouped, (dump) =>
        view === "json"
          ? FiberHttpServer.text(LeakCheck.formatDump(dump, "json"), "application/json")
          : FiberHttpServer.text(LeakCheck.formatDump(dump, view), `text/${view === "html" ? "html" : "plain"}; charset=utf-8`))
    }

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

/** `/work`'s reply body (a class: V8 may pretenure an object literal's allocation site). */
class WorkDone {
  constructor(readonly ms: number, readonly result: string) {}
}

/**
 * `ms` as digits, or what was wrong with it. A query string that is exactly `ms=<digits>` (the
 * common case) is read without parsing it into `URLSearchParams`.
 */
const msParam = (request: FiberHttpServer.Request): string | { readonly got: string } => {
  const search = request.search
  if (search.length > 3 && search.length < 20 && search.startsWith("ms=")) {
    let digits = true
    for (let i = 3; i < search.length && digits; i++) {
      const c = search.charCodeAt(i)
      digits = c >= 48 && c <= 57
    }
    if (digits) return search.slice(3)
  }
  const values = request.query.getAll("ms")
  if (values.length !== 1) return { got: values.length === 0 ? "nothing" : "several values" }
  return /^\d+$/.test(values[0]!) ? values[0]! : { got: `'${values[0]}'` }
}

type DumpView = "json" | "text" | "html" | "flat" | "flat-text"

/**
 * What `/debug/fibers` renders, like pprof's `/debug/pprof/goroutine`: the grouped dump by default
 * (`debug=1`), JSON for programs and HTML for a browser (`Accept: text/html`); `?format=` picks one
 * (`json`, `text`, `html`, or `flat`: one entry per fiber, as JSON); `?debug=2` is the flat list
 * as text (pprof's one stack per goroutine), `?debug=1` the grouped text. Anything else is an
 * error line for a 400.
 */
const dumpView = (
  format: ReadonlyArray<string>,
  debug: ReadonlyArray<string>,
  accept: string | undefined
): DumpView | { readonly error: string } => {
  if (format.length > 1 || debug.length > 1) return { error: "give format or debug at most once" }
  const [f] = format
  const [d] = debug
  if (f !== undefined && d !== undefined) return { error: "give either format or debug, not both" }
  if (d !== undefined) {
    return d === "1" ? "text" : d === "2" ? "flat-text" : { error: `debug must be 1 (grouped) or 2 (one entry per fiber), got '${d}'` }
  }
  if (f === "flat") return "flat"
  if (f !== undefined && f !== "json" && f !== "text" && f !== "html") {
    return { error: `format must be json, text, html or flat, got '${f}'` }
  }
  return LeakCheck.dumpFormatFor(f, accept)
}

/**
 * `make` as a `Layer`: the server runs for the layer's lifetime.
 * @since 0.1.0
 */
export const layer = (options: WorkServerOptions = {}): Layer.Layer<WorkServer, WorkServerError> =>
  Layer.scoped(WorkServer, make(options))
