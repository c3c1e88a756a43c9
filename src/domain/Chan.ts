/**
 * Go's `chan T`, with Go's semantics, for Effect programs.
 *
 * - `make(0)` is unbuffered: a send completes only when a receiver has taken the value.
 * - `make(n)` buffers n values; a send blocks only while the buffer is full.
 * - `close` ends the channel once; values buffered before it are still received; then
 *   `receive` yields `None` (Go's `v, ok := <-ch` with `ok == false`).
 * - Send on a closed channel, and a second close, are Go panics: here they are defects
 *   (`Effect.die(ChanPanic)`), because both are bugs in the program, not outcomes a caller
 *   should handle. `Effect.catchAllDefect` plays the part of `recover`.
 * - `nil()` is Go's nil channel: send and receive block until interrupted; `select` skips it.
 * - Blocking is interruption-aware: interrupting a fiber parked in `send`, `receive` or `select`
 *   withdraws the operation. This is how `ctx.Done()` is spelled here: no per-send `select` is
 *   needed to make a producer cancellable.
 * - `after(d)` and `tick(d)` are Go's `time.After` and `time.Tick`: channels fed by one timer fiber
 *   in the caller's `Scope`, on Effect's `Clock` (so `TestClock` drives them). A `select` over a
 *   channel and `after(d)` is a receive (or send) with a deadline that takes exactly one of the
 *   two; `receiveTimeout` is that select.
 *
 * ## Invariants
 *
 * Each is a property checked over thousands of randomized scenarios in `npm test` and many more
 * in `npm run fuzz` (`test/fuzz/ChanFuzz.ts`; random capacities, senders, receivers, selects with
 * and without default, `toStream` + `take`, closes, interruptions at random points, random
 * scheduler yields), besides the example tests.
 *
 * 1. **Exactly once.** A value whose `send` completed is received exactly once (by a `receive`, a
 *    select's receive case, a `forEach`/`toStream` consumer) or is still in the channel. A value
 *    whose send did not complete (interrupted, panicked, a select case that did not run) is never
 *    received. Nothing is ever given back to a channel once taken.
 * 2. **An operation that completed is reported as completed** (Go: the operation happened). If a
 *    counterpart completes a parked operation (takes its value, hands it one) after the fiber's
 *    interruption was requested but before the fiber ran again, the operation still returns its
 *    result and the interruption takes effect at the fiber's next channel operation, or, if it
 *    makes none, when it next waits or a few scheduler turns later. So: a send that ended
 *    interrupted did not deliver; a receive or select that ended interrupted took nothing.
 * 3. **No yield between the channel changing and the caller getting the result**: an operation
 *    that completes at once does so in the step before its caller's continuation, and yields
 *    first if the scheduler would otherwise yield in between; a woken one resumes with its
 *    result, and one completed after its interruption was requested yields (uninterruptibly)
 *    before its way back if the op budget would run out on it. So no interruption can arrive
 *    between the two, and an operation's `Exit` tells the truth (with the default scheduler and
 *    an op budget above 4, above 12 for the interrupted case). A select calls the chosen case's
 *    body function in the step its channel operation happened in.
 * 4. **Once `None`, always `None`**: after a `receive` returned `None`, every later one does.
 * 5. **`0 <= len <= cap`** at every point (the buffer is a ring of exactly `cap` slots).
 * 6. **One close**: the first `close` succeeds; every other one dies with `CloseOfClosed`; every
 *    send that starts after it, and every sender parked at the time, dies with `SendOnClosed`.
 * 7. **No leak**: a fiber parked on a channel ends when interrupted (checked with `LeakCheck`).
 *
 * What a caller does with a result after it has it is the caller's: as anywhere in Effect, an
 * interruption can stop a fiber between two of its own steps (between a `receive` and the
 * effect that processes the value). `Effect.timeout`/`Effect.race` around a `receive` run it in
 * another fiber and discard a completed loser's value (by invariant 2 the receive completed, so
 * the value has left the channel); use `select` with `after(d)` or a done channel (or
 * `receiveTimeout`) to choose between a channel operation and a deadline atomically.
 *
 * The implementation follows Go's runtime (`chansend`/`chanrecv`/`selectgo`): a ring buffer plus
 * FIFO queues of parked senders and receivers. A sender that finds a parked receiver hands the
 * value over directly (and vice versa) without parking itself, and parked operations are withdrawn
 * in O(1) by marking them dead, so interrupting 100k parked fibers is linear.
 *
 * @since 0.1.0
 */
import { Cause, Chunk, Clock, Data, Duration, Effect, FiberId, FiberRef, Option, RuntimeFlags, Stream } from "effect"
import type * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/**
 * What Go would `panic` with. Raised as a defect (`Effect.die`), never as a typed failure.
 *
 * @since 0.1.0
 */
export class ChanPanic extends Data.TaggedError("ChanPanic")<{
  readonly reason: "SendOnClosed" | "CloseOfClosed" | "CloseOfNil"
}> {
  override get message(): string {
    switch (this.reason) {
      case "SendOnClosed":
        return "send on closed channel"
      case "CloseOfClosed":
        return "close of closed channel"
      case "CloseOfNil":
        return "close of nil channel"
    }
  }
}

/** @since 0.1.0 */
export const isChanPanic = (u: unknown): u is ChanPanic => u instanceof ChanPanic

// ---------------------------------------------------------------------------------------------
// Types: the bidirectional channel and its two views (`chan<- T` and `<-chan T`)
// ---------------------------------------------------------------------------------------------

const RecvTypeId: unique symbol = Symbol.for("leakproof/Chan/Recv")
const SendTypeId: unique symbol = Symbol.for("leakproof/Chan/Send")

/**
 * Go's `<-chan T`: can be received from and ranged over, not sent to or closed.
 * @since 0.1.0
 */
export interface RecvChan<out A> {
  readonly [RecvTypeId]: (_: never) => A
  readonly capacity: number
}

/**
 * Go's `chan<- T`: can be sent to and closed, not received from.
 * @since 0.1.0
 */
export interface SendChan<in A> {
  readonly [SendTypeId]: (_: A) => void
  readonly capacity: number
}

/**
 * Go's `chan T`. Pass it on as `RecvChan` / `SendChan` to fix who may do what.
 * @since 0.1.0
 */
export interface Chan<A> extends RecvChan<A>, SendChan<A> {}

/**
 * A channel used only as a cancellation signal (Go's `<-chan struct{}`): it is done when closed.
 * @since 0.1.0
 */
export type Done = RecvChan<unknown>

// ---------------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------------

