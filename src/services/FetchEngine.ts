/**
 * The fetch engine under `UrlFetcher`: undici's callback `dispatch` driven by one fiber per batch.
 * This is leakproof's one fast path below the combinators (STYLE.md, last section); `UrlFetcher`
 * exposes it as ordinary `Effect`s, `Chan`s and `Stream`s with typed errors.
 *
 * Shape: a batch has one driver fiber. It pulls URLs only as dispatch slots free up, starts each
 * request with `transport.dispatch(options, attempt)`, where the `Attempt` object is the handler,
 * and hands finished outcomes to `emit` (a `Chan.send`: a slow consumer holds back new requests).
 * Handler callbacks never run Effect code: they settle their attempt, push it on the ready list and
 * wake the driver at most once per event-loop turn (`setImmediate`), so a turn's completions cost
 * one fiber resume. Timeouts, backoffs and the batch deadline are due times on the batch's `Clock`
 * (so `TestClock` drives them): in-flight attempts form a FIFO list in due order (one timeout per
 * batch and a monotonic clock make append order due order), backoffs a small sorted list, and one
 * timer fiber per batch sleeps until the earliest due time; it is restarted only when an earlier
 * one appears (a short backoff). A `get` is a batch of one: it runs in the caller's fiber, is
 * resumed directly (nothing to batch) and shares one timer per layer (`SharedTimer`). No fiber,
 * `Deferred`, span or `Effect.timeout` per request.
 *
 * Invariants:
 * 1. Every URL pulled from the source gets exactly one outcome, handed to `emit` once, unless the
 *    batch stops first (interruption, deadline, a failing source); the ones without an outcome then
 *    count as cancelled. An attempt settles at most once (`settled`); every callback after that is
 *    ignored, whatever the transport does.
 * 2. Nothing thrown while handling one URL escapes: an exception in a callback, in header or
 *    `Location` parsing, in the file sink or in `dispatch` itself settles that URL with a typed
 *    `FetchError` (`Internal` unless a better reason is known).
 * 3. Only the driver fiber dispatches and emits. Callbacks and the timer only settle attempts,
 *    push them on the ready list and wake the driver.
 * 4. Stopping (the driver's exit: done, interrupted, deadline) aborts every attempt in flight
 *    synchronously (a batch that owns its transport destroys it in one sweep, otherwise one abort
 *    per request with a preallocated reason), discards partial files and interrupts the timer.
 *    It never waits for I/O or for a timer; interruption is never delayed by a timeout. An owned
 *    transport is handed back for the next batch (`release`, keep-alive connections kept) only
 *    when nothing the batch dispatched is still on the wire (`Batch.wire`: every dispatch ended
 *    by the transport's `onComplete` or `onError`); otherwise it is destroyed.
 * 5. The first attempt goes straight through: retry, redirect and file machinery is touched only
 *    when a response asks for it.
 *
 * @since 0.1.0
 */
import { Cause, Clock, Context, Duration, Effect, Exit, Fiber, FiberId, FiberRef, Random, Runtime, Stream } from "effect"
import type * as MetricLabel from "effect/MetricLabel"
import type * as Scope from "effect/Scope"
import type { Dispatcher } from "undici"
import * as AsyncIterableStream from "../domain/AsyncIterableStream.js"
import { BodyFile } from "./BodyFile.js"
import type { FetchErrorReason, FetchOptions, FetchOutcome } from "../domain/FetchOutcome.js"
import { Fetched, FetchError, isTransient } from "../domain/FetchOutcome.js"
import type { BatchTransport, Transport } from "./HttpDispatcher.js"

// ---------------------------------------------------------------------------------------------
// Public shapes
// ---------------------------------------------------------------------------------------------

/**
 * Where a batch's URLs come from: pulled lazily, only as dispatch slots free up. An `Iterable` is
 * pulled synchronously; a `Stream` or `AsyncIterable` by one feeder fiber that stays at most
 * `concurrency` URLs ahead (so a file read line by line is never held whole).
 * @since 0.1.0
 */
export type UrlSource<E = never, R = never> = Iterable<string> | AsyncIterable<string> | Stream.Stream<string, E, R>

/**
 * How a batch ended: how many URLs were pulled from the source and how many outcomes were handed
 * out, and whether the deadline cut it short (the difference is then the cancelled ones).
 * @since 0.1.0
 */
export interface BatchReport {
  readonly urls: number
  readonly delivered: number
  readonly deadline: boolean
}

/** What a batch records, with `unsafeUpdate` (no effect per request). */
export interface Metrics {
  readonly succeeded: MetricLike
  readonly failed: MetricLike
  readonly cancelled: MetricLike
  readonly duration: MetricLike
}
interface MetricLike {
  unsafeUpdate(input: number, extraTags: ReadonlyArray<MetricLabel.MetricLabel>): void
}

/**
 * Tracing: `"none"`, one span per batch (`"batch"`, the default), or also one span per URL
 * (`"request"`, made from the batch's tracer at delivery; no span machinery on the hot path).
 * @since 0.1.0
 */
export type Spans = "none" | "batch" | "request"

/** What the engine is built with (the layer's part). */
export interface Engine {
  readonly transport: Transport
  readonly metrics: Metrics
  readonly spans: Spans
  /** One timer for every `get` of the engine (see `SharedTimer`); without it each `get` forks its own. */
  readonly timer?: SharedTimer
}

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

/**
 * The reason every abort passes to undici. Preallocated: undici would otherwise build (and
 * symbolicate) an error with a stack trace per aborted request, a third of a mass cancel's time.
 */
const ABORTED: Error = (() => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return new Error("leakproof: request abandoned (cancelled, timed out or over the body limit)")
  } finally {
    Error.stackTraceLimit = limit
  }
})()

const EMPTY = new Uint8Array(0)
const PREALLOCATE = 1024 * 1024
const REDIRECTS = new Set([300, 301, 302, 303, 307, 308])

const enum Action {
  Deliver,
  Redirect,
  Retry,
  Dispatch
}

const enum State {
  Headers,
  Body,
  Redirecting,
  Discarding,
  Finishing,
  Settled
}

const message = (e: unknown): string => {
  if (e instanceof Error) return e.message || (e as { code?: string }).code || e.name
  try {
    return String(e)
  } catch {
    return "unknown error"
  }
}

