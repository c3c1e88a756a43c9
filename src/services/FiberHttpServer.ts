/**
 * A `node:http` server in which each request is one fiber: the fast path under WorkServer (Go's
 * `http.Server` + `ServeMux` + `http.TimeoutHandler`, with `Shutdown`). Routes are Effect code;
 * this module is the only place that touches Node's request and response objects.
 *
 * Invariants (test/services/FiberHttpServer.test.ts and WorkServer.test.ts hold it to them):
 * 1. A request for a known path and method runs as exactly one fiber, forked from the runtime
 *    `make` ran in (its services, FiberRefs and supervisor, so `LeakCheck` sees request fibers),
 *    with a span `http.server <METHOD> <path>` as its parent span. An unknown path is answered
 *    404, a known path with another method 405 with `Allow`, both at once and without a fiber.
 *    `HEAD` is served by the `GET` handler (Node drops the body).
 * 2. The response is written exactly once, by this module, when the request's fiber has exited:
 *    success writes the handler's `Reply`; interruption by the deadline writes `deadline.reply`;
 *    interruption by the shutdown writes 503; a failure or defect writes 500 (and is logged). A
 *    client that is gone gets nothing. Handlers never see `ServerResponse`.
 * 3. The deadline is one timer, armed when the request starts and cleared when its fiber exits;
 *    when it fires it interrupts the fiber (as `deadlineFiberId`). No fiber is forked for it.
 *    The timers of `request.sleep` are cleared when the fiber exits too (or when they fire), so a
 *    wait needs no canceler: interrupting the fiber ends the wait at once, the exit clears it.
 * 4. A response closed before it was written (the client hung up) interrupts the fiber (as
 *    `clientFiberId`). Whatever interrupts first is the reason; later interrupts add nothing.
 * 5. Closing the scope is the graceful shutdown, and when it returns no request fiber is left:
 *    first every request that reached the host is taken in (the listener keeps accepting and
 *    sockets keep being read for a few event-loop turns, until a turn brings nothing new, so no
 *    connection is reset with a request unread); then the listener closes, idle connections are
 *    closed and every reply carries `Connection: close`; requests already received run to the
 *    end for up to `grace`; then the rest are interrupted (503), a request that still arrives is
 *    answered 503 without a fiber, and every connection is closed. The fibers interrupted then
 *    are taken at that moment and awaited, and the sockets and the server are closed even if a
 *    step before fails (`ensuring`), whatever the number of requests left.
 * 6. Each header is sent once: a reply's own `headers` replace the defaults they name
 *    (`Content-Type`, `Content-Length`, compared case-insensitively), except `Connection`
 *    during the shutdown (always `close`).
 *
 * Counters are plain numbers. Per request: one `InFlight` (which carries its own three callbacks),
 * one fiber, one timer; no fiber for the deadline, no `Ref`, no `FiberSet`, no `Set` (see
 * `InFlightList`). Under Effect's native tracer the span and the runtime a request fiber is forked
 * from are made once per route (see `make`); under another tracer each request gets its span.
 * What is left per request is mostly Effect's own fork and run loop (~6 KB allocated) and the
 * entry in Effect's global set of root fibers, which V8 keeps alive past the request the way it
 * kept requests in a `Set` (see `InFlightList`); bench/serve.ts measures it.
 *
 * @since 0.1.0
 */
import {
  Cause,
  Context,
  Data,
  DefaultServices,
  Duration,
  Effect,
  Exit,
  FiberId,
  HashSet,
  Option,
  Runtime,
  Tracer
} from "effect"
import type * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import * as Net from "node:net"

/**
 * The server could not start (`reason: "Listen"`: the port is taken, the host is not local, …).
 * @since 0.1.0
 */
