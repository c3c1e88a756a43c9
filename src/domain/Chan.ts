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
 * - Blocking is interruption-aware: an interrupted sender is withdrawn and its value is never
 *   delivered; an interrupted receiver takes nothing. This is how `ctx.Done()` is spelled here:
 *   no per-send `select` is needed to make a producer cancellable.
 *
 * The implementation follows Go's runtime (`chansend`/`chanrecv`/`selectgo`): a ring buffer plus
 * FIFO queues of parked senders and receivers. A sender that finds a parked receiver hands the
 * value over directly (and vice versa) without parking itself, and parked operations are withdrawn
 * in O(1) by marking them dead, so interrupting 100k parked fibers is linear.
 *
 * @since 0.1.0
 */
import { Cause, Chunk, Data, Effect, FiberId, FiberRef, Option, RuntimeFlags, Stream } from "effect"
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
 * A fired operation is *committed* only when its fiber actually resumes. Interruption can overtake
 * the wake-up (the fiber was told to stop before it ran again); then the canceler finds the
 * operation fired but not committed and gives a received value back to the channel, so no value
 * is ever lost to a receiver that never saw it. Once a fiber resumes it runs synchronously (the
 * runtime resets its op budget on resume), so commit and the caller's next step are atomic.
 */
class Parked {
  done = false
  committed = false
  /** The entry that fired (for a plain operation, the `Parked` itself). */
  fired: Entry | Parked | undefined = undefined
  /** What a receive case got (a value or `CLOSED_EMPTY`); `closed` tells a send case that the
   *  channel was closed under it. */
  received: Received = CLOSED_EMPTY
  closed = false
  entries: Array<Entry> | undefined = undefined
  resume: (effect: Effect.Effect<any, any, any>) => void = noop
  /** Builds the effect the woken fiber resumes with, from this (fired) operation. */
  result: (p: Parked) => Effect.Effect<any, any, any> = resultVoid
  readonly parked: Parked = this
  constructor(
    readonly index: number,
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

const fire = (e: QueueItem, received: Received, closed: boolean): void => {
  const p = e.parked
  p.done = true
  p.fired = e
  p.received = received
  p.closed = closed
  const entries = p.entries
  if (entries !== undefined) {
    for (const other of entries) if (other !== e) queueOf(other).markDead()
  }
  p.resume(commit(p))
}

/** The canceler of a parked operation: withdraw it, or undo a wake-up its fiber never saw. */
const cancel = (p: Parked): void => {
  if (!p.done) {
    p.done = true
    if (p.entries !== undefined) for (const e of p.entries) queueOf(e).markDead()
    else queueOf(p).markDead()
  } else if (!p.committed && p.fired !== undefined && !p.fired.isSend && p.received !== CLOSED_EMPTY) {
    p.fired.chan.giveBack(p.received)
  }
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
  // ring buffer
  private buf: Array<A | undefined>
  private head = 0
  size = 0

  constructor(readonly capacity: number, readonly isNil: boolean, readonly name?: string) {
    this.buf = new Array(capacity)
  }

  private push(a: A): void {
    this.buf[(this.head + this.size) % this.buf.length] = a
    this.size++
  }

  /** Puts `a` in front of the buffer, past capacity if need be (only `giveBack` does this). */
  private unshift(a: A): void {
    const len = this.buf.length
    if (this.size === len) {
      const grown: Array<A | undefined> = new Array(Math.max(1, len * 2))
      for (let i = 0; i < this.size; i++) grown[i] = this.buf[(this.head + i) % len]
      this.buf = grown
      this.head = 0
    }
    this.head = (this.head - 1 + this.buf.length) % this.buf.length
    this.buf[this.head] = a
    this.size++
  }

  /** A value taken by a receiver that was interrupted before it saw it: next in line again. */
  giveBack(a: A): void {
    const r = this.recvq.shift()
    if (r !== undefined) fire(r, a, false)
    else this.unshift(a)
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
      if (this.size < this.capacity) {
        const s = this.sendq.shift()
        if (s !== undefined) {
          this.push(s.value as A)
          fire(s, CLOSED_EMPTY, false)
        }
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
 * Interruption withdraws it (see `cancel`). The wake-up commits only if the fiber is not being
 * interrupted; otherwise it becomes an interruption, and the canceler gives a received value back.
 *
 * `attempt` runs when the fiber actually suspends: it retries the operation (the channel may have
 * changed if the fiber yielded to the scheduler since its first try) and either returns the
 * result, or enqueues `p` and returns `undefined`. Check-and-enqueue is thus one synchronous step,
 * as under Go's channel lock, so a sender and a receiver can never both end up parked.
 */
const park = <A, E, R>(
  blockingOn: FiberId.FiberId,
  p: Parked,
  attempt: (p: Parked) => Effect.Effect<A, E, R> | undefined
): Effect.Effect<A, E, R> =>
  // Not `Effect.async` with a canceler: that wraps every wait in `onInterrupt` (uninterruptibleMask,
  // matchCauseEffect, and a zipRight on every wake-up), about twice the cost of the wait itself.
  // Here a bare wait runs in `restore` of an `uninterruptibleMask` under one `catchAllCause` frame:
  // a wake-up skips the frame; an interruption leaves `restore` first, so the fiber is
  // uninterruptible again when the failure reaches the frame and the handler always runs (the
  // runtime skips failure handlers only while interruptible and interrupted).
  Effect.uninterruptibleMask((restore) =>
    Effect.catchAllCause(
      restore(Effect.async<A, E, R>((resume) => {
        const now = attempt(p)
        if (now !== undefined) return resume(now)
        p.resume = resume
        if (debugHook !== undefined) debugHook.park(p.entries ?? [p])
      }, blockingOn)),
      (cause) => {
        if (p.resume !== noop) cancel(p) // it was queued: withdraw it, or give back what it was handed
        return Effect.failCause(cause)
      }
    )
  )

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

/** The effect a woken fiber resumes with (allocated only on wake). */
const commit = (p: Parked): Effect.Effect<unknown, unknown, unknown> =>
  Effect.withFiberRuntime((fiber, status) => {
    if (
      RuntimeFlags.interruptible(status.runtimeFlags) &&
      !Cause.isEmpty(fiber.getFiberRef(FiberRef.interruptedCause))
    ) return Effect.interrupt
    p.committed = true
    return p.result(p)
  })

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
 * `ChanPanic("SendOnClosed")`. If interrupted while blocked, `a` is withdrawn and never delivered.
 *
 * @since 0.1.0
 */
export const send = <A>(ch: SendChan<A>, a: A): Effect.Effect<void> =>
  Effect.suspend(() => {
    const c = impl(ch)
    if (debugHook !== undefined) debugHook.op(c, true)
    if (c.isNil) return blockForever
    const r = c.trySend(a)
    if (r === SENT) return Effect.void
    if (r === CLOSED) return Effect.die(sendOnClosed)
    const p = new Parked(0, a, c as ChanImpl<unknown>, true)
    p.result = resultSend
    return park(blockingOnSend, p, attemptSend)
  })

/**
 * Go's `v, ok := <-ch`: `Some(v)`, or `None` once the channel is closed and its buffer drained.
 * Blocks while the channel is empty and open; if interrupted, takes nothing.
 *
 * @since 0.1.0
 */
export const receive = <A>(ch: RecvChan<A>): Effect.Effect<Option.Option<A>> =>
  Effect.suspend(() => {
    const c = impl(ch)
    if (debugHook !== undefined) debugHook.op(c, false)
    if (c.isNil) return blockForever
    const v = c.tryRecv()
    if (v !== WOULD_BLOCK) return Effect.succeed(v === CLOSED_EMPTY ? Option.none() : Option.some(v))
    const p = new Parked(0, undefined, c as ChanImpl<unknown>, false)
    p.result = resultReceive
    return park(blockingOnReceive, p, attemptReceive) as Effect.Effect<Option.Option<A>>
  })

/**
 * Up to `max` values in one call: blocks until at least one value is available (or the channel is
 * closed and drained, then returns an empty array), then takes whatever else is ready without
 * blocking. The batched form of `receive`, for consumers that want throughput.
 *
 * @since 0.1.0
 */
export const receiveUpTo = <A>(ch: RecvChan<A>, max: number): Effect.Effect<ReadonlyArray<A>> =>
  Effect.flatMap(receive(ch), (first) => {
    if (Option.isNone(first)) return Effect.succeed([])
    const out = [first.value]
    impl(ch).drainUpTo(max, out)
    return Effect.succeed(out)
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
 * a case that does not run. Interruption while parked withdraws every case.
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
): Effect.Effect<any, any, any> =>
  Effect.suspend(() => {
    const cs = cases as unknown as ReadonlyArray<CaseImpl>
    if (debugHook !== undefined) for (const c of cs) debugHook.op(c.chan, c.kind === "send")
    const n = cs.length
    // Go's pollorder: a random permutation, so no ready case starves another.
    const order: Array<number> = new Array(n)
    for (let i = 0; i < n; i++) {
      const j = Math.floor(Math.random() * (i + 1))
      order[i] = order[j]!
      order[j] = i
    }
    const poll = (): Effect.Effect<any, any, any> | undefined => {
      for (const i of order) {
        const c = cs[i]!
        if (c.chan.isNil) continue
        if (c.kind === "recv") {
          const v = c.chan.tryRecv()
          if (v !== WOULD_BLOCK) return c.body(v === CLOSED_EMPTY ? Option.none() : Option.some(v))
        } else {
          const r = c.chan.trySend(c.value)
          if (r === SENT) return c.body(Option.none())
          if (r === CLOSED) return Effect.die(sendOnClosed)
        }
      }
      return undefined
    }
    const ready = poll()
    if (ready !== undefined) return ready
    if (options !== undefined) return options.default()
    let live = 0
    for (const c of cs) if (!c.chan.isNil) live++
    if (live === 0) return blockForever
    const p = new Parked(-1, undefined, undefined as unknown as ChanImpl<unknown>, false)
    p.result = (p) => {
      if (p.closed) return Effect.die(sendOnClosed)
      const c = cs[p.fired!.index]!
      return c.body(c.kind === "send" || p.received === CLOSED_EMPTY ? Option.none() : Option.some(p.received))
    }
    return park(blockingOnSelect, p, (p) => {
      const now = poll()
      if (now !== undefined) return now
      const entries: Array<Entry> = []
      for (const i of order) {
        const c = cs[i]!
        if (c.chan.isNil) continue
        const e = new Entry(p, i, c.value, c.chan, c.kind === "send")
        queueOf(e).push(e)
        entries.push(e)
      }
      p.entries = entries
      return undefined
    })
  })

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
 * The channel's values as a `Stream`, ending when the channel is closed and drained. Values are
 * pulled in chunks of up to `chunkSize` (default 256) that were ready at once.
 *
 * @since 0.1.0
 */
export const toStream = <A>(ch: RecvChan<A>, options?: { readonly chunkSize?: number }): Stream.Stream<A> => {
  const max = options?.chunkSize ?? 256
  return Stream.repeatEffectChunkOption(
    Effect.flatMap(receiveUpTo(ch, max), (values) =>
      values.length === 0 ? Effect.fail(Option.none()) : Effect.succeed(chunkOf(values))
    )
  )
}

const chunkOf = <A>(values: ReadonlyArray<A>): Chunk.Chunk<A> => Chunk.unsafeFromArray(values)

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