/** `raw` is undici's flat [name, value, ...] list (Buffers, or strings from some dispatchers). */
const header = (raw: unknown, name: string): string | undefined => {
  if (!Array.isArray(raw)) return undefined
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k: unknown = raw[i]
    if (k === null || k === undefined || (k as { length?: number }).length !== name.length) continue
    if (Buffer.isBuffer(k) ? sameName(k, name) : latin1(k).toLowerCase() === name) return latin1(raw[i + 1])
  }
  return undefined
}

/** `k` spells the lower-case `name` in any case (compared byte by byte: no string per header). */
const sameName = (k: Buffer, name: string): boolean => {
  for (let j = 0; j < name.length; j++) {
    let c = k[j]!
    if (c >= 65 && c <= 90) c += 32
    if (c !== name.charCodeAt(j)) return false
  }
  return true
}

const latin1 = (v: unknown): string => (Buffer.isBuffer(v) ? v.toString("latin1") : Array.isArray(v) ? latin1(v[0]) : String(v))

/**
 * A `FetchError` without a stack trace: it would only point into this module, and capturing one
 * per failure is measurable in a batch of many failures.
 */
const fetchError = (props: ConstructorParameters<typeof FetchError>[0]): FetchError => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return new FetchError(props)
  } finally {
    Error.stackTraceLimit = limit
  }
}

/** Sets `Error.stackTraceLimit` to 0 around `f`: undici allocates an error per abort. */
const withoutStacks = (f: () => void): void => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    f()
  } finally {
    Error.stackTraceLimit = limit
  }
}

// ---------------------------------------------------------------------------------------------
// One attempt: the undici handler
// ---------------------------------------------------------------------------------------------

/**
 * One request on the wire (a URL's first try, a retry, or a redirect hop), and the undici handler
 * for it. Per-URL fields (`url`, `attempt`, `redirects`, `startMs`) are copied to the next attempt.
 */
class Attempt implements Dispatcher.DispatchHandler {
  // in-flight list (due order)
  prev: Attempt | undefined = undefined
  next: Attempt | undefined = undefined
  linked = false
  due = 0
  /** Dispatched and not yet ended by the transport (`onComplete`/`onError`): see `Batch.wire`. */
  onWire = false
  // transport
  private abortFn: ((err?: Error) => void) | undefined = undefined
  private resumeFn: (() => void) | undefined = undefined
  state = State.Headers
  status = 0
  bytes = 0
  private chunks: Array<Uint8Array> | undefined = undefined
  /** A declared length's body, filled as chunks arrive (no chunk kept: socket buffers go at once). */
  private buf: Uint8Array | undefined = undefined
  private file: BodyFile | undefined = undefined
  // what the driver does with it once settled
  action = Action.Deliver
  outcome: FetchOutcome | undefined = undefined
  redirectTo = ""
  retryAt = 0
  delivered = false

  constructor(
    readonly batch: Batch,
    readonly url: string,
    readonly href: string,
    readonly origin: string,
    readonly path: string,
    readonly attempt: number,
    readonly redirects: number,
    readonly startMs: number
  ) {}

  // ---- undici's handler protocol (each entry point settles on any exception) ----------------

  onConnect(abort: (err?: Error) => void): void {
    if (this.state === State.Settled) {
      withoutStacks(() => safeAbort(abort))
      return
    }
    this.abortFn = abort
  }

  onHeaders(status: number, raw: Array<Buffer>, resume: () => void): boolean {
    if (this.state !== State.Headers) return this.unexpected("response headers")
    try {
      this.resumeFn = resume
      return this.headers(status, raw)
    } catch (e) {
      this.settleFailure("Internal", `unexpected error while reading the response headers: ${message(e)}`)
      return false
    }
  }

  onData(chunk: Buffer): boolean {
    const s = this.state
    if (s === State.Settled) return false
    try {
      if (s === State.Headers || s === State.Finishing) return this.unexpected("response data")
      const n = chunk.length
      this.bytes += n
      if (this.bytes > this.batch.options.maxBodyBytes) {
        if (s === State.Body) return this.tooLarge(), false
        // an oversized redirect or error body: stop reading it (settling aborts), keep what it said
        this.afterBody()
        return false
      }
      if (s !== State.Body) return true
      const buf = this.buf
      if (buf !== undefined) {
        if (this.bytes <= buf.length) {
          buf.set(chunk, this.bytes - n)
          return true
        }
        // more than declared (only a broken transport): keep going with chunks
        this.chunks = [buf.subarray(0, this.bytes - n)]
        this.buf = undefined
      }
      if (this.chunks !== undefined) {
        this.chunks.push(chunk)
        return true
      }
      if (this.file !== undefined) {
        if (this.file.write(chunk)) return true
        const resume = this.resumeFn
        if (resume !== undefined) this.file.onDrain(() => this.state === State.Body && safeCall(resume))
        return false
      }
      return true
    } catch (e) {
      this.settleFailure("Internal", `unexpected error while reading the body: ${message(e)}`)
      return false
    }
  }

  onComplete(): void {
    this.offWire()
    const s = this.state
    if (s === State.Settled) return
    try {
      if (s === State.Headers || s === State.Finishing) return void this.unexpected("end of response")
      this.abortFn = undefined // the request is over: nothing left to abort
      this.afterBody()
    } catch (e) {
      this.settleFailure("Internal", `unexpected error at the end of the response: ${message(e)}`)
    }
  }

  onError(err: Error): void {
    this.offWire()
    if (this.state === State.Settled) return
    this.abortFn = undefined // undici has ended the request
    try {
      this.settleFailure("Transport", message(err))
    } catch {
      // settleFailure does not throw; belt and braces for invariant 2
    }
  }

  // ---- response handling ---------------------------------------------------------------