export class FiberHttpServerError extends Data.TaggedError("FiberHttpServerError")<{
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

/**
 * What a handler sees of its request.
 * @since 0.1.0
 */
export interface Request {
  /** Upper case, as sent (`GET` for a `HEAD` served by a `GET` route). */
  readonly method: string
  /** The path, without the query string; this is what routes match, exactly. */
  readonly path: string
  /** The query string without its `?` (`""` if none). */
  readonly search: string
  /** `search` parsed, on first use. */
  readonly query: URLSearchParams
  readonly headers: Http.IncomingHttpHeaders
  /**
   * Go's `ctx.Err() != nil`: the deadline has passed, even if its timer has not fired yet
   * because the event loop is late. Check it before replying to treat a late result as late.
   */
  readonly deadlineExceeded: boolean
  /**
   * Waits `millis` ms: Go's `select { case <-time.After(d): case <-ctx.Done(): }` inside this
   * request. Interruptible at once, like `Effect.sleep` (the deadline, a hang-up, the shutdown, or
   * the handler's own interruption end the wait), but cheaper: instead of a canceler that runs on
   * interruption, its timer is cleared when the request ends (or when it fires). A wait started
   * after the request ended (in a fiber the handler left behind) is an ordinary `Effect.sleep`.
   * Real time: it does not follow a `TestClock`.
   */
  sleep(millis: number): Effect.Effect<void>
}

/**
 * A reply: `body` is sent as JSON (`undefined` sends no body), unless `contentType` is set: then
 * `body` is a string sent as it is, with that `Content-Type`.
 * @since 0.1.0
 */
export interface Reply {
  readonly status: number
  readonly body: unknown
  /**
   * Extra headers; one that names a default (`Content-Type`, `Content-Length`, any case)
   * replaces it. A `Content-Length` here is sent as it is: it must match the body (or, for
   * `HEAD`, what a `GET` would send).
   */
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly contentType?: string | undefined
}

// A class, not an object literal: V8 may pretenure a literal's allocation site (see `InFlight`).
class ReplyOf implements Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Readonly<Record<string, string>> | undefined,
    readonly contentType: string | undefined
  ) {}
}

/**
 * A JSON reply (`Content-Type: application/json`, unless `headers` names another, in any case).
 * @since 0.1.0
 */
export const json = (body: unknown, status = 200, headers?: Readonly<Record<string, string>>): Reply =>
  new ReplyOf(status, body, headers, undefined)

/**
 * A reply whose body is `body` as it is, e.g. `text(page, "text/html; charset=utf-8")`.
 * @since 0.1.0
 */
export const text = (body: string, contentType = "text/plain; charset=utf-8", status = 200): Reply =>
  new ReplyOf(status, body, undefined, contentType)

/**
 * A route's handler. It cannot fail: map errors to replies. A defect is a 500.
 * @since 0.1.0
 */
export type Handler<R> = (request: Request) => Effect.Effect<Reply, never, R>

/** @since 0.1.0 */
export interface Route<R> {
  readonly method: string
  readonly path: string
  readonly handler: Handler<R>
}

/** `GET path` (and `HEAD path`). @since 0.1.0 */
export const get = <R>(path: string, handler: Handler<R>): Route<R> => ({ method: "GET", path, handler })

/** A route for any method. @since 0.1.0 */
export const route = <R>(method: string, path: string, handler: Handler<R>): Route<R> => ({
  method: method.toUpperCase(),
  path,
  handler
})

/** @since 0.1.0 */
export interface Options<R> {
  /** 0 picks a free port (read it from `port` on the result). */
  readonly port: number
  readonly host: string
  readonly routes: ReadonlyArray<Route<R>>
  /**
   * Every request's deadline (Go's `http.TimeoutHandler` around the mux): when it passes, the
   * request's fiber is interrupted and `reply(request)` is sent. None by default.
   */
  readonly deadline?: {
    readonly after: Duration.DurationInput
    readonly reply: (request: Request) => Reply
  }
  /** On shutdown, how long requests already received may run before they are interrupted (default 5 s). */
  readonly grace?: Duration.DurationInput
}