/** What a receive got when the channel was closed and drained (Go's `ok == false`). */
const CLOSED_EMPTY: unique symbol = Symbol("leakproof/Chan/closed")
/** `tryRecv` found nothing ready (it would block). */
const WOULD_BLOCK: unique symbol = Symbol("leakproof/Chan/wouldBlock")
type Received = unknown // a value, or CLOSED_EMPTY

/**
 * One parked operation: a plain send/receive, or a whole `select`. A plain operation is its own
 * (only) queue entry, so parking it allocates one object; a `select` has one `Entry` per case in
 * its channel's queue, all pointing at the same `Parked`. `done` is Go's `selectDone`: the first
 * channel operation that sets it wins, every other entry is dead from then on.
 *
 * Firing an operation (`fire`) completes it then and there, as Go's `send`/`recv` do on the
 * counterpart's side: the value has moved, and the parked fiber is resumed with the result. The
 * fiber may have been asked to stop before it runs again; then the runtime hands it the
 * interruption instead of the result, and `onParkFailure` completes the operation anyway and
 * defers the interruption (see `deferInterruption`). Nothing is ever given back to the channel.
 */
class Parked {
  done = false
  /** The index of the case that fired (a `select`'s case; 0 for a plain operation). */
  firedIndex = 0
  /** What a receive case got (a value or `CLOSED_EMPTY`); `closed` tells a send case that the
   *  channel was closed under it. */
  received: Received = CLOSED_EMPTY
  closed = false
  entries: Array<Entry> | undefined = undefined
  resume: (effect: Effect.Effect<any, any, any>) => void = noop
  /** Builds the effect the woken fiber resumes with, from this (fired) operation. */
  result: (p: Parked) => Effect.Effect<any, any, any> = resultVoid
  /** The result of an operation that completed in the park's register, without waiting. */
  now: Effect.Effect<any, any, any> | undefined = undefined
  readonly parked: Parked = this
  readonly index = 0
  constructor(
    readonly value: unknown,
    readonly chan: ChanImpl<unknown>,
    readonly isSend: boolean
  ) {}
}

const noop = (): void => {}
const resultVoid = (): Effect.Effect<void> => Effect.void

/** One case of a parked `select` in its channel's queue. */
class Entry {
  constructor(
    readonly parked: Parked,
    readonly index: number,
    readonly value: unknown,
    readonly chan: ChanImpl<unknown>,
    readonly isSend: boolean
  ) {}
}

type QueueItem = Entry | Parked

const queueOf = (e: QueueItem): WaitQueue => e.isSend ? e.chan.sendq : e.chan.recvq

/**
 * FIFO of parked entries with lazy deletion: withdrawing an entry is O(1) (its `Parked` is marked
 * done); dead entries are skipped on dequeue and swept when they outnumber the live ones.
 */
class WaitQueue {
  private items: Array<QueueItem | undefined> = []
  private head = 0
  private dead = 0

  push(e: QueueItem): void {
    this.items.push(e)
  }

  /** The oldest live entry, removed; `undefined` when none is parked. */
  shift(): QueueItem | undefined {
    while (this.head < this.items.length) {
      const e = this.items[this.head]!
      this.items[this.head++] = undefined
      const dead = e.parked.done
      if (this.head === this.items.length) {
        // Emptied: reuse the array from the start, and no dead entry is left behind.
        this.items.length = 0
        this.head = 0
        this.dead = 0
      } else if (dead) {
        this.dead--
      }
      if (!dead) return e
    }
    return undefined
  }

  /** Called when an entry of this queue died without being dequeued. */
  markDead(): void {
    this.dead++
    const pending = this.items.length - this.head
    if (this.dead > 64 && this.dead * 2 > pending) {
      const live: Array<QueueItem | undefined> = []
      for (let i = this.head; i < this.items.length; i++) {
        const e = this.items[i]!
        if (!e.parked.done) live.push(e)
      }
      this.items = live
      this.head = 0
      this.dead = 0
    }
  }

  get length(): number {
    return this.items.length - this.head - this.dead
  }

  drain(): Array<QueueItem> {
    const out: Array<QueueItem> = []
    for (let e = this.shift(); e !== undefined; e = this.shift()) out.push(e)
    this.dead = 0
    return out
  }
}

/** Completes a parked operation: its value has moved (or the channel closed under it). */
const fire = (e: QueueItem, received: Received, closed: boolean): void => {
  const p = e.parked
  p.done = true
  p.firedIndex = e.index
  p.received = received
  p.closed = closed
  const entries = p.entries
  if (entries !== undefined) {
    for (const other of entries) if (other !== e) queueOf(other).markDead()
  }
  p.resume(p.result(p))
}

/** Takes a parked operation that never fired out of its queues (its fiber was interrupted). */
const withdraw = (p: Parked): void => {
  p.done = true
  if (p.entries !== undefined) for (const e of p.entries) queueOf(e).markDead()
  else queueOf(p).markDead()
}

// ---------------------------------------------------------------------------------------------
// Deferred interruption: a completed operation is reported as completed
// ---------------------------------------------------------------------------------------------

/**
 * Fibers whose interruption arrived after a counterpart had completed their parked operation,
 * each with the interruption it owes. `deferredCount` keeps the check off the fast path.
 */
const deferred = new WeakMap<Fiber.RuntimeFiber<unknown, unknown>, Cause.Cause<never>>()
let deferredCount = 0

/**
 * The interruption of `fiber` was requested, but a counterpart completed its parked operation
 * before the fiber saw it (a sender's value was taken, a receiver was handed a value). Go's
 * operation has happened, so the fiber must see it happen: the interruption is lifted for now and
 * re-delivered at the fiber's next channel operation (`beforeOperation`), or, if it makes none,
 * after a few scheduler turns (`DEFERRAL_HOPS`): in whatever it then waits on, or at a yield well
 * past the operation. The fiber ends interrupted either way; only the operation's result is kept.
 * Returns the effect that lifts the interruption (the caller runs it uninterruptibly).
 */
const deferInterruption = (
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  cause: Cause.Cause<never>
): Effect.Effect<void> => {
  if (!deferred.has(fiber)) deferredCount++
  deferred.set(fiber, cause)
  const scheduler = fiber.currentScheduler
  const priority = fiber.getFiberRef(FiberRef.currentSchedulingPriority)
  const redeliver = (hops: number): void => {
    if (deferred.get(fiber) !== cause) return // taken at a channel operation already
    if (hops > 0) return scheduler.scheduleTask(() => redeliver(hops - 1), priority)
    deferred.delete(fiber)
    deferredCount--
    if (fiber.unsafePoll() !== null) return
    for (const id of Cause.interruptors(cause)) fiber.unsafeInterruptAsFork(id)
  }
  scheduler.scheduleTask(() => redeliver(DEFERRAL_HOPS - 1), priority)
  return FiberRef.set(FiberRef.interruptedCause, Cause.empty)
}