  private headers(status: number, raw: Array<Buffer>): boolean {
    const o = this.batch.options
    if (typeof status !== "number" || !Number.isInteger(status) || status < 100 || status > 599) {
      this.settleFailure("Status", `HTTP ${String(status)} (not a valid status)`, typeof status === "number" ? status : undefined)
      return false
    }
    if (status < 200) return true // informational: the final response follows
    this.status = status
    const length = header(raw, "content-length")
    const declared = length !== undefined && /^\d+$/.test(length) ? Number(length) : -1
    if (status >= 300 && status < 400) {
      const location = header(raw, "location")
      if (!REDIRECTS.has(status) || location === undefined) {
        this.state = State.Discarding
      } else if (this.redirects >= o.maxRedirects) {
        this.settleFailure("Status", `HTTP ${status} after ${o.maxRedirects} redirects`, status)
        return false
      } else {
        const target = resolveRedirect(location, this.href)
        if (typeof target === "string") {
          this.settleFailure("InvalidRedirect", target)
          return false
        }
        this.redirectTo = target.href
        this.state = State.Redirecting
      }
      if (declared > o.maxBodyBytes) return this.afterBody(), false
      return true
    }
    if (status >= 300) {
      this.state = State.Discarding
      if (declared > o.maxBodyBytes) return this.afterBody(), false
      return true
    }
    if (declared > o.maxBodyBytes) return this.tooLarge(), false
    this.state = State.Body
    const mode = o.body
    if (mode === "memory") {
      // A declared length up to 1 MiB is allocated up front and filled as chunks arrive, so socket
      // buffers are let go at once (one copy); a larger one is only trusted as bytes arrive (a
      // server declaring 10 MiB and sending nothing must not cost 10 MiB). Not zero-filled: every
      // byte is written before the body is handed out, or the body is cut to `bytes`. Bodies under
      // 4 KiB come from Node's buffer pool (a slice of a shared 8 KiB slab, as Node's own small
      // Buffers are): a backing store of its own costs ~0.5 us more per body, plus the collector's
      // external-memory accounting.
      if (declared >= 0 && declared <= PREALLOCATE) this.buf = declared === 0 ? EMPTY : Buffer.allocUnsafe(declared)
      else this.chunks = []
    }
    else if (mode !== "discard") {
      try {
        this.file = new BodyFile(mode.dir, this.url, (e) => this.settleFailure("Output", `cannot write ${this.file?.final}: ${message(e)}`))
      } catch (e) {
        this.settleFailure("Output", `cannot create a file in ${mode.dir}: ${message(e)}`)
        return false
      }
    }
    return true
  }

  /** The body is over (or no longer wanted): decide what the response amounts to. */
  private afterBody(): void {
    const s = this.state
    if (s === State.Redirecting) return this.settle(Action.Redirect, undefined)
    if (s === State.Discarding) {
      return this.settleFailure("Status", `HTTP ${this.status}`, this.status)
    }
    if (s !== State.Body) return
    if (this.file !== undefined) {
      const file = this.file
      this.state = State.Finishing
      file.finish((e) => {
        if (this.state !== State.Finishing) return
        if (e !== undefined) return this.settleFailure("Output", `cannot write ${file.final}: ${message(e)}`)
        this.file = undefined
        this.succeed(EMPTY, file.final)
      })
      return
    }
    let body: Uint8Array = EMPTY
    const buf = this.buf
    const chunks = this.chunks
    if (buf !== undefined) {
      // a plain Uint8Array view of our own memory (fewer bytes than declared: cut to them)
      body = new Uint8Array(buf.buffer, buf.byteOffset, Math.min(this.bytes, buf.length))
      this.buf = undefined
    } else if (chunks !== undefined) {
      // One copy into a body of its own: the chunks are views into undici's socket buffers.
      const own = Buffer.allocUnsafe(this.bytes)
      body = new Uint8Array(own.buffer, own.byteOffset, this.bytes)
      let offset = 0
      for (let i = 0; i < chunks.length; i++) {
        const c = chunks[i]!
        body.set(c, offset)
        offset += c.length
      }
      this.chunks = undefined
    }
    this.succeed(body, undefined)
  }

  private succeed(body: Uint8Array, file: string | undefined): void {
    const b = this.batch
    const durationMs = b.clock.unsafeCurrentTimeMillis() - this.startMs
    this.settle(
      Action.Deliver,
      new Fetched(
        file === undefined
          ? { url: this.url, status: this.status, body, bytes: this.bytes, durationMs, attempts: this.attempt }
          : { url: this.url, status: this.status, body, bytes: this.bytes, file, durationMs, attempts: this.attempt }
      )
    )
  }

  private tooLarge(): void {
    this.settleFailure("BodyTooLarge", `body larger than ${this.batch.options.maxBodyBytes} bytes`)
  }

  /** A callback out of order (only a broken transport does that): this URL's failure. */
  private unexpected(what: string): false {
    if (this.state !== State.Settled) this.settleFailure("Internal", `unexpected ${what} from the transport`)
    return false
  }

  /** Settles with a failure: a retry if it is transient and tries are left, else the outcome. */
  settleFailure(reason: FetchErrorReason, detail: string, status?: number): void {
    if (this.state === State.Settled) return
    const error = fetchError(
      status === undefined
        ? { url: this.url, reason, detail, attempts: this.attempt }
        : { url: this.url, reason, detail, status, attempts: this.attempt }
    )
    this.settle(isTransient(error) && this.attempt <= this.batch.options.retries ? Action.Retry : Action.Deliver, error)
  }

  /**
   * The one gate to an outcome: at most once per attempt. The state is `Settled` before the
   * transport is told to abort, so the `onError` it may call back synchronously is ignored.
   */
  private settle(action: Action, outcome: FetchOutcome | undefined): void {
    if (this.state === State.Settled) return
    this.state = State.Settled
    this.action = action
    this.outcome = outcome
    this.abortTransport()
    this.dropBody()
    this.batch.unlink(this)
    this.batch.ready(this)
  }

  /**
   * Forgets the request (for `Batch.abortInFlight`): settled without an outcome, body dropped;
   * aborted on the wire unless the caller tears the whole transport down instead.
   */
  cancel(abort: boolean): void {
    this.state = State.Settled
    if (abort) this.abortTransport()
    else this.abortFn = undefined
    this.dropBody()
  }

  /** The transport has ended this request (counted once, whatever it calls afterwards). */
  offWire(): void {
    if (!this.onWire) return
    this.onWire = false
    this.batch.wire--
  }

  private abortTransport(): void {
    const abort = this.abortFn
    if (abort === undefined) return
    this.abortFn = undefined
    withoutStacks(() => safeAbort(abort))
  }

  private dropBody(): void {
    this.chunks = undefined
    this.buf = undefined
    const file = this.file
    if (file !== undefined) {
      this.file = undefined
      try {
        file.discard()
      } catch {
        // the file is gone either way
      }
    }
  }
}