/**
 * How the requests of one path have ended so far (plain counters, read without a fiber).
 * @since 0.1.0
 */
export interface Outcomes {
  /** The handler returned a reply (whatever its status). */
  readonly replied: number
  /** Interrupted by the deadline (`deadline.reply` was sent). */
  readonly deadline: number
  /** Interrupted because the client hung up. */
  readonly client: number
  /** Interrupted when the shutdown's grace ran out (503). */
  readonly shutdown: number
  /** Failed, died, or interrupted itself (500, or 503 for a self-interruption). */
  readonly failed: number
}

/**
 * A running server.
 * @since 0.1.0
 */
export interface Server {
  readonly host: string
  readonly port: number
  /** Request fibers running right now. */
  readonly inFlight: () => number
  /** How the requests for `path` have ended (all zero for a path with no route). */
  readonly outcomes: (path: string) => Outcomes
}

type MutableOutcomes = { -readonly [K in keyof Outcomes]: number }
const noOutcomes: Outcomes = { replied: 0, deadline: 0, client: 0, shutdown: 0, failed: 0 }

/** The interruptor when a request's deadline passes. @since 0.1.0 */
export const deadlineFiberId: FiberId.FiberId = FiberId.runtime(-504, 0)
/** The interruptor when the client hangs up before the reply. @since 0.1.0 */
export const clientFiberId: FiberId.FiberId = FiberId.runtime(-499, 0)
/** The interruptor when the shutdown's grace period runs out. @since 0.1.0 */
export const shutdownFiberId: FiberId.FiberId = FiberId.runtime(-503, 0)

/**
 * Why a request's fiber was interrupted, from the interruptors `Effect.onInterrupt` passes
 * (`undefined`: by something else, e.g. the handler's own scope).
 * @since 0.1.0
 */
export const interruptedBy = (interruptors: HashSet.HashSet<FiberId.FiberId>): Reason | undefined =>
  HashSet.has(interruptors, deadlineFiberId)
    ? "deadline"
    : HashSet.has(interruptors, clientFiberId)
    ? "client"
    : HashSet.has(interruptors, shutdownFiberId)
    ? "shutdown"
    : undefined

/** @since 0.1.0 */
export type Reason = "deadline" | "client" | "shutdown"

const interruptor: Record<Reason, FiberId.FiberId> = {
  deadline: deadlineFiberId,
  client: clientFiberId,
  shutdown: shutdownFiberId
}

/** A route for one method: its handler, and what its request fibers are forked from. */
interface Target<R> {
  readonly handler: Handler<R>
  /** `http.server <METHOD> <path>` */
  readonly name: string
  /** Under the native tracer, the route's runtime, its span in the context; else one per request. */
  readonly runtime: Runtime.Runtime<R> | undefined
  readonly outcomes: MutableOutcomes
}

/**
 * One request in flight: what the handler sees, plus the state this module settles it with. Its
 * callbacks are its own fields, made with it (no `once` wrapper, no timer argument array).
 */