/**
 * Scheduler turns a deferred interruption waits for, when the fiber makes no channel operation:
 * it lands at the fiber's third yield to the scheduler after the deferral (or in whatever it waits
 * on). The path from the deferral back to the operation's caller is about a dozen runtime steps
 * (`WAY_BACK`), and `onParkFailure` yields before it rather than on it when the op budget would
 * run out, so with any op budget above `WAY_BACK` one of those yields falls before the caller has
 * the result, and with smaller ones (below ~10 Effect's own runtime can livelock an interrupted
 * fiber) at most two.
 */
const DEFERRAL_HOPS = 3

/**
 * The failure handler of a park (it runs uninterruptibly). The operation was withdrawn before
 * anything moved, or it had fired: then the failure is either the fired result's own (a send
 * closed under it) or an interruption the runtime substituted for the result, which is deferred.
 */
const onParkFailure = (p: Parked, cause: Cause.Cause<unknown>): Effect.Effect<any, any, any> => {
  if (p.resume === noop) return Effect.failCause(cause) // never registered
  if (!p.done) {
    withdraw(p)
    return Effect.failCause(cause)
  }
  return Effect.withFiberRuntime((fiber) => {
    const interrupted = fiber.getFiberRef(FiberRef.interruptedCause)
    if (Cause.isEmpty(interrupted)) return Effect.failCause(cause)
    const lift = deferInterruption(fiber, interrupted)
    const result = p.now ?? p.result(p)
    const budget = fiber.getFiberRef(FiberRef.currentMaxOpsBeforeYield)
    if (budget <= WAY_BACK || fiber.currentOpCount + WAY_BACK <= budget) return Effect.zipRight(lift, result)
    // The fiber's budget would run out on the way back to the caller: an interruption arriving
    // during that yield would be a new one, which nothing defers, and it would drop the result
    // (invariant 3). Yield here instead, still uninterruptible, then defer whatever arrived
    // meanwhile too, and go back with a fresh budget.
    const afterYield = Effect.withFiberRuntime<any, any, any>((f) => Effect.zipRight(deferArrived(f), result))
    return Effect.zipRight(lift, Effect.zipRight(Effect.yieldNow(), afterYield))
  })
}

/**
 * Runtime steps from a park's failure handler back to the operation's caller (measured: about 8
 * for a `receive`, 10 for a `select` whose case body returns a value at once), with a margin.
 */
const WAY_BACK = 12

/** Defers (with what it already owes) an interruption that arrived while one was deferred. */
const deferArrived = (fiber: Fiber.RuntimeFiber<unknown, unknown>): Effect.Effect<void> => {
  const arrived = fiber.getFiberRef(FiberRef.interruptedCause)
  if (Cause.isEmpty(arrived)) return Effect.void
  const owed = deferred.get(fiber)
  return deferInterruption(fiber, owed === undefined ? arrived : Cause.sequential(owed, arrived))
}

// What a parked fiber waits for. Each park passes one of these sentinel ids as `Effect.async`'s
// `blockingOn`, so a suspended fiber's status (`FiberStatus.Suspended.blockingOn`) tells what it
// is blocked on at no cost per park; real fiber ids are never negative.
const blockingOnSend: FiberId.FiberId = FiberId.make(-1, 0)
const blockingOnReceive: FiberId.FiberId = FiberId.make(-2, 0)
const blockingOnSelect: FiberId.FiberId = FiberId.make(-3, 0)
const blockingOnNil: FiberId.FiberId = FiberId.make(-4, 0)
const blockingDescriptions: ReadonlyMap<number, string> = new Map([
  [-1, "chan send"],
  [-2, "chan receive"],
  [-3, "select"],
  [-4, "chan (nil)"]
])

/**
 * What a suspended fiber is blocked on, from its status's `blockingOn`: `chan send`,
 * `chan receive`, `select`, `chan (nil)`, or `undefined` when it is not parked on a channel.
 * Read by `LeakCheck` to describe leaks (Go's `[chan send]` in a goroutine dump).
 *
 * @since 0.1.0
 */
export const describeBlockingOn = (blockingOn: FiberId.FiberId): string | undefined =>
  blockingOn._tag === "Runtime" && blockingOn.id < 0 ? blockingDescriptions.get(blockingOn.id) : undefined

// ---------------------------------------------------------------------------------------------
// LeakCheck's hook (test-only). Unset, each operation pays one comparison and nothing is recorded.
// ---------------------------------------------------------------------------------------------

/**
 * One operation a parked fiber waits on: the channel and its direction (a `select` parks on one
 * per case).
 * @since 0.1.0
 */
export interface ParkedOp {
  readonly chan: RecvChan<unknown> | SendChan<never>
  readonly isSend: boolean
}

/**
 * What `LeakCheck` learns about channels while a check runs, so a deadlock report can say which
 * channel each fiber waits on and who else uses it. Called on the current fiber, synchronously.
 * @since 0.1.0
 */
export interface DebugHook {
  /** A channel was made (name it, note where and by whom). */
  readonly make: (ch: RecvChan<unknown> | SendChan<never>) => void
  /** The current fiber starts a send or receive (a `select` reports each case). */
  readonly op: (ch: RecvChan<unknown> | SendChan<never>, isSend: boolean) => void
  /** The current fiber parks on these operations. */
  readonly park: (ops: ReadonlyArray<ParkedOp>) => void
}

let debugHook: DebugHook | undefined = undefined

/**
 * Installs (or, with `undefined`, removes) the hook. Only `LeakCheck` calls this, while a check
 * runs; production code never has a hook.
 * @since 0.1.0
 */
export const setDebugHook = (hook: DebugHook | undefined): void => {
  debugHook = hook
}

/**
 * A channel's name (`make`'s `options.name`), if it was given one.
 * @since 0.1.0
 */
export const nameOf = (ch: RecvChan<unknown> | SendChan<never>): string | undefined => (ch as ChanImpl<unknown>).name

const SENT = 0
const CLOSED = 1
const BLOCKED = 2

class ChanImpl<A> implements Chan<A> {
  declare readonly [RecvTypeId]: (_: never) => A
  declare readonly [SendTypeId]: (_: A) => void
  readonly recvq = new WaitQueue()
  readonly sendq = new WaitQueue()
  closed = false
  // ring buffer of exactly `capacity` slots: `size` never exceeds it
  private readonly buf: Array<A | undefined>
  private head = 0
  size = 0