const safeAbort = (abort: (err?: Error) => void): void => {
  try {
    abort(ABORTED)
  } catch {
    // a transport that throws from abort has still been told
  }
}

const safeCall = (f: () => void): void => {
  try {
    f()
  } catch {
    // resuming a request that has ended
  }
}

/** The redirect target, or why it is not one (an `InvalidRedirect` detail). */
const resolveRedirect = (location: string, base: string): URL | string => {
  let target: URL
  try {
    target = new URL(location, base)
  } catch {
    return `malformed Location '${location}'`
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    return `Location '${location}' has unsupported scheme '${target.protocol.replace(/:$/, "")}'`
  }
  return target
}

/** A URL checked once: origin and path for undici, or why it is not fetchable. */
const parseUrl = (url: string): { readonly href: string; readonly origin: string; readonly path: string } | string => {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return "not an absolute URL"
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return `unsupported scheme '${u.protocol.replace(/:$/, "")}'`
  return { href: u.href, origin: u.origin, path: `${u.pathname}${u.search}` }
}

// ---------------------------------------------------------------------------------------------
// The batch: shared state of the driver, the callbacks and the timer
// ---------------------------------------------------------------------------------------------

/** The request headers of an options object, made once per object (every request shares them). */
const headersCache = new WeakMap<FetchOptions, Array<string>>()
const headersOf = (options: FetchOptions): Array<string> => {
  let h = headersCache.get(options)
  if (h === undefined) {
    h = ["user-agent", options.userAgent]
    headersCache.set(options, h)
  }
  return h
}

class Batch {
  readonly timeoutMs: number
  readonly headers: Array<string>
  // in-flight attempts, due order (FIFO)
  private head: Attempt | undefined = undefined
  private tail: Attempt | undefined = undefined
  // attempts waiting out a backoff, sorted by retryAt
  private readonly backoffs: Array<Attempt> = []
  deadlineAt = Infinity
  // settled attempts waiting for the driver
  private readyList: Array<Attempt | undefined> = []
  private readyHead = 0
  // async sources: URLs fed ahead of the driver
  pending: Array<string> = []
  pendingHead = 0
  sourceDone = false
  sourceFailure: Cause.Cause<unknown> | undefined = undefined
  feederResume: ((e: Effect.Effect<void>) => void) | undefined = undefined
  // counters
  active = 0
  /**
   * Requests the transport still owns (dispatched, not yet ended by `onComplete`/`onError`): an
   * owned transport is handed back for reuse only when this is 0 (nothing on the wire, not even a
   * request aborted before it reached a socket).
   */
  wire = 0
  urls = 0
  delivered = 0
  stopped = false
  deadlineHit = false
  // wake-ups
  private parked: ((e: Effect.Effect<void>) => void) | undefined = undefined
  private wakeScheduled = false
  timerTarget = Infinity
  timerResume: ((e: Effect.Effect<void>) => void) | undefined = undefined
  timer: Fiber.RuntimeFiber<void> | undefined = undefined
  /** The engine's shared timer, for a batch of one (`get`) on the engine's clock. */
  readonly shared: SharedTimer | undefined
  /** This batch's place in the shared timer's heap (-1: not in it) and the due time it is kept for. */
  timerIndex = -1
  timerDue = Infinity
  feeder: Fiber.RuntimeFiber<void> | undefined = undefined

  /**
   * The transport this batch dispatches on (called as a method: an undici `Dispatcher` itself is a
   * `Transport`); `owned` if the batch tears it down when it stops.
   */
  private readonly via: Pick<Transport, "dispatch">
  private owned: BatchTransport | undefined

  constructor(
    readonly engine: Engine,
    readonly options: FetchOptions,
    readonly clock: Clock.Clock,
    readonly labels: ReadonlyArray<MetricLabel.MetricLabel>,
    isolated: boolean,
    private readonly batched: boolean
  ) {
    this.shared = !batched && engine.timer !== undefined && engine.timer.clock === clock ? engine.timer : undefined
    const own = isolated && engine.transport.forBatch !== undefined ? engine.transport.forBatch(options.concurrency) : undefined
    this.owned = own
    this.via = own === undefined ? engine.transport : own
    this.timeoutMs = Math.max(1, Math.ceil(Duration.toMillis(options.timeout)))
    this.headers = headersOf(options)
  }

  // ---- wake-ups ---------------------------------------------------------------------------

  private readonly onImmediate = (): void => {
    this.wakeScheduled = false
    const resume = this.parked
    if (resume !== undefined) {
      this.parked = undefined
      resume(Effect.void)
    }
  }

  /**
   * Wakes the driver once per event-loop turn, however many callbacks ask (a batch of one, `get`,
   * has nothing to batch: it is resumed at once).
   */
  wake(): void {
    if (!this.batched) {
      this.onImmediate()
      return
    }
    if (!this.wakeScheduled) {
      this.wakeScheduled = true
      setImmediate(this.onImmediate)
    }
  }