class InFlight implements Request {
  readonly method: string
  readonly headers: Http.IncomingHttpHeaders
  fiber: Fiber.RuntimeFiber<Reply, never> | undefined = undefined
  timer: ReturnType<typeof setTimeout> | undefined = undefined
  /** Timers of `sleep`: the first one, and any started while it was pending. */
  sleepTimer: ReturnType<typeof setTimeout> | undefined = undefined
  moreSleepTimers: Array<ReturnType<typeof setTimeout>> | undefined = undefined
  span: Tracer.Span | undefined = undefined
  reason: Reason | undefined = undefined
  done = false
  /** Neighbours in the server's `InFlightList`. */
  prev: InFlight | undefined = undefined
  next: InFlight | undefined = undefined
  private parsed: URLSearchParams | undefined = undefined
  constructor(
    readonly req: Http.IncomingMessage,
    readonly res: Http.ServerResponse,
    readonly path: string,
    readonly search: string,
    readonly startedAt: number,
    readonly deadlineMs: number,
    readonly outcomes: MutableOutcomes,
    private readonly settle: (request: InFlight, exit: Exit.Exit<Reply, never>) => void
  ) {
    this.method = req.method === "HEAD" ? "GET" : req.method!
    this.headers = req.headers
  }
  get query(): URLSearchParams {
    return (this.parsed ??= new URLSearchParams(this.search))
  }
  get deadlineExceeded(): boolean {
    return this.reason === "deadline" || (this.deadlineMs > 0 && Date.now() - this.startedAt >= this.deadlineMs)
  }
  /** The first reason wins; a later one adds nothing (invariant 4). */
  interrupt(reason: Reason): void {
    if (this.done || this.fiber === undefined || this.reason !== undefined) return
    this.reason = reason
    this.fiber.unsafeInterruptAsFork(interruptor[reason])
  }
  sleep(millis: number): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      const timer = setTimeout(() => {
        this.forget(timer)
        resume(Effect.void)
      }, millis)
      if (this.done) return Effect.sync(() => clearTimeout(timer))
      if (this.sleepTimer === undefined) this.sleepTimer = timer
      else (this.moreSleepTimers ??= []).push(timer)
    })
  }
  private forget(timer: ReturnType<typeof setTimeout>): void {
    if (this.sleepTimer === timer) this.sleepTimer = undefined
    else if (this.moreSleepTimers !== undefined) {
      const i = this.moreSleepTimers.indexOf(timer)
      if (i !== -1) this.moreSleepTimers.splice(i, 1)
    }
  }
  /** Clears the timers of `sleep` (when the request ends). */
  clearSleeps(): void {
    clearTimeout(this.sleepTimer)
    this.sleepTimer = undefined
    if (this.moreSleepTimers !== undefined) for (const timer of this.moreSleepTimers) clearTimeout(timer)
    this.moreSleepTimers = undefined
  }
  readonly onExit = (exit: Exit.Exit<Reply, never>): void => this.settle(this, exit)
  readonly onDeadline = (): void => this.interrupt("deadline")
  readonly onClose = (): void => {
    if (!this.res.writableEnded) this.interrupt("client")
  }
}

/**
 * The requests in flight, as a list threaded through them. Not a `Set`: in V8 a long-lived `Set`
 * that keeps adding and deleting short-lived objects keeps them alive past their delete until a
 * full GC (a rehashed table still holds the entries it had, and an old-generation table is a root
 * for every scavenge). Measured: with a `Set` here, 3 KB of each request's 17 KB survived two
 * scavenges and were promoted; a bare loop adding and deleting 5 KB objects, 64 alive at a time,
 * runs 54 full GCs and 5x the CPU of the same loop without the `Set`.
 */
class InFlightList {
  private head: InFlight | undefined = undefined
  size = 0
  add(request: InFlight): void {
    request.next = this.head
    if (this.head !== undefined) this.head.prev = request
    this.head = request
    this.size++
  }
  remove(request: InFlight): void {
    if (request.prev !== undefined) request.prev.next = request.next
    else if (this.head === request) this.head = request.next
    else return // not in the list
    if (request.next !== undefined) request.next.prev = request.prev
    request.prev = request.next = undefined
    this.size--
  }
  toArray(): Array<InFlight> {
    const all: Array<InFlight> = []
    for (let r = this.head; r !== undefined; r = r.next) all.push(r)
    return all
  }
}

/**
 * Starts the server in the current `Scope` and returns once it listens. Closing the scope is the
 * graceful shutdown (invariant 5 above; Go's `Server.Shutdown` then `Close` after `grace`). Fails
 * with `FiberHttpServerError` if it cannot listen; interrupting the start closes the socket.
 *
 * @since 0.1.0
 */