  constructor(readonly capacity: number, readonly isNil: boolean, readonly name?: string) {
    this.buf = new Array(capacity)
  }

  private push(a: A): void {
    this.buf[(this.head + this.size) % this.buf.length] = a
    this.size++
  }

  private pop(): A {
    const a = this.buf[this.head] as A
    this.buf[this.head] = undefined
    this.head = (this.head + 1) % this.buf.length
    this.size--
    return a
  }

  trySend(a: A): number {
    if (this.closed) return CLOSED
    const r = this.recvq.shift()
    if (r !== undefined) {
      fire(r, a, false)
      return SENT
    }
    if (this.size < this.capacity) {
      this.push(a)
      return SENT
    }
    return BLOCKED
  }

  /** A received value, `CLOSED_EMPTY` if closed and drained, `WOULD_BLOCK` if it would block. */
  tryRecv(): A | typeof CLOSED_EMPTY | typeof WOULD_BLOCK {
    if (this.size > 0) {
      const a = this.pop()
      // A parked sender may now move its value into the freed slot (Go's FIFO order).
      const s = this.sendq.shift()
      if (s !== undefined) {
        this.push(s.value as A)
        fire(s, CLOSED_EMPTY, false)
      }
      return a
    }
    const s = this.sendq.shift()
    if (s !== undefined) {
      fire(s, CLOSED_EMPTY, false)
      return s.value as A
    }
    if (this.closed) return CLOSED_EMPTY
    return WOULD_BLOCK
  }

  /** Up to `max` values at once without blocking (buffer first, then parked senders). */
  drainUpTo(max: number, out: Array<A>): void {
    while (out.length < max) {
      const v = this.tryRecv()
      if (v === WOULD_BLOCK || v === CLOSED_EMPTY) return
      out.push(v)
    }
  }

  close(): ChanPanic | undefined {
    if (this.isNil) return new ChanPanic({ reason: "CloseOfNil" })
    if (this.closed) return new ChanPanic({ reason: "CloseOfClosed" })
    this.closed = true
    for (const r of this.recvq.drain()) fire(r, CLOSED_EMPTY, false)
    for (const s of this.sendq.drain()) fire(s, CLOSED_EMPTY, true)
    return undefined
  }

  toString(): string {
    const name = this.name === undefined ? "" : `${this.name}, `
    return this.isNil ? "Chan(nil)" : `Chan(${name}cap=${this.capacity}, len=${this.size}${this.closed ? ", closed" : ""})`
  }
}

const impl = <A>(ch: RecvChan<A> | SendChan<A>): ChanImpl<A> => ch as ChanImpl<A>

const sendOnClosed = new ChanPanic({ reason: "SendOnClosed" })

/**
 * Parks the current fiber on `p` until `p` is fired, then completes with `p.result(p)`.
 * Interruption withdraws it if nothing has moved yet; if a counterpart completed it first, it
 * completes and the interruption is deferred (`onParkFailure`).
 *
 * `attempt` runs when the async is registered: it retries the operation (the channel may have
 * changed if the fiber yielded to the scheduler since its first try) and either returns the
 * result, or enqueues `p` and returns `undefined`. Check-and-enqueue is thus one synchronous step,
 * as under Go's channel lock, so a sender and a receiver can never both end up parked.
 */
const park = <A, E, R>(
  flags: RuntimeFlags.RuntimeFlags,
  blockingOn: FiberId.FiberId,
  p: Parked,
  attempt: (p: Parked) => Effect.Effect<A, E, R> | undefined
): Effect.Effect<A, E, R> => {
  const wait = Effect.async<A, E, R>((resume) => {
    p.resume = resume
    const now = attempt(p)
    if (now !== undefined) {
      // Completed at once: as good as fired. `Effect.async` runs this register one runtime step
      // before the wait itself, so an interruption can still overtake `now`.
      p.done = true
      p.now = now
      resume(now)
    } else if (debugHook !== undefined) {
      debugHook.park(p.entries ?? [p])
    }
  }, blockingOn)
  // A caller that cannot be interrupted parks bare: nothing can overtake the wake-up.
  if (!RuntimeFlags.interruptible(flags)) return wait
  // Not `Effect.async` with a canceler: that wraps every wait in `onInterrupt` (a mask,
  // matchCauseEffect, and a zipRight on every wake-up), about twice the cost of the wait itself.
  // Here a bare wait runs interruptibly inside an uninterruptible region under one `catchAllCause`
  // frame: a wake-up skips the frame; an interruption leaves the interruptible part first, so the
  // fiber is uninterruptible again when the failure reaches the frame and the handler always runs
  // (the runtime skips failure handlers only while interruptible and interrupted).
  return Effect.uninterruptible(Effect.catchAllCause(Effect.interruptible(wait), (cause) => onParkFailure(p, cause)))
}

const attemptSend = (p: Parked): Effect.Effect<void> | undefined => {
  const r = p.chan.trySend(p.value)
  if (r === SENT) return Effect.void
  if (r === CLOSED) return Effect.die(sendOnClosed)
  p.chan.sendq.push(p)
  return undefined
}

const attemptReceive = (p: Parked): Effect.Effect<Option.Option<unknown>> | undefined => {
  const v = p.chan.tryRecv()
  if (v !== WOULD_BLOCK) return Effect.succeed(v === CLOSED_EMPTY ? Option.none() : Option.some(v))
  p.chan.recvq.push(p)
  return undefined
}

const resultSend = (p: Parked): Effect.Effect<void> => p.closed ? Effect.die(sendOnClosed) : Effect.void
const resultReceive = (p: Parked): Effect.Effect<Option.Option<unknown>> =>
  Effect.succeed(p.received === CLOSED_EMPTY ? Option.none() : Option.some(p.received))

// ---------------------------------------------------------------------------------------------
// Constructors
// ---------------------------------------------------------------------------------------------

/**
 * Options for `make`.
 * @since 0.1.0
 */
export interface MakeOptions {
  /** How `LeakCheck` names this channel in deadlock and leak reports (default: where it was made). */
  readonly name?: string
}

/**
 * Go's `make(chan A, capacity)`. Capacity 0 (the default) is unbuffered: each send waits for a
 * receiver (a rendezvous). `options.name` labels the channel in `LeakCheck`'s reports
 * (`Chan.make<number>(0, { name: "results" })`).
 *
 * @since 0.1.0
 */