  /** Parks the driver until `wake`; returns at once if there is work already (no lost wake-up). */
  readonly park: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.hasWork()) resume(Effect.void)
    else this.parked = resume
  })

  hasWork(): boolean {
    return this.readyHead < this.readyList.length || this.deadlineHit || this.sourceFailure !== undefined ||
      (this.active < this.options.concurrency && this.pendingHead < this.pending.length) ||
      (this.sourceDone && this.active === 0)
  }

  hasReady(): boolean {
    return this.readyHead < this.readyList.length
  }

  ready(a: Attempt): void {
    this.readyList.push(a)
    this.wake()
  }

  takeReady(): Attempt | undefined {
    if (this.readyHead >= this.readyList.length) {
      if (this.readyHead > 0) {
        this.readyList = []
        this.readyHead = 0
      }
      return undefined
    }
    const a = this.readyList[this.readyHead]
    this.readyList[this.readyHead++] = undefined
    return a
  }

  // ---- in flight ----------------------------------------------------------------------------

  private link(a: Attempt, due: number): void {
    a.due = due
    a.linked = true
    const t = this.tail
    if (t === undefined || t.due <= due) {
      a.prev = t
      a.next = undefined
      if (t === undefined) this.head = a
      else t.next = a
      this.tail = a
      return
    }
    // Out of order (a clock set back): insert in place to keep the list sorted.
    let at: Attempt | undefined = t
    while (at !== undefined && at.due > due) at = at.prev
    a.prev = at
    a.next = at === undefined ? this.head : at.next
    if (a.next !== undefined) a.next.prev = a
    if (at === undefined) this.head = a
    else at.next = a
  }

  unlink(a: Attempt): void {
    if (!a.linked) return
    a.linked = false
    if (a.prev === undefined) this.head = a.next
    else a.prev.next = a.next
    if (a.next === undefined) this.tail = a.prev
    else a.next.prev = a.prev
    a.prev = undefined
    a.next = undefined
  }

  /** Sends `a` on the wire (the driver only). `due` is its timeout, kept across redirects. */
  dispatch(a: Attempt, due: number): void {
    this.link(a, due)
    a.onWire = true
    this.wire++
    try {
      this.via.dispatch(
        { origin: a.origin, path: a.path, method: "GET", headers: this.headers, headersTimeout: 0, bodyTimeout: 0 },
        a
      )
    } catch (e) {
      a.offWire()
      a.settleFailure("Transport", message(e))
    }
  }

  /** Starts a URL pulled from the source (the driver only). */
  start(url: string): void {
    this.urls++
    this.active++
    const now = this.clock.unsafeCurrentTimeMillis()
    const parsed = parseUrl(url)
    if (typeof parsed === "string") {
      const a = new Attempt(this, url, url, "", "", 0, 0, now)
      a.outcome = fetchError({ url, reason: "InvalidUrl", detail: parsed, attempts: 0 })
      a.state = State.Settled
      this.ready(a)
      return
    }
    this.dispatch(new Attempt(this, url, parsed.href, parsed.origin, parsed.path, 1, 0, now), now + this.timeoutMs)
  }

  redirect(a: Attempt): void {
    const parsed = parseUrl(a.redirectTo)
    if (typeof parsed === "string") {
      // resolveRedirect checked it already; a transport-made oddity lands here
      return void this.ready(settledFailure(a, "InvalidRedirect", `${parsed}: '${a.redirectTo}'`))
    }
    this.dispatch(new Attempt(this, a.url, parsed.href, parsed.origin, parsed.path, a.attempt, a.redirects + 1, a.startMs), a.due)
  }

  /** A transient failure with tries left: wait out the backoff (jitter in [0.8, 1.2), like `Schedule.jittered`). */
  backoff(a: Attempt, random: number): void {
    const base = Duration.toMillis(this.options.retryBase)
    const delay = Math.round(base * Math.pow(2, a.attempt - 1) * (0.8 + 0.4 * random))
    a.retryAt = this.clock.unsafeCurrentTimeMillis() + delay
    let i = this.backoffs.length
    while (i > 0 && this.backoffs[i - 1]!.retryAt > a.retryAt) i--
    this.backoffs.splice(i, 0, a)
  }

  /** The next try of a URL whose backoff is over (the driver only). */
  retry(a: Attempt): void {
    const parsed = parseUrl(a.url)
    if (typeof parsed === "string") return void this.ready(settledFailure(a, "Internal", parsed))
    const now = this.clock.unsafeCurrentTimeMillis()
    this.dispatch(new Attempt(this, a.url, parsed.href, parsed.origin, parsed.path, a.attempt + 1, 0, a.startMs), now + this.timeoutMs)
  }

  // ---- timers -----------------------------------------------------------------------------

  earliestDue(): number {
    let due = this.deadlineAt
    if (this.head !== undefined && this.head.due < due) due = this.head.due
    const b = this.backoffs[0]
    if (b !== undefined && b.retryAt < due) due = b.retryAt
    return due
  }

  /** Runs what is due at `now` (the timer fiber): timeouts, backoffs over, the deadline. */
  expire(now: number): void {
    if (now >= this.deadlineAt) {
      this.deadlineAt = Infinity
      this.deadlineHit = true
      this.abortInFlight()
      this.wake()
      return
    }
    while (this.head !== undefined && this.head.due <= now) {
      this.head.settleFailure("Timeout", `no complete response within ${Duration.format(this.options.timeout)}`)
    }
    let n = 0
    while (n < this.backoffs.length && this.backoffs[n]!.retryAt <= now) n++
    if (n > 0) {
      for (const a of this.backoffs.splice(0, n)) {
        a.action = Action.Dispatch
        this.ready(a)
      }
    }
  }

  // ---- stopping -----------------------------------------------------------------------------

  /**
   * Aborts every attempt in flight and drops the backoffs. An owned transport is destroyed in one
   * sweep (the batch is over), or handed back for the next batch if nothing is on the wire; a
   * shared one gets one abort per request.
   */
  abortInFlight(): void {
    this.backoffs.length = 0
    const owned = this.owned
    this.owned = undefined
    const reuse = owned !== undefined && owned.release !== undefined && this.wire === 0
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    try {
      let a = this.head
      while (a !== undefined) {
        const next = a.next
        a.linked = false
        a.prev = undefined
        a.next = undefined
        a.cancel(owned === undefined)
        a = next
      }
      this.head = undefined
      this.tail = undefined
      if (reuse) owned.release!()
      else if (owned !== undefined) owned.destroy()
    } catch {
      // a transport that throws on destroy has still been told
    } finally {
      Error.stackTraceLimit = limit
    }
  }

  /**
   * Forgets attempts settled but not delivered (a stop). A body already renamed into its file stays:
   * it is complete and named by its URL.
   */
  dropReady(): void {
    while (this.takeReady() !== undefined) {
      // dropped
    }
  }

  // ---- metrics ----------------------------------------------------------------------------

  count(o: FetchOutcome): void {
    const m = this.engine.metrics
    if (o._tag === "Fetched") {
      m.succeeded.unsafeUpdate(1, this.labels)
      m.duration.unsafeUpdate(o.durationMs, this.labels)
    } else {
      m.failed.unsafeUpdate(1, this.labels)
    }
  }
}

const settledFailure = (a: Attempt, reason: FetchErrorReason, detail: string): Attempt => {
  a.outcome = fetchError({ url: a.url, reason, detail, attempts: a.attempt })
  a.action = Action.Deliver
  a.state = State.Settled
  return a
}

// ---------------------------------------------------------------------------------------------
// The driver
// ---------------------------------------------------------------------------------------------

const StreamTypeId: symbol = Symbol.for("effect/Stream")