export const make = <R = never>(options: Options<R>): Effect.Effect<Server, FiberHttpServerError, Scope.Scope | R> =>
  Effect.gen(function*() {
    const { host, port } = options
    const grace = options.grace ?? Duration.seconds(5)
    const deadlineMs = options.deadline === undefined ? 0 : Duration.toMillis(options.deadline.after)
    const deadlineReply = options.deadline?.reply
    const runtime = yield* Effect.runtime<R>()
    const tracer = yield* Effect.tracer
    const clock = yield* Effect.clock
    // Effect's own tracer records nothing: a span there only names the fiber (LeakCheck's dump
    // shows it). So each route gets one span, made once, and a runtime with it as the parent span
    // (a span and a context per request cost five allocations, some of them pretenured by V8).
    const native = tracer === Context.get(DefaultServices.liveServices, Tracer.Tracer)
    const routeRuntime = (name: string): Runtime.Runtime<R> | undefined =>
      native
        ? Runtime.make({
          context: Context.add(runtime.context, Tracer.ParentSpan, new RouteSpan(name, clock.unsafeCurrentTimeNanos())),
          fiberRefs: runtime.fiberRefs,
          runtimeFlags: runtime.runtimeFlags
        })
        : undefined

    // path -> method -> target, and each path's `Allow`
    const table = new Map<string, { targets: Map<string, Target<R>>; allow: string; outcomes: MutableOutcomes }>()
    for (const r of options.routes) {
      const entry = table.get(r.path) ?? { targets: new Map(), allow: "", outcomes: { ...noOutcomes } }
      const name = `http.server ${r.method} ${r.path}`
      const target: Target<R> = { handler: r.handler, name, runtime: routeRuntime(name), outcomes: entry.outcomes }
      entry.targets.set(r.method, target)
      if (r.method === "GET" && !entry.targets.has("HEAD")) entry.targets.set("HEAD", target)
      entry.allow = [...entry.targets.keys()].join(", ")
      table.set(r.path, entry)
    }

    let closing = false
    let stopped = false // grace over: no new request fiber may start
    const inFlight = new InFlightList()
    const sockets = new Set<Net.Socket>()
    let arrivals = 0 // connections accepted + requests received: the shutdown's drain watches it
    let onQuiet: (() => void) | undefined = undefined
    const checkQuiet = () => {
      if (onQuiet !== undefined && inFlight.size === 0 && sockets.size === 0) onQuiet()
    }

    const write = (res: Http.ServerResponse, reply: Reply): void => {
      if (res.headersSent || res.destroyed) return
      let text: string
      try {
        text = reply.contentType !== undefined
          ? String(reply.body)
          : reply.body === undefined
          ? ""
          : JSON.stringify(reply.body)
      } catch {
        text = JSON.stringify({ error: "internal error: reply is not JSON" })
        reply = { status: 500, body: undefined }
      }
      // name, value, name, value: Node writes an array as it is (an object needs its keys listed)
      const headers = reply.headers === undefined
        ? ["content-type", reply.contentType ?? "application/json", "content-length", String(Buffer.byteLength(text))]
        : withOwnHeaders(reply, text, closing)
      if (closing) headers.push("connection", "close")
      res.writeHead(reply.status, headers)
      res.end(text)
    }

    const settle = (request: InFlight, exit: Exit.Exit<Reply, never>): void => {
      request.done = true
      request.fiber = undefined // nothing that still holds the request reaches the fiber
      clearTimeout(request.timer)
      request.clearSleeps()
      inFlight.remove(request)
      request.span?.end(clock.unsafeCurrentTimeNanos(), exit)
      const outcomes = request.outcomes
      if (exit._tag === "Success") {
        outcomes.replied++
        write(request.res, exit.value)
      } else if (Cause.isInterruptedOnly(exit.cause) && request.reason !== undefined) {
        outcomes[request.reason]++
        if (request.reason === "deadline" && deadlineReply !== undefined) write(request.res, deadlineReply(request))
        else write(request.res, json({ error: "server shutting down" }, 503))
      } else if (Cause.isInterruptedOnly(exit.cause)) {
        outcomes.failed++
        write(request.res, json({ error: "request interrupted" }, 503))
      } else {
        outcomes.failed++
        Runtime.runFork(runtime, Effect.logError(`${request.method} ${request.path}: request failed`, exit.cause))
        write(request.res, json({ error: "internal error" }, 500))
      }
      checkQuiet()
    }

    const onRequest = (req: Http.IncomingMessage, res: Http.ServerResponse): void => {
      arrivals++
      const url = req.url ?? "/"
      const q = url.indexOf("?")
      const path = q === -1 ? url : url.slice(0, q)
      const entry = table.get(path)
      if (entry === undefined) return write(res, json({ error: `not found: ${path}` }, 404))
      const target = entry.targets.get(req.method ?? "")
      if (target === undefined) {
        return write(
          res,
          json({ error: `method ${req.method} not allowed on ${path} (allowed: ${entry.allow})` }, 405, {
            allow: entry.allow
          })
        )
      }
      if (stopped) return write(res, json({ error: "server shutting down" }, 503))
      const request = new InFlight(req, res, path, q === -1 ? "" : url.slice(q + 1), Date.now(), deadlineMs, target.outcomes, settle)
      let effect: Effect.Effect<Reply, never, R>
      try {
        effect = target.handler(request)
      } catch (e) {
        effect = Effect.die(e)
      }
      let requestRuntime = target.runtime
      if (requestRuntime === undefined) {
        const span = tracer.span(target.name, Option.none(), Context.empty(), [], clock.unsafeCurrentTimeNanos(), "server")
        request.span = span
        requestRuntime = Runtime.make({
          context: Context.add(runtime.context, Tracer.ParentSpan, span),
          fiberRefs: runtime.fiberRefs,
          runtimeFlags: runtime.runtimeFlags
        })
      }
      inFlight.add(request)
      if (deadlineMs > 0) request.timer = setTimeout(request.onDeadline, deadlineMs)
      const fiber = Runtime.runFork(requestRuntime, effect)
      request.fiber = fiber
      fiber.addObserver(request.onExit)
      res.on("close", request.onClose)
    }

    const server = Http.createServer(onRequest)
    server.on("connection", (socket: Net.Socket) => {
      arrivals++
      sockets.add(socket)
      socket.once("close", () => {
        sockets.delete(socket)
        checkQuiet()
      })
    })
    // An accept error (EMFILE) is transient; without a listener Node would crash the process.
    const onServerError = () => {}

    yield* Effect.async<void, FiberHttpServerError>((resume) => {
      const onListenError = (cause: unknown) =>
        resume(Effect.fail(new FiberHttpServerError({ reason: "Listen", host, port, cause })))
      server.once("error", onListenError)
      server.listen(port, host, () => {
        server.off("error", onListenError)
        server.on("error", onServerError)
        resume(Effect.void)
      })
      return Effect.sync(() => server.close())
    })

    // Invariant 5. Finalizers run uninterruptibly: only the wait for in-flight requests is made
    // interruptible, so that the grace period can cut it short.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        closing = true
        const graceEnds = Date.now() + Duration.toMillis(grace)
        yield* drain(() => arrivals, graceEnds)
        Net.Server.prototype.close.call(server) // stop accepting (http's close would also reset idle sockets)
        // Idle connections: between two requests (Node's own notion), or never sent a byte (Node
        // counts those as active, to time out their headers). Neither has anything to answer.
        server.closeIdleConnections()
        for (const socket of sockets) if (socket.bytesRead === 0) socket.destroy()
        yield* Effect.interruptible(
          Effect.async<void>((resume) => {
            onQuiet = () => resume(Effect.void)
            checkQuiet()
            return Effect.sync(() => (onQuiet = undefined))
          })
        ).pipe(Effect.timeoutOption(Duration.millis(Math.max(0, graceEnds - Date.now()))))
      }).pipe(
        // Whatever happens above, the requests left are interrupted and awaited, then every socket
        // and the server are closed: each step runs even if the one before it fails.
        Effect.ensuring(Effect.suspend(() => {
          onQuiet = undefined
          stopped = true
          // The fibers, taken now: `settle` clears `request.fiber` as each one ends, and they end
          // while this waits for the others (they are all interrupted at once).
          const fibers: Array<Fiber.RuntimeFiber<Reply, never>> = []
          for (const request of inFlight.toArray()) {
            if (request.fiber !== undefined) fibers.push(request.fiber)
            request.interrupt("shutdown")
          }
          return Effect.forEach(fibers, (fiber) => fiber.await, { discard: true })
        })),
        Effect.ensuring(Effect.sync(() => {
          // what is still open: replies being flushed (close once flushed), requests still arriving
          for (const socket of sockets) socket.destroySoon()
          server.off("error", onServerError)
          server.close() // clears http's connection-checking interval; the listener is already closed
        }))
      )
    )

    const address = server.address()
    return {
      host,
      port: typeof address === "object" && address !== null ? address.port : port,
      inFlight: () => inFlight.size,
      outcomes: (path) => table.get(path)?.outcomes ?? noOutcomes
    }
  })