export const make = <A>(capacity = 0, options?: MakeOptions): Effect.Effect<Chan<A>> =>
  Effect.sync(() => unsafeMake<A>(capacity, options))

/**
 * `make` without the effect, for code that builds channels outside a fiber.
 * @since 0.1.0
 */
export const unsafeMake = <A>(capacity = 0, options?: MakeOptions): Chan<A> => {
  if (!Number.isSafeInteger(capacity) || capacity < 0) {
    throw new RangeError(`Chan.make: capacity must be a non-negative integer, got ${capacity}`)
  }
  const ch = new ChanImpl<A>(capacity, false, options?.name)
  if (debugHook !== undefined) debugHook.make(ch)
  return ch
}

/**
 * Go's nil channel (`var ch chan A`): send and receive block until interrupted, `select` never
 * picks it, `close` panics.
 *
 * @since 0.1.0
 */
export const nil = <A = never>(): Chan<A> => new ChanImpl<A>(0, true)

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

/**
 * Go's `ch <- a`. Completes when a receiver took `a` (unbuffered) or `a` was buffered. On a closed
 * channel, and for a sender still blocked when the channel is closed, dies with
 * `ChanPanic("SendOnClosed")`. If interrupted while blocked, `a` is withdrawn and never delivered;
 * if a receiver took `a` before the interrupted fiber ran again, the send completes and the
 * interruption takes effect at the fiber's next channel operation (invariant 2).
 *
 * @since 0.1.0
 */
export const send = <A>(ch: SendChan<A>, a: A): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber, status) => {
    const before = beforeOperation(fiber, status.runtimeFlags)
    if (before !== undefined) return Effect.zipRight(before, send(ch, a))
    const c = impl(ch)
    if (debugHook !== undefined) debugHook.op(c, true)
    const r = c.trySend(a)
    if (r === SENT) return Effect.void
    if (r === CLOSED) return Effect.die(sendOnClosed)
    if (c.isNil) return blockForever
    const p = new Parked(a, c as ChanImpl<unknown>, true)
    p.result = resultSend
    return park(status.runtimeFlags, blockingOnSend, p, attemptSend)
  })

/**
 * What must happen before a channel operation, or `undefined` when nothing must. An operation runs
 * inside one `withFiberRuntime` step and its result reaches the caller's continuation at the next
 * step; the scheduler yields at the top of a step once the fiber's op count passes its budget. If
 * that would happen right after this step, the fiber yields first, so no yield (and no
 * interruption arriving during one) can fall between the channel changing and the caller getting
 * the result (invariant 3; for budgets below 5 ops the yield cannot be avoided and is not). A fiber
 * that owes a deferred interruption gets it back first (see `deferInterruption`). The operation is
 * retried after what this returns.
 */
const beforeOperation = (fiber: Fiber.RuntimeFiber<unknown, unknown>, flags: RuntimeFlags.RuntimeFlags): Effect.Effect<void> | undefined => {
  if (deferredCount !== 0) {
    const owed = deferred.get(fiber)
    if (owed !== undefined) {
      deferred.delete(fiber)
      deferredCount--
      const cause = Cause.sequential(fiber.getFiberRef(FiberRef.interruptedCause), owed)
      const restored = FiberRef.set(FiberRef.interruptedCause, cause)
      // Interruptible: it takes effect here. Otherwise at the end of the uninterruptible region.
      return RuntimeFlags.interruptible(flags) ? Effect.zipRight(restored, Effect.failCause(cause)) : restored
    }
  }
  const budget = fiber.getFiberRef(FiberRef.currentMaxOpsBeforeYield)
  return fiber.currentOpCount >= budget && budget > 4 ? Effect.yieldNow() : undefined
}

/**
 * Go's `v, ok := <-ch`: `Some(v)`, or `None` once the channel is closed and its buffer drained.
 * Blocks while the channel is empty and open; if interrupted, takes nothing, unless a sender (or
 * `close`) completed it before the interrupted fiber ran again: then it returns what it got and
 * the interruption takes effect at the fiber's next channel operation (invariant 2).
 *
 * @since 0.1.0
 */
export const receive = <A>(ch: RecvChan<A>): Effect.Effect<Option.Option<A>> =>
  Effect.withFiberRuntime((fiber, status) => {
    const before = beforeOperation(fiber, status.runtimeFlags)
    if (before !== undefined) return Effect.zipRight(before, receive(ch))
    const c = impl(ch)
    if (debugHook !== undefined) debugHook.op(c, false)
    const v = c.tryRecv()
    if (v !== WOULD_BLOCK) return Effect.succeed(v === CLOSED_EMPTY ? Option.none() : Option.some(v))
    if (c.isNil) return blockForever
    const p = new Parked(undefined, c as ChanImpl<unknown>, false)
    p.result = resultReceive
    return park(status.runtimeFlags, blockingOnReceive, p, attemptReceive) as Effect.Effect<Option.Option<A>>
  })

/**
 * Up to `max` values in one call: blocks until at least one value is available (or the channel is
 * closed and drained, then returns an empty array), then takes whatever else is ready without
 * blocking. The batched form of `receive`, for consumers that want throughput. Interruption is as
 * for `receive`: while blocked it takes nothing; the values it took reach the caller together.
 *
 * @since 0.1.0
 */
export const receiveUpTo = <A>(ch: RecvChan<A>, max: number): Effect.Effect<ReadonlyArray<A>> =>
  Effect.withFiberRuntime((fiber, status) => {
    const before = beforeOperation(fiber, status.runtimeFlags)
    if (before !== undefined) return Effect.zipRight(before, receiveUpTo(ch, max))
    const c = impl(ch)
    if (debugHook !== undefined) debugHook.op(c, false)
    const limit = Math.max(1, max)
    const out: Array<A> = []
    c.drainUpTo(limit, out)
    if (out.length > 0 || (c.closed && c.size === 0)) return Effect.succeed(out)
    if (c.isNil) return blockForever
    const p = new Parked(undefined, c as ChanImpl<unknown>, false)
    p.result = resultReceive
    // Woken with one value: the rest that is ready is taken in the step the fiber resumes in.
    return Effect.map(park(status.runtimeFlags, blockingOnReceive, p, attemptReceive), (first) => {
      if (Option.isNone(first)) return out
      out.push(first.value as A)
      c.drainUpTo(limit, out)
      return out
    })
  })

/**
 * Go's `close(ch)`. Wakes every blocked receiver (they get `None` once the buffer is drained) and
 * every blocked sender (they die with `SendOnClosed`). A second close dies with
 * `ChanPanic("CloseOfClosed")`, like Go's panic; closing a nil channel with `CloseOfNil`.
 *
 * @since 0.1.0
 */