const isStream = (u: unknown): u is Stream.Stream<string, unknown, unknown> =>
  typeof u === "object" && u !== null && StreamTypeId in u

/**
 * Runs a batch in the current fiber: fetches every URL of `source` with at most
 * `options.concurrency` in flight and hands each outcome to `emit` (in completion order) before
 * starting more. `isolated` (default) gives the batch a transport of its own if the port offers
 * one (`Transport.forBatch`): handed back when the batch ends with nothing on the wire, torn down
 * in one sweep otherwise. Returns when every URL has an outcome, or the deadline passed. Fails only if a
 * `Stream` source fails (in-flight requests are aborted first). Interrupting it aborts everything
 * in flight at once (invariant 4). `emit` is called by this fiber only, never concurrently.
 * @since 0.1.0
 */
export const run = <E, R>(
  engine: Engine,
  options: FetchOptions,
  source: UrlSource<E, R>,
  emit: (outcome: FetchOutcome) => Effect.Effect<void>,
  isolated = true
): Effect.Effect<BatchReport, E, R> =>
  Effect.withFiberRuntime((fiber) => {
    const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
    const labels = fiber.getFiberRef(FiberRef.currentMetricLabels)
    const b = new Batch(engine, options, clock, labels, isolated, !Array.isArray(source) || source.length > 1)
    const sync = isStream(source) || !(Symbol.iterator in source)
      ? undefined
      : (source as Iterable<string>)[Symbol.iterator]()
    if (sync !== undefined) return Effect.onExit(drive(b, emit, sync), () => stop(b)) as Effect.Effect<BatchReport, E, R>
    const stream = isStream(source)
      ? (source as Stream.Stream<string, E, R>)
      : Stream.orDie(AsyncIterableStream.fromAsyncIterable(source as AsyncIterable<string>, (e) => e))
    // A daemon, not a child: a fiber's exit awaits its children, and the feeder may sit in its
    // source's finalizer (an input that stalls) long after the batch has ended (see `stop`).
    const started = Effect.uninterruptibleMask((restore) =>
      Effect.map(Effect.forkDaemon(restore(feed(b, stream))), (fiber) => {
        b.feeder = fiber
      })
    )
    return Effect.onExit(Effect.zipRight(started, drive(b, emit, undefined)), () => stop(b)) as Effect.Effect<
      BatchReport,
      E,
      R
    >
  })

/** Feeds URLs from an async source into `b.pending`, at most `concurrency` ahead of the driver. */
const feed = <E, R>(b: Batch, source: Stream.Stream<string, E, R>): Effect.Effect<void, never, R> => {
  const room: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (b.pending.length - b.pendingHead < b.options.concurrency) resume(Effect.void)
    else b.feederResume = resume
  })
  return Stream.runForEachChunk(source, (chunk) =>
    Effect.suspend(() => {
      for (const url of chunk) b.pending.push(url)
      b.wake()
      return b.pending.length - b.pendingHead >= b.options.concurrency ? room : Effect.void
    })).pipe(
      Effect.matchCause({
        onSuccess: () => {
          b.sourceDone = true
          b.wake()
        },
        onFailure: (cause) => {
          if (Cause.isInterruptedOnly(cause)) return
          b.sourceFailure = cause
          b.wake()
        }
      })
    )
}

/** Pulls the next URL, if a slot is free and one is ready. */
const pull = (b: Batch, sync: Iterator<string> | undefined): string | undefined => {
  if (sync !== undefined) {
    if (b.sourceDone) return undefined
    const next = sync.next()
    if (next.done === true) {
      b.sourceDone = true
      return undefined
    }
    return next.value
  }
  if (b.pendingHead >= b.pending.length) return undefined
  const url = b.pending[b.pendingHead]
  b.pending[b.pendingHead++] = undefined as unknown as string
  if (b.pendingHead === b.pending.length) {
    b.pending = []
    b.pendingHead = 0
  }
  const resume = b.feederResume
  if (resume !== undefined && b.pending.length - b.pendingHead < b.options.concurrency) {
    b.feederResume = undefined
    resume(Effect.void)
  }
  return url
}

const drive = (
  b: Batch,
  emit: (outcome: FetchOutcome) => Effect.Effect<void>,
  sync: Iterator<string> | undefined
): Effect.Effect<BatchReport, unknown> =>
  Effect.gen(function*() {
    if (b.options.deadline !== undefined) b.deadlineAt = b.clock.unsafeCurrentTimeMillis() + Math.ceil(Duration.toMillis(b.options.deadline))
    const concurrency = b.options.concurrency
    while (true) {
      // 1. what the callbacks and the timer settled
      for (let a = b.takeReady(); a !== undefined; a = b.takeReady()) {
        switch (a.action) {
          case Action.Deliver: {
            const o = a.outcome
            // Invariant 1, checked: a second delivery (or none) is a bug; die rather than hang.
            if (o === undefined || a.delivered) return yield* Effect.dieMessage(`fetch engine: bad delivery for ${a.url}`)
            a.delivered = true
            yield* emit(o)
            b.count(o)
            b.delivered++
            b.active--
            break
          }
          case Action.Redirect:
            if (!b.deadlineHit) b.redirect(a)
            break
          case Action.Retry:
            if (!b.deadlineHit) b.backoff(a, yield* Random.next)
            break
          case Action.Dispatch:
            if (!b.deadlineHit) b.retry(a)
            break
        }
      }
      if (b.sourceFailure !== undefined) return yield* Effect.failCause(b.sourceFailure)
      if (b.deadlineHit) break
      // 2. fill the free slots
      while (b.active < concurrency) {
        const url = pull(b, sync)
        if (url === undefined) break
        b.start(url)
      }
      // 3. the timer, if something is due earlier than it sleeps
      const due = b.earliestDue()
      if (due < b.timerTarget) {
        if (b.shared === undefined) yield* rearm(b, due)
        else b.shared.add(b, due)
      }
      if (b.hasReady()) continue
      if (b.active === 0 && b.sourceDone && b.pendingHead >= b.pending.length) break
      yield* b.park
    }
    return { urls: b.urls, delivered: b.delivered, deadline: b.deadlineHit && somethingLeft(b, sync) }
  })