/**
 * The headers of a reply that sets some of its own: the reply's win. A default (`Content-Type`,
 * `Content-Length`) the reply sets itself, in any case, is not sent; during the shutdown the
 * reply's `Connection` is dropped, since every reply then carries `Connection: close` (invariant
 * 5). A reply without headers never comes here (`write` builds its four entries directly).
 */
const withOwnHeaders = (reply: Reply, text: string, closing: boolean): Array<string> => {
  const own = reply.headers!
  const headers: Array<string> = []
  let type = false
  let length = false
  for (const name in own) {
    const lower = name.toLowerCase()
    if (lower === "content-type") type = true
    else if (lower === "content-length") length = true
    else if (lower === "connection" && closing) continue
    headers.push(name, own[name]!)
  }
  if (!type) headers.push("content-type", reply.contentType ?? "application/json")
  if (!length) headers.push("content-length", String(Buffer.byteLength(text)))
  return headers
}

/**
 * Waits until three event-loop turns in a row bring no new connection and no new request, or
 * `until` (a `Date.now()` time) passes. Node accepts one queued connection per turn and reads a
 * new socket in the turn after accepting it, so when it returns, the connections that were in
 * the accept queue and the requests that were in socket buffers have been taken in: closing the
 * listener and the idle connections resets none of them. A steady stream of new connections
 * keeps it going until `until`.
 */