export const close = <A>(ch: SendChan<A>): Effect.Effect<void> =>
  Effect.suspend(() => {
    const panic = impl(ch).close()
    return panic === undefined ? Effect.void : Effect.die(panic)
  })

/**
 * Go's `len(ch)`: the number of buffered values.
 * @since 0.1.0
 */
export const len = <A>(ch: RecvChan<A> | SendChan<A>): Effect.Effect<number> => Effect.sync(() => impl(ch).size)

/**
 * Go's `cap(ch)`.
 * @since 0.1.0
 */
export const cap = <A>(ch: RecvChan<A> | SendChan<A>): number => ch.capacity

/**
 * Whether `close` has been called (there is no Go equivalent; useful in assertions).
 * @since 0.1.0
 */
export const isClosed = <A>(ch: RecvChan<A> | SendChan<A>): Effect.Effect<boolean> =>
  Effect.sync(() => impl(ch).closed)

/** Parks without a timer (unlike `Effect.never`), so a leaked waiter does not keep node alive. */
const blockForever: Effect.Effect<never> = Effect.async<never>((_resume) => {}, blockingOnNil)

// ---------------------------------------------------------------------------------------------
// select
// ---------------------------------------------------------------------------------------------

const CaseTypeId: unique symbol = Symbol.for("leakproof/Chan/Case")

/**
 * One `case` of a `select`.
 * @since 0.1.0
 */
export interface Case<out R, out E = never, out Rq = never> {
  readonly [CaseTypeId]: {
    readonly _R: (_: never) => R
    readonly _E: (_: never) => E
    readonly _Rq: (_: never) => Rq
  }
}

interface CaseImpl {
  readonly kind: "recv" | "send"
  readonly chan: ChanImpl<unknown>
  readonly value: unknown
  readonly body: (v: Option.Option<unknown>) => Effect.Effect<unknown, unknown, unknown>
}

/**
 * `case v, ok := <-ch:` — runs `body` with `Some(v)`, or `None` if the channel was closed.
 * @since 0.1.0
 */
export const onReceive = <A, R, E = never, Rq = never>(
  ch: RecvChan<A>,
  body: (value: Option.Option<A>) => Effect.Effect<R, E, Rq>
): Case<R, E, Rq> =>
  ({ kind: "recv", chan: impl(ch), value: undefined, body }) as unknown as Case<R, E, Rq>

/**
 * `case ch <- value:` — runs `body` once `value` was sent. Dies with `SendOnClosed` if the
 * channel is (or becomes) closed, as Go's select does.
 * @since 0.1.0
 */
export const onSend = <A, R, E = never, Rq = never>(
  ch: SendChan<A>,
  value: A,
  body: () => Effect.Effect<R, E, Rq>
): Case<R, E, Rq> => ({ kind: "send", chan: impl(ch), value, body }) as unknown as Case<R, E, Rq>

type CaseR<C> = C extends Case<infer R, infer _E, infer _Rq> ? R : never
type CaseE<C> = C extends Case<infer _R, infer E, infer _Rq> ? E : never
type CaseRq<C> = C extends Case<infer _R, infer _E, infer Rq> ? Rq : never

/**
 * Go's `select`. Polls the cases in a random order and runs the first ready one; if none is ready,
 * runs `default` when given (a non-blocking select), otherwise parks on all of them at once until
 * exactly one fires. Nil channels are skipped. Exactly one case consumes: a value is never taken by
 * a case that does not run. Interruption while parked withdraws every case, unless one fired
 * before the interrupted fiber ran again: then that case runs (invariant 2).
 *
 * @since 0.1.0
 */
export const select: {
  <const Cases extends ReadonlyArray<Case<any, any, any>>>(
    cases: Cases
  ): Effect.Effect<CaseR<Cases[number]>, CaseE<Cases[number]>, CaseRq<Cases[number]>>
  <const Cases extends ReadonlyArray<Case<any, any, any>>, D, DE = never, DR = never>(
    cases: Cases,
    options: { readonly default: () => Effect.Effect<D, DE, DR> }
  ): Effect.Effect<CaseR<Cases[number]> | D, CaseE<Cases[number]> | DE, CaseRq<Cases[number]> | DR>
} = (
  cases: ReadonlyArray<Case<any, any, any>>,
  options?: { readonly default: () => Effect.Effect<unknown, unknown, unknown> }
): Effect.Effect<any, any, any> => {
  const cs = cases as unknown as ReadonlyArray<CaseImpl>
  const selectOnce: Effect.Effect<unknown, unknown, unknown> = Effect.withFiberRuntime((fiber, status) => {
    const before = beforeOperation(fiber, status.runtimeFlags)
    if (before !== undefined) return Effect.zipRight(before, selectOnce)
    if (debugHook !== undefined) for (const c of cs) debugHook.op(c.chan, c.kind === "send")
    // One `SelectRun` per evaluation (the effect may be run many times, by many fibers).
    const run = new SelectRun(cs, options)
    run.index = run.poll()
    // The chosen case's body function is called in the step its channel operation happened in.
    if (run.index !== DEFAULT_CASE || options !== undefined) return run.run()
    return run.park(status.runtimeFlags)
  })
  return selectOnce
}

const runChosen = (run: SelectRun): Effect.Effect<unknown, unknown, unknown> => run.run()

const DEFAULT_CASE = -1 // also "no case was ready" from `poll`
const SEND_ON_CLOSED = -2

/** One evaluation of a `select`: its poll order, the case it chose and what that case got. */
class SelectRun {
  /** The chosen case, `DEFAULT_CASE` or `SEND_ON_CLOSED`. */
  index = DEFAULT_CASE
  /** What the chosen receive case got (a value or `CLOSED_EMPTY`). */
  received: Received = CLOSED_EMPTY
  private readonly order: Array<number>

  constructor(
    readonly cs: ReadonlyArray<CaseImpl>,
    readonly options: { readonly default: () => Effect.Effect<unknown, unknown, unknown> } | undefined
  ) {
    // Go's pollorder: a random permutation, so no ready case starves another.
    const n = cs.length
    const order: Array<number> = new Array(n)
    for (let i = 0; i < n; i++) {
      const j = Math.floor(Math.random() * (i + 1))
      order[i] = order[j]!
      order[j] = i
    }
    this.order = order
  }