/**
 * Whether the batch ended with a URL unfinished or unread: the deadline reports a cut only then. It
 * can fire after the last outcome is in, while the driver waits to hand it over (a slow consumer),
 * or in the turn the last response lands. A sync source not yet seen to end is asked once more:
 * a URL it still had is unread (the caller counts it as pulled, hence cancelled).
 */
const somethingLeft = (b: Batch, sync: Iterator<string> | undefined): boolean => {
  if (b.active > 0 || b.pendingHead < b.pending.length) return true
  if (b.sourceDone) return false
  if (sync === undefined) return true // an async source that has not ended: its rest is unread
  if (sync.next().done === true) {
    b.sourceDone = true
    return false
  }
  return true
}

/** (Re)starts the batch's timer fiber for an earlier due time. */
const rearm = (b: Batch, due: number): Effect.Effect<void> =>
  Effect.suspend(() => {
    b.timerTarget = due
    const resume = b.timerResume
    if (resume !== undefined) {
      b.timerResume = undefined
      resume(Effect.void)
      return Effect.void
    }
    const old = b.timer
    // Uninterruptible between fork and bookkeeping, so `stop` always finds the timer it must end.
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Effect.fiberId, (id) => {
        if (old !== undefined) old.unsafeInterruptAsFork(id)
        return Effect.map(Effect.fork(restore(timerLoop(b))), (fiber) => {
          b.timer = fiber
        })
      })
    )
  })

const timerLoop = (b: Batch): Effect.Effect<void> => {
  const idle = Effect.async<void>((resume) => {
    if (b.earliestDue() < Infinity) resume(Effect.void)
    else b.timerResume = resume
  })
  return Effect.gen(function*() {
    while (true) {
      const target = b.earliestDue()
      b.timerTarget = target
      if (target === Infinity) {
        yield* idle
        continue
      }
      const wait = target - b.clock.unsafeCurrentTimeMillis()
      if (wait > 0) yield* b.clock.sleep(Duration.millis(Math.ceil(wait)))
      // Having slept until `target`, it counts as reached even if a clock rounds below it: the
      // loop always makes progress.
      b.expire(Math.max(target, b.clock.unsafeCurrentTimeMillis()))
    }
  })
}

/**
 * The driver's exit, however it came: abort what is in flight, stop the timer and the feeder
 * (invariant 4). Every URL pulled and not delivered counts as cancelled. Nothing here waits.
 */
const stop = (b: Batch): Effect.Effect<void> => {
  // (called by `onExit` when the driver exits, in its uninterruptible finalizer)
  b.stopped = true
  b.shared?.remove(b)
  b.abortInFlight()
  b.dropReady()
  if (b.active > 0) b.engine.metrics.cancelled.unsafeUpdate(b.active, b.labels)
  const timer = b.timer
  const feeder = b.feeder
  b.timer = undefined
  b.feeder = undefined
  // The feeder may sit in its source's own finalizer: it is told, not waited for. The timer only
  // ever sleeps, so waiting for it is a few scheduler turns and keeps fiber counts exact.
  const timerDone = timer === undefined ? Effect.void : Effect.asVoid(Fiber.interrupt(timer))
  if (feeder === undefined) return timerDone
  return Effect.flatMap(Effect.fiberId, (id) => {
    feeder.unsafeInterruptAsFork(id)
    return timerDone
  })
}

// ---------------------------------------------------------------------------------------------
// A batch of one (`get`)
// ---------------------------------------------------------------------------------------------

/**
 * One URL as a batch of one, in the current fiber (`UrlFetcher.get`): the same attempts,
 * timeouts, retries with backoff, redirects and body handling as `run`, without a source, an
 * output or a driver loop: the fiber parks until the one outcome is settled, is resumed directly
 * by the callback that settles it (nothing to batch), and uses the engine's shared timer. Returns
 * the outcome (a `FetchError` is a value here), or `undefined` if `options.deadline` passed first.
 * Interrupting it aborts the request at once, on the shared transport.
 * @since 0.1.0
 */
export const runOne = (engine: Engine, options: FetchOptions, url: string): Effect.Effect<FetchOutcome | undefined> =>
  Effect.withFiberRuntime((fiber) => {
    const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
    const b = new Batch(engine, options, clock, fiber.getFiberRef(FiberRef.currentMetricLabels), false, false)
    b.sourceDone = true
    if (options.deadline !== undefined) {
      b.deadlineAt = clock.unsafeCurrentTimeMillis() + Math.ceil(Duration.toMillis(options.deadline))
    }
    return Effect.onExit(Effect.suspend(() => {
      b.start(url)
      return awaitOne(b)
    }), () => stop(b))
  })

/** What the driver loop does, for one URL: act on what was settled, then wait for more. */
const awaitOne = (b: Batch): Effect.Effect<FetchOutcome | undefined> =>
  Effect.suspend(() => {
    for (let a = b.takeReady(); a !== undefined; a = b.takeReady()) {
      switch (a.action) {
        case Action.Deliver: {
          const o = a.outcome
          if (o === undefined || a.delivered) return Effect.dieMessage(`fetch engine: bad delivery for ${a.url}`)
          a.delivered = true
          b.count(o)
          b.delivered++
          b.active--
          return Effect.succeed(o)
        }
        case Action.Redirect:
          if (!b.deadlineHit) b.redirect(a)
          break
        case Action.Retry:
          if (!b.deadlineHit) {
            return Effect.flatMap(Random.next, (random) => {
              b.backoff(a, random)
              return awaitOne(b)
            })
          }
          break
        case Action.Dispatch:
          if (!b.deadlineHit) b.retry(a)
          break
      }
    }
    if (b.deadlineHit) return Effect.succeed(undefined)
    const next = Effect.flatMap(b.park, () => awaitOne(b))
    const due = b.earliestDue()
    if (due < b.timerTarget) {
      if (b.shared === undefined) return Effect.zipRight(rearm(b, due), next)
      b.shared.add(b, due)
    }
    return next
  })

// ---------------------------------------------------------------------------------------------
// The shared timer (for `get`)
// ---------------------------------------------------------------------------------------------