const drain = (arrivals: () => number, until: number): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    let last = arrivals()
    let quietTurns = 0
    let handle: ReturnType<typeof setImmediate> | undefined
    const turn = () => {
      const now = arrivals()
      quietTurns = now === last ? quietTurns + 1 : 0
      last = now
      if (quietTurns >= 3 || Date.now() >= until) return resume(Effect.void)
      handle = setImmediate(turn)
    }
    handle = setImmediate(turn)
    return Effect.sync(() => clearImmediate(handle))
  })

let spanIds = 0

/**
 * A route's span under Effect's native tracer, which records nothing: it names the route's
 * request fibers (`http.server GET /work`) and is the parent of the spans their handlers open.
 * Shared by every request of the route, so it is never ended and keeps no attributes or events.
 */
class RouteSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly parent = Option.none()
  readonly context = Context.empty()
  readonly links: ReadonlyArray<Tracer.SpanLink> = []
  readonly sampled = true
  readonly kind = "server"
  readonly traceId = "native"
  readonly spanId: string
  readonly attributes: ReadonlyMap<string, unknown> = new Map()
  readonly status: Tracer.SpanStatus
  constructor(readonly name: string, startTime: bigint) {
    this.spanId = (++spanIds).toString(16)
    this.status = { _tag: "Started", startTime }
  }
  end(): void {}
  attribute(): void {}
  event(): void {}
  addLinks(): void {}
}