  /** Tries each case once in poll order: the index of the case that completed, `-1` if none was
   *  ready (`DEFAULT_CASE`), `SEND_ON_CLOSED` if a send case found its channel closed. */
  poll(): number {
    for (const i of this.order) {
      const c = this.cs[i]!
      if (c.chan.isNil) continue
      if (c.kind === "recv") {
        const v = c.chan.tryRecv()
        if (v !== WOULD_BLOCK) {
          this.received = v
          return i
        }
      } else {
        const r = c.chan.trySend(c.value)
        if (r === SENT) return i
        if (r === CLOSED) return SEND_ON_CLOSED
      }
    }
    return DEFAULT_CASE
  }

  /** Parks on every case at once (the park's register polls once more first); then runs the
   *  case that fired, its body function called in the step the fiber resumes in. */
  park(flags: RuntimeFlags.RuntimeFlags): Effect.Effect<unknown, unknown, unknown> {
    let live = 0
    for (const c of this.cs) if (!c.chan.isNil) live++
    if (live === 0) return blockForever
    const p = new Parked(this, undefined as unknown as ChanImpl<unknown>, false)
    p.result = resultSelect
    return Effect.flatMap(park(flags, blockingOnSelect, p, attemptSelect), runChosen)
  }

  /** Enqueues one entry per live case, all pointing at `p`. */
  enqueue(p: Parked): void {
    const entries: Array<Entry> = []
    for (const i of this.order) {
      const c = this.cs[i]!
      if (c.chan.isNil) continue
      const e = new Entry(p, i, c.value, c.chan, c.kind === "send")
      queueOf(e).push(e)
      entries.push(e)
    }
    p.entries = entries
  }

  /** Runs what was chosen: a case's body, the default, or Go's panic. */
  run(): Effect.Effect<unknown, unknown, unknown> {
    const i = this.index
    if (i === DEFAULT_CASE) return this.options!.default()
    if (i === SEND_ON_CLOSED) return Effect.die(sendOnClosed)
    const c = this.cs[i]!
    return c.body(c.kind === "send" || this.received === CLOSED_EMPTY ? Option.none() : Option.some(this.received))
  }
}

const attemptSelect = (p: Parked): Effect.Effect<SelectRun> | undefined => {
  const run = p.value as SelectRun
  const now = run.poll()
  if (now !== DEFAULT_CASE) {
    run.index = now
    return Effect.succeed(run)
  }
  run.enqueue(p)
  return undefined
}

/** A fired select resumes with its run, which names the case that fired (`SEND_ON_CLOSED` if the
 *  channel of a send case was closed under it). */
const resultSelect = (p: Parked): Effect.Effect<SelectRun> => {
  const run = p.value as SelectRun
  run.index = p.closed ? SEND_ON_CLOSED : p.firedIndex
  run.received = p.received
  return Effect.succeed(run)
}

// ---------------------------------------------------------------------------------------------
// Ranging
// ---------------------------------------------------------------------------------------------

/**
 * Go's `for v := range ch { f(v) }`: runs `f` on each value until the channel is closed and
 * drained. Interrupting it stops between values (a value is never half-processed by the loop).
 *
 * @since 0.1.0
 */
export const forEach = <A, E, R>(
  ch: RecvChan<A>,
  f: (a: A) => Effect.Effect<unknown, E, R>
): Effect.Effect<void, E, R> =>
  Effect.gen(function*() {
    while (true) {
      const next = yield* receive(ch)
      if (Option.isNone(next)) return
      yield* f(next.value)
    }
  })

/**
 * Go's `for v := range ch` as a `Stream`: the channel's values in order, ending when the channel is
 * closed and drained. A value is taken from the channel only when the stream's consumer pulls the
 * next element (one `receive` per element), so `Stream.take(toStream(ch), n)` leaves the rest in
 * the channel, as `range` + `break` does, and an interrupted consumer leaves every value it had
 * not pulled. For throughput, pull batches with `receiveUpTo` instead.
 *
 * @since 0.1.0
 */
export const toStream = <A>(ch: RecvChan<A>): Stream.Stream<A> =>
  Stream.repeatEffectChunkOption(
    Effect.flatMap(receive(ch), (next) => Option.isSome(next) ? Effect.succeed(Chunk.of(next.value)) : endOfStream)
  )

const endOfStream: Effect.Effect<never, Option.Option<never>> = Effect.fail(Option.none())

/**
 * Go's `for _, v := range values { ch <- v }`: sends each value in order (blocking as `send` does).
 * It does not close the channel: the owner closes it, once.
 * @since 0.1.0
 */
export const sendAll = <A>(ch: SendChan<A>, values: Iterable<A>): Effect.Effect<void> =>
  Effect.forEach(values, (v) => send(ch, v), { discard: true })

// ---------------------------------------------------------------------------------------------
// Done signals
// ---------------------------------------------------------------------------------------------

/**
 * The seeds' or-channel: a `Done` that is closed as soon as any of `dones` is closed (or yields a
 * value). With no inputs it is a nil channel (never done), with one it is that channel. The single
 * watcher fiber lives in the caller's `Scope`: it ends when the result is done or the scope closes.
 *
 * @since 0.1.0
 */
export const or = (...dones: ReadonlyArray<Done>): Effect.Effect<Done, never, Scope.Scope> => {
  if (dones.length === 0) return Effect.succeed(nil())
  if (dones.length === 1) return Effect.succeed(dones[0]!)
  return Effect.gen(function*() {
    const orDone = yield* make<never>()
    // Forked uninterruptible so the `ensuring` is in place even if the scope closes before the
    // watcher first runs (a fiber interrupted before its first step runs no finalizer).
    yield* Effect.uninterruptibleMask((restore) =>
      Effect.forkScoped(
        Effect.ensuring(
          restore(select(dones.map((d) => onReceive(d, () => Effect.void)))),
          close(orDone)
        )
      )
    )
    return orDone
  })
}

// ---------------------------------------------------------------------------------------------
// Timers: Go's time.After and time.Tick, as channels
// ---------------------------------------------------------------------------------------------