/**
 * One timer fiber for all the single-URL batches (`get`) of an engine, living in the layer's
 * scope: a `get` keeps its batch's next due time in a min-heap instead of forking a timer fiber of
 * its own (measured: the fork, sleep and interrupt of a timer per `get` cost about 90 us of CPU,
 * more than undici's whole request). Due times come from the engine's `Clock` (the one the layer
 * was built with); a `get` running under another clock falls back to its own timer.
 *
 * Invariants: the heap holds each batch at most once (its `timerIndex`), keyed by its `timerDue`;
 * a batch leaves it when it stops (`remove`) or when its due time comes, so the heap only ever
 * holds the `get`s in flight (an entry left behind until its timeout would keep every finished
 * batch alive for a full timeout: measured, a third of `get`'s CPU went to the garbage collector).
 * The fiber sleeps until the earliest entry and is restarted only when an earlier one is added.
 * The fiber belongs to the layer, not to the `get` that happened to start it: it runs on the
 * layer's runtime and the layer's scope interrupts it when it closes.
 * @since 0.1.0
 */
export class SharedTimer {
  private readonly heap: Array<Batch> = []
  private target = Infinity
  private fiber: Fiber.RuntimeFiber<void> | undefined = undefined
  private idle: ((e: Effect.Effect<void>) => void) | undefined = undefined
  private closed = false

  constructor(readonly clock: Clock.Clock, private readonly runtime: Runtime.Runtime<never>) {}

  /** How many batches wait on it (for tests: only the ones in flight). */
  get size(): number {
    return this.heap.length
  }

  /** Keeps `b` (from `b`'s driver) for `due`; restarts the fiber if `due` comes first. */
  add(b: Batch, due: number): void {
    this.place(b, due)
    if (due >= this.target || this.closed) return
    this.target = due
    const idle = this.idle
    if (idle !== undefined) {
      this.idle = undefined
      idle(Effect.void)
      return
    }
    this.fiber?.unsafeInterruptAsFork(FiberId.none)
    // Interruptible explicitly: the runtime was captured inside `acquireRelease`'s acquire.
    this.fiber = Runtime.runFork(this.runtime)(Effect.interruptible(this.loop))
  }

  /** Forgets `b` (it stopped). The fiber may wake once for nothing; it never wakes late. */
  remove(b: Batch): void {
    const i = b.timerIndex
    if (i < 0) return
    b.timerIndex = -1
    b.timerTarget = Infinity
    const last = this.heap.pop()!
    if (i < this.heap.length) {
      this.heap[i] = last
      last.timerIndex = i
      this.down(i)
      this.up(last.timerIndex)
    }
  }

  /** For the layer's scope: stops the fiber (and any later restart). */
  readonly close: Effect.Effect<void> = Effect.suspend(() => {
    this.closed = true
    const fiber = this.fiber
    this.fiber = undefined
    return fiber === undefined ? Effect.void : Fiber.interrupt(fiber)
  })

  private place(b: Batch, due: number): void {
    b.timerTarget = due
    const old = b.timerDue
    b.timerDue = due
    if (b.timerIndex < 0) {
      b.timerIndex = this.heap.length
      this.heap.push(b)
      this.up(b.timerIndex)
    } else if (due < old) this.up(b.timerIndex)
    else this.down(b.timerIndex)
  }

  private readonly loop: Effect.Effect<void> = Effect.suspend(() => {
    const idle = Effect.async<void>((resume) => {
      if (this.heap.length > 0) resume(Effect.void)
      else this.idle = resume
    })
    const self = this
    const heap = this.heap
    return Effect.gen(function*() {
      while (true) {
        if (heap.length === 0) {
          self.target = Infinity
          yield* idle
          continue
        }
        const target = heap[0]!.timerDue
        self.target = target
        const wait = target - self.clock.unsafeCurrentTimeMillis()
        if (wait > 0) yield* self.clock.sleep(Duration.millis(Math.ceil(wait)))
        // Having slept until `target`, it counts as reached even if a clock rounds below it.
        const now = Math.max(target, self.clock.unsafeCurrentTimeMillis())
        while (heap.length > 0 && heap[0]!.timerDue <= now) {
          const b = heap[0]!
          self.remove(b)
          b.expire(now)
          const next = b.earliestDue()
          if (!b.stopped && next < Infinity) self.place(b, next)
        }
      }
    })
  })

  // a binary min-heap of batches on `timerDue`; each batch knows its index
  private up(i: number): void {
    const heap = this.heap
    const b = heap[i]!
    while (i > 0) {
      const parent = (i - 1) >> 1
      const p = heap[parent]!
      if (p.timerDue <= b.timerDue) break
      heap[i] = p
      p.timerIndex = i
      i = parent
    }
    heap[i] = b
    b.timerIndex = i
  }

  private down(i: number): void {
    const heap = this.heap
    const n = heap.length
    const b = heap[i]!
    while (true) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const m = r < n && heap[r]!.timerDue < heap[l]!.timerDue ? r : l
      const c = heap[m]!
      if (c.timerDue >= b.timerDue) break
      heap[i] = c
      c.timerIndex = i
      i = m
    }
    heap[i] = b
    b.timerIndex = i
  }
}

/**
 * A `SharedTimer` on the current runtime and clock, stopped when the current scope closes.
 * @since 0.1.0
 */
export const makeSharedTimer: Effect.Effect<SharedTimer, never, Scope.Scope> = Effect.acquireRelease(
  Effect.map(Effect.zip(Effect.clock, Effect.runtime<never>()), ([clock, runtime]) => new SharedTimer(clock, runtime)),
  (timer) => timer.close
)

// ---------------------------------------------------------------------------------------------
// Request spans (opt-in)
// ---------------------------------------------------------------------------------------------

/** Wraps `emit` so each delivered outcome also ends a span `UrlFetcher.get` under the batch's span. */
export const withRequestSpans = (
  emit: (outcome: FetchOutcome) => Effect.Effect<void>
): Effect.Effect<(outcome: FetchOutcome) => Effect.Effect<void>> =>
  Effect.map(Effect.all([Effect.tracer, Effect.currentParentSpan.pipe(Effect.option), Effect.clock]), ([tracer, parent, clock]) => (o) => {
    const end = clock.unsafeCurrentTimeNanos()
    const start = end - BigInt(Math.round(o._tag === "Fetched" ? o.durationMs * 1e6 : 0))
    const span = tracer.span("UrlFetcher.get", parent, Context.empty(), [], start, "client")
    span.attribute("url", o.url)
    span.attribute("attempts", o.attempts)
    span.end(end, o._tag === "Fetched" ? Exit.void : Exit.fail(o))
    return emit(o)
  })