/**
 * Go's `time.After(d)`: a channel that receives the time once, `duration` from now, so a `select`
 * can wait for a channel *or* a deadline and take exactly one of them:
 * `select { case v := <-ch: … case <-time.After(d): … }` is
 *
 * ```ts
 * const timeout = yield* Chan.after("1 second")
 * yield* Chan.select([Chan.onReceive(ch, (v) => use(v)), Chan.onReceive(timeout, () => giveUp)])
 * ```
 *
 * If the timer wins, the value stays in `ch`; if `ch` wins, the timer's value stays in its own
 * channel. `Effect.timeout(Chan.receive(ch))` cannot promise that (see `receiveTimeout`).
 *
 * The time is the `Clock`'s epoch milliseconds when the timer fell due (Go sends that too: the
 * current time minus how late the timer ran). As in Go, the channel has capacity 1 (the timer
 * fires whether or not anyone is receiving, and never blocks) and is never closed: a second
 * receive blocks. Time is Effect's `Clock`, so under `TestClock` it fires when virtual time passes
 * `duration` (counted from this call, not from when the timer fiber first runs). The timer is one
 * fiber in the caller's `Scope`: it ends when it fires, and is interrupted (its timer cancelled)
 * when the scope closes first, which waits for it to end; nothing arrives after that. A zero (or
 * negative) duration gives a channel that already holds the time and starts no timer; an infinite
 * one, a channel that never receives.
 *
 * @since 0.1.0
 */
export const after = (duration: Duration.DurationInput): Effect.Effect<RecvChan<number>, never, Scope.Scope> => {
  const d = Duration.decode(duration)
  return Effect.suspend(() => {
    const ch = unsafeMake<number>(1, { name: `after(${Duration.format(d)})` })
    if (!Duration.isFinite(d)) return Effect.succeed(ch)
    return Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Duration.isZero(d)
        ? Effect.as(send(ch, now), ch)
        : Effect.as(Effect.forkScoped(timer(ch, now + Duration.toMillis(d))), ch))
  })
}

/**
 * A timer fiber's work: sleep until the `Clock` reads `deadline`, then send it on `ch` (which has
 * room: only this fiber sends there). Interruptible even when forked from an uninterruptible
 * region, so its owner can always stop it.
 */
const timer = (ch: Chan<number>, deadline: number): Effect.Effect<void> =>
  Effect.interruptible(Effect.zipRight(sleepUntil(deadline), send(ch, deadline)))

/** Sleeps until the `Clock` reads `deadline` (a timer fiber may first run later than it was made). */
const sleepUntil = (deadline: number): Effect.Effect<void> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => (deadline > now ? Effect.sleep(Duration.millis(deadline - now)) : Effect.void))

/**
 * Go's `time.Tick(d)` (a `time.Ticker` stopped with the scope): a channel that receives the time
 * every `period`, first one `period` after this call. Ticks stay on the grid start + k·period, and
 * each carries the time it fell due (the `Clock`'s epoch milliseconds). Like Go's ticker the
 * channel holds one tick: a reader that falls behind gets the oldest pending tick at once, then the
 * next one on the grid, and the ticks in between are dropped (Go: "adjusts the intervals or drops
 * ticks to make up for slow receivers"); the ticker itself never blocks.
 *
 * The ticker is one fiber in the caller's `Scope`, interrupted (its timer cancelled) when the
 * scope closes: nothing arrives after that, and the channel is never closed (as Go's
 * `Ticker.Stop`). Time is Effect's `Clock` (virtual under `TestClock`). A zero period gives Go's
 * `time.Tick(0)`: a nil channel, which never receives and which `select` skips.
 *
 * @since 0.1.0
 */
export const tick = (period: Duration.DurationInput): Effect.Effect<RecvChan<number>, never, Scope.Scope> => {
  const d = Duration.decode(period)
  return Effect.suspend(() => {
    if (Duration.isZero(d)) return Effect.succeed(nil<number>())
    const ch = unsafeMake<number>(1, { name: `tick(${Duration.format(d)})` })
    if (!Duration.isFinite(d)) return Effect.succeed(ch)
    const millis = Duration.toMillis(d)
    // Go's sendTime: a non-blocking send, so a reader that is behind loses this tick.
    const sendTick = (due: number) => select([onSend(ch, due, () => Effect.void)], { default: () => Effect.void })
    const ticker = (start: number) =>
      Effect.gen(function*() {
        let due = start + millis
        while (true) {
          yield* sleepUntil(due)
          yield* sendTick(due)
          // The next tick on the grid after now: ticks that fell due while this one was late are
          // dropped, not sent in a burst.
          const now = yield* Clock.currentTimeMillis
          due += millis * (Math.floor((now - due) / millis) + 1)
        }
      })
    return Effect.flatMap(Clock.currentTimeMillis, (start) => Effect.as(Effect.forkScoped(Effect.interruptible(ticker(start))), ch))
  })
}

/**
 * `Chan.receive(ch)` with a deadline, without losing a value: Go's
 * `select { case v, ok := <-ch: … case <-time.After(d): … }`. `Some(v)` or `None` (closed and
 * drained) as `receive` gives them, or a `TimeoutException` when `duration` passed first; then
 * nothing was taken from `ch`. A value that is ready is taken at once, without a timer (so a zero
 * duration is a non-blocking receive that fails when nothing is ready); an infinite one is
 * `receive`.
 *
 * This is the lossless form of `Effect.timeout(Chan.receive(ch), duration)` (same type). That one
 * races the receive (in a fiber of its own) against a sleep: if a sender hands the receiver a
 * value just as the sleep wins, the race discards the loser's completed result, value included.
 * Here one `select` takes either the value or the timer's tick. It is one channel operation, with
 * the invariants of `receive`: if it ends interrupted, it took nothing. Its timer is a child fiber,
 * stopped in the step the value was taken (and with the fiber, if it is interrupted).
 *
 * @since 0.1.0
 */
export const receiveTimeout = <A>(
  ch: RecvChan<A>,
  duration: Duration.DurationInput
): Effect.Effect<Option.Option<A>, Cause.TimeoutException> => {
  const d = Duration.decode(duration)
  const timedOut = Effect.failSync(() => new Cause.TimeoutException(`Operation timed out after '${Duration.format(d)}'`))
  const ready = onReceive(ch, (v: Option.Option<A>) => Effect.succeed(v))
  if (!Duration.isFinite(d)) return receive(ch)
  if (Duration.isZero(d)) return select([ready], { default: () => timedOut })
  // Not `after` in a scope: closing a scope waits for the timer fiber, and an interruption arriving
  // then would drop the value the select took. A child fiber ends with this one when it is
  // interrupted, and the case that takes the value stops it in that same step.
  const wait = Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const timeout = unsafeMake<number>(1, { name: `after(${Duration.format(d)})` })
    return Effect.flatMap(Effect.fork(timer(timeout, now + Duration.toMillis(d))), (timerFiber) =>
      select([
        onReceive(ch, (v: Option.Option<A>) => {
          timerFiber.unsafeInterruptAsFork(FiberId.none)
          return Effect.succeed(v)
        }),
        onReceive(timeout, () => timedOut)
      ]))
  })
  return select([ready], { default: () => wait })
}
