/**
 * leakproof's `goleak`: count live fibers and prove an effect leaves none behind; Go's deadlock
 * detector, for one effect and with the channels named; and a goroutine dump grouped like pprof's.
 *
 * ```ts
 * it.effect("forgotten sender: leaving the scope interrupts every producer", () =>
 *   LeakCheck.verifyNone(program))
 * ```
 *
 * A `Supervisor` is installed for the checked effect, so every fiber it forks is seen, at any depth
 * and however it was forked (`fork`, `forkScoped`, `forkIn`, `forkDaemon`). While the effect runs,
 * if every fiber it started is parked on something only those fibers could end (a channel or
 * `Deferred` made inside the check, a `Queue`, another of its fibers) and no timer is pending, the
 * check interrupts them and fails with `Deadlock` at once, naming what each waits on and the wait
 * cycle. When the effect has exited, the check waits (bounded) for the fibers it started to end,
 * then fails with a `FiberLeak` that lists each survivor: its id, its parent, what it is blocked on,
 * the span it runs in, and the line of user code that forked it ("created at", goleak's "created
 * by") and where it is blocked. Waiting first yields to the scheduler, then polls on the live
 * clock, so it works the same under `TestClock` (virtual time) and never advances virtual time.
 *
 * @since 0.1.0
 */
import { Clock, Data, Deferred, Duration, Effect, Either, Exit, Fiber, FiberId, Option, Supervisor } from "effect"
import type * as Context from "effect/Context"
import type * as Tracer from "effect/Tracer"
import * as Chan from "./Chan.js"
import * as FiberProbe from "./FiberProbe.js"
import * as WaitGraph from "./WaitGraph.js"

type AnyFiber = Fiber.RuntimeFiber<unknown, unknown>

// ---------------------------------------------------------------------------------------------
// Reports
// ---------------------------------------------------------------------------------------------

/**
 * One fiber, as a goroutine dump shows it.
 * @since 0.1.0
 */
export interface LeakedFiber {
  readonly id: number
  readonly parent: number | undefined
  /** `running`, `suspended`, `suspended: chan send`, … (Go's `[chan send]` in a goroutine dump). */
  readonly state: string
  /** The innermost span first (`Effect.fn` / `Effect.withSpan` names), if any. */
  readonly spans: ReadonlyArray<string>
  /** `path:line` of the user code that forked it (goleak's "created by"); recorded while checking. */
  readonly createdAt: string | undefined
  /** `path:line` of the last user code it ran (where it is blocked); recorded while checking. */
  readonly blockedAt: string | undefined
  /** What it waits on, in words (`waits to send on \`results\`, which only #2 receives`), if known. */
  readonly waitsOn: string | undefined
}

/**
 * The check failed: these fibers were still alive after the checked effect exited.
 * @since 0.1.0
 */
export class FiberLeak extends Data.TaggedError("FiberLeak")<{
  readonly leaked: ReadonlyArray<LeakedFiber>
}> {
  constructor(args: { readonly leaked: ReadonlyArray<LeakedFiber> }) {
    super(args)
    this.stack = `FiberLeak: ${this.message}` // the report says where; LeakCheck's own frames would not
  }

  /** Interrupts the leaked fibers (test clean-up after an expected leak). */
  get interruptLeaked(): Effect.Effect<void> {
    return Fiber.interruptAll(leakedFibers.get(this) ?? [])
  }

  override get message(): string {
    const lines = this.leaked.map((f) => indent(formatFiber(f)))
    return `found ${this.leaked.length} leaked fiber(s):\n${lines.join("\n")}`
  }
}

const leakedFibers = new WeakMap<FiberLeak, ReadonlyArray<AnyFiber>>()

/**
 * A fiber of a deadlocked effect, with what it waits on.
 * @since 0.1.0
 */
export interface BlockedFiber extends LeakedFiber {
  readonly waits: ReadonlyArray<WaitGraph.Wait>
}

/**
 * Go's "all goroutines are asleep - deadlock!", for the fibers of one checked effect: every one of
 * them was parked on something only they could end, and no timer was pending. `cycles` are the
 * wait cycles found among them (see `WaitGraph`). The fibers were interrupted.
 * @since 0.1.0
 */
export class Deadlock extends Data.TaggedError("Deadlock")<{
  readonly reason: "AllBlocked"
  readonly fibers: ReadonlyArray<BlockedFiber>
  readonly cycles: ReadonlyArray<ReadonlyArray<WaitGraph.Step>>
}> {
  constructor(args: {
    readonly reason: "AllBlocked"
    readonly fibers: ReadonlyArray<BlockedFiber>
    readonly cycles: ReadonlyArray<ReadonlyArray<WaitGraph.Step>>
  }) {
    super(args)
    this.stack = `Deadlock: ${this.message}` // the report says where; LeakCheck's own frames would not
  }

  override get message(): string {
    const n = this.fibers.length
    const head = `${n === 1 ? "the only fiber" : `all ${n} fibers`} of the checked effect ${n === 1 ? "is" : "are"} blocked and no timer is pending: deadlock!`
    const lines = this.fibers.map((f) => indent(formatFiber(f)))
    const cycles = this.cycles.map((c) => `  cycle: ${WaitGraph.describeCycle(c)}`)
    return [head, ...lines, ...cycles].join("\n")
  }
}

const indent = (text: string): string => text.split("\n").map((l) => `  ${l}`).join("\n")

/**
 * Renders a fiber the way goleak renders a goroutine: a header line (id, state, parent, spans),
 * then what it waits on and where it was created and blocked, when known.
 * @since 0.1.0
 */
export const formatFiber = (f: LeakedFiber): string => {
  const parent = f.parent === undefined ? "" : `, started by #${f.parent}`
  const spans = f.spans.length === 0 ? "" : ` in ${f.spans.join(" < ")}`
  const where = [
    f.createdAt === undefined ? undefined : `created at ${f.createdAt}`,
    f.blockedAt === undefined ? undefined : `${f.state === "running" ? "running at" : "blocked at"} ${f.blockedAt}`
  ].filter((s) => s !== undefined)
  const details = [f.waitsOn, where.length === 0 ? undefined : where.join(", ")].filter((s) => s !== undefined)
  return [`fiber #${f.id} [${f.state}${parent}]${spans}`, ...details.map((d) => `    ${d}`)].join("\n")
}

// ---------------------------------------------------------------------------------------------
// What a fiber is doing: state, spans, waits
// ---------------------------------------------------------------------------------------------

const spanNames = (fiber: AnyFiber): ReadonlyArray<string> => {
  const names: Array<string> = []
  let span: Tracer.AnySpan | undefined = fiber.currentSpan
  while (span !== undefined && names.length < 8) {
    if (span._tag === "Span") {
      names.push(span.name)
      span = Option.getOrUndefined(span.parent)
    } else {
      names.push("<external>")
      span = undefined
    }
  }
  return names
}

// What the check learned about channels (through `Chan`'s debug hook) and parked fibers.
interface ChanInfo {
  readonly seq: number
  readonly madeBy: number | undefined
  readonly madeAt: FiberProbe.Site | undefined
  readonly senders: Set<number>
  readonly receivers: Set<number>
}
let chanSeq = 0
const chans = new WeakMap<object, ChanInfo>()
const parkedOps = new WeakMap<object, ReadonlyArray<Chan.ParkedOp>>()

const chanInfo = (ch: object): ChanInfo => {
  let info = chans.get(ch)
  if (info === undefined) {
    info = { seq: ++chanSeq, madeBy: undefined, madeAt: undefined, senders: new Set(), receivers: new Set() }
    chans.set(ch, info)
  }
  return info
}

const chanLabel = (ch: Chan.ParkedOp["chan"]): string => {
  const name = Chan.nameOf(ch)
  if (name !== undefined) return name
  const info = chanInfo(ch)
  return info.madeAt === undefined ? `chan #${info.seq}` : `chan@${FiberProbe.format(info.madeAt)}`
}

const checkedFiber = (): AnyFiber | undefined => {
  const fiber = FiberProbe.currentFiber()
  return fiber !== undefined && regions.has(fiber) ? fiber : undefined
}

const chanHook: Chan.DebugHook = {
  make: (ch) => {
    const fiber = checkedFiber()
    if (fiber === undefined) return
    chans.set(ch, {
      seq: ++chanSeq,
      madeBy: fiber.id().id,
      madeAt: FiberProbe.siteOf(fiber),
      senders: new Set(),
      receivers: new Set()
    })
  },
  op: (ch, isSend) => {
    const fiber = checkedFiber()
    if (fiber === undefined) return
    const info = chanInfo(ch)
    ;(isSend ? info.senders : info.receivers).add(fiber.id().id)
  },
  park: (ops) => {
    const fiber = checkedFiber()
    if (fiber !== undefined) parkedOps.set(fiber, ops)
  }
}

const isNilWait = (blockingOn: FiberId.FiberId): boolean => Chan.describeBlockingOn(blockingOn) === "chan (nil)"

/**
 * What `fiber` (suspended on `blockingOn`) waits on. `alive` finds a live fiber by id, `ended`
 * tells a fiber known to have ended, and `joins` is how many `Fiber.join`s wait for a fiber (not
 * counting the check's own), if known.
 */
const waitsOf = (
  fiber: AnyFiber,
  blockingOn: FiberId.FiberId,
  alive: (id: number) => AnyFiber | undefined,
  ended: (id: number) => boolean,
  joins: (target: AnyFiber) => number | undefined
): ReadonlyArray<WaitGraph.Wait> => {
  if (blockingOn._tag !== "Runtime") return []
  const self = fiber.id().id
  const id = blockingOn.id
  if (id < 0) {
    if (isNilWait(blockingOn)) return [{ _tag: "NilChan" }]
    return (parkedOps.get(fiber) ?? []).map((op) => {
      const info = chanInfo(op.chan)
      const peers = [...(op.isSend ? info.receivers : info.senders)]
        .filter((p) => p !== self)
        .map((p) => ({ id: p, alive: alive(p) !== undefined }))
      return { _tag: op.isSend ? "ChanSend" : "ChanReceive", chan: chanLabel(op.chan), peers }
    })
  }
  if (id === self) return [{ _tag: "Own" }]
  const target = alive(id)
  if (target === undefined) return [{ _tag: "Deferred", madeBy: id, maker: ended(id) ? "ended" : "unknown" }]
  const n = joins(target)
  if (n === undefined) return [{ _tag: "JoinOrDeferred", fiber: id }]
  return n > 0 ? [{ _tag: "Join", fiber: id }] : [{ _tag: "Deferred", madeBy: id, maker: "alive" }]
}

const stateOf = (probe: FiberProbe.State, waits: ReadonlyArray<WaitGraph.Wait>): string => {
  switch (probe._tag) {
    case "Done":
      return "done"
    case "Runnable":
      return "running"
    case "Unknown":
      return "unknown"
    case "Suspended": {
      if (waits.length > 0) return `suspended: ${WaitGraph.bracket(waits)}`
      const chan = Chan.describeBlockingOn(probe.blockingOn)
      return chan === undefined ? "suspended" : `suspended: ${chan}`
    }
  }
}

const describeFiber = (
  fiber: AnyFiber,
  parent: number | undefined,
  createdAt: FiberProbe.Site | undefined,
  alive: (id: number) => AnyFiber | undefined,
  ended: (id: number) => boolean,
  joins: (target: AnyFiber) => number | undefined
): BlockedFiber => {
  const probe = FiberProbe.probe(fiber)
  const waits = probe._tag === "Suspended" ? waitsOf(fiber, probe.blockingOn, alive, ended, joins) : []
  const blockedAt = FiberProbe.siteOf(fiber)
  return {
    id: fiber.id().id,
    parent,
    state: stateOf(probe, waits),
    spans: spanNames(fiber),
    createdAt: createdAt === undefined ? undefined : FiberProbe.format(createdAt),
    blockedAt: blockedAt === undefined ? undefined : FiberProbe.format(blockedAt),
    waitsOn: waits.length === 0 ? undefined : waits.map(WaitGraph.describeWait).join("; or "),
    waits
  }
}

// ---------------------------------------------------------------------------------------------
// Regions: the fibers one check started
// ---------------------------------------------------------------------------------------------

/**
 * A fiber the check ignores (goleak's `IgnoreTopFunction` / `IgnoreAnyFunction`): one with a span
 * of that name (a string matches exactly) anywhere in its span stack, and/or created at a matching
 * site (a string matches a substring of `path:line`). Both given: both must match.
 * @since 0.1.0
 */
export interface Ignore {
  readonly span?: string | RegExp
  readonly createdAt?: string | RegExp
}

/**
 * Options of `verifyNone` and `detectDeadlock`.
 * @since 0.1.0
 */
export interface CheckOptions {
  /** How long to wait for fibers to end once the effect exited (default 2 seconds, real time). */
  readonly within?: Duration.DurationInput
  /** Fibers that may outlive the effect (default none). */
  readonly ignore?: ReadonlyArray<Ignore>
  /** Detect deadlocks while the effect runs (default true). */
  readonly deadlock?: boolean
  /**
   * Record where fibers were created and blocked (default true, or false when the environment
   * variable `LEAKPROOF_SITES=0`; costs a few microseconds per `yield*` in the checked effect).
   */
  readonly sites?: boolean
}

interface Started {
  readonly parent: number | undefined
  readonly createdAt: FiberProbe.Site | undefined
}

// ---------------------------------------------------------------------------------------------
// Timers started by checked fibers
// ---------------------------------------------------------------------------------------------

// A plain `setTimeout`/`setInterval` started by a checked fiber (a callback that will complete a
// Deferred, run a fiber...) is a pending timer: while one is pending no deadlock is reported.
// While checks run, the globals are wrapped to count them per check; `clear*` and firing uncount.
const timerOwner = new WeakMap<object, Region>()
let timerUsers = 0
let restoreTimers: (() => void) | undefined = undefined

const ownerOfCurrentFiber = (): Region | undefined => {
  const fiber = FiberProbe.currentFiber()
  return fiber === undefined ? undefined : regions.get(fiber)
}

const uncount = (handle: unknown): void => {
  if (typeof handle !== "object" || handle === null) return
  const region = timerOwner.get(handle)
  if (region !== undefined) {
    timerOwner.delete(handle)
    region.timers--
  }
}

const enableTimerTracking = (): (() => void) => {
  if (timerUsers++ === 0) {
    const g = globalThis as unknown as Record<"setTimeout" | "setInterval" | "clearTimeout" | "clearInterval", Function>
    const original = { setTimeout: g.setTimeout, setInterval: g.setInterval, clearTimeout: g.clearTimeout, clearInterval: g.clearInterval }
    const wrapStart = (start: Function, once: boolean) => {
      const wrapped = function(this: unknown, callback: unknown, ...rest: Array<unknown>) {
        const region = ownerOfCurrentFiber()
        if (region === undefined || typeof callback !== "function") return start.call(this, callback, ...rest)
        let handle: unknown = undefined
        handle = start.call(this, function(this: unknown, ...args: Array<unknown>) {
          if (once) uncount(handle)
          return callback.apply(this, args)
        }, ...rest)
        if (typeof handle === "object" && handle !== null) {
          timerOwner.set(handle, region)
          region.timers++
        }
        return handle
      }
      return Object.defineProperties(wrapped, Object.getOwnPropertyDescriptors(start))
    }
    const wrapClear = (clear: Function) =>
      Object.defineProperties(function(this: unknown, handle: unknown) {
        uncount(handle)
        return clear.call(this, handle)
      }, Object.getOwnPropertyDescriptors(clear))
    const wrappers = {
      setTimeout: wrapStart(original.setTimeout, true),
      setInterval: wrapStart(original.setInterval, false),
      clearTimeout: wrapClear(original.clearTimeout),
      clearInterval: wrapClear(original.clearInterval)
    }
    Object.assign(g, wrappers)
    restoreTimers = () => {
      for (const key of Object.keys(wrappers) as Array<keyof typeof wrappers>) {
        if (g[key] === wrappers[key]) g[key] = original[key] // unless someone replaced it since (fake timers)
      }
    }
  }
  let released = false
  return () => {
    if (released) return
    released = true
    if (--timerUsers === 0) {
      restoreTimers?.()
      restoreTimers = undefined
    }
  }
}

/** A live fiber's entry: its parent's id, or (when a site was recorded) both. Kept small: a
 *  tracked benchmark may hold 100k of them. */
type Entry = Started | number | undefined

const startedOf = (entry: Entry): Started =>
  typeof entry === "object" ? entry : { parent: entry, createdAt: undefined }

/** Every fiber in a check, and the innermost check it belongs to. */
const regions = new WeakMap<object, Region>()
/** Checks running now, innermost last. */
const openRegions = new Set<Region>()
let chanHookUsers = 0

const matches = (pattern: string | RegExp, text: string, exact: boolean): boolean =>
  typeof pattern === "string" ? (exact ? text === pattern : text.includes(pattern)) : pattern.test(text)

class Region extends Supervisor.AbstractSupervisor<void> {
  readonly value = Effect.void
  readonly live = new Map<AnyFiber, Entry>()
  /** Every fiber id this check has started (whose Deferreds and channels are "inside"); kept only
   *  when detecting deadlocks. */
  readonly ids = new Set<number>()
  started = 0
  /** Plain timers started by this check's fibers and still pending. */
  timers = 0
  /** Counts fiber resumptions: a deadlock must hold across two event-loop turns with no resume. */
  epoch = 0
  root: AnyFiber | undefined = undefined
  detecting = false
  private checkPending = false
  private fired = false
  readonly deadlocked = Deferred.unsafeMake<Deadlock>(FiberId.none)
  private pendingSleeps: () => number = () => 0
  private release: Array<() => void> = []

  constructor(
    readonly sites: boolean,
    readonly deadlock: boolean,
    readonly ignore: ReadonlyArray<Ignore>
  ) {
    super()
  }

  override onStart<A, E, R>(
    _context: Context.Context<R>,
    _effect: Effect.Effect<A, E, R>,
    parent: Option.Option<Fiber.RuntimeFiber<any, any>>,
    fiber: Fiber.RuntimeFiber<A, E>
  ): void {
    this.started++
    if (this.deadlock) this.ids.add(fiber.id().id)
    const p = Option.getOrUndefined(parent) as AnyFiber | undefined
    const createdAt = this.sites ? (p !== undefined ? FiberProbe.siteOf(p) : FiberProbe.userSiteHere()) : undefined
    this.live.set(fiber, createdAt === undefined ? p?.id().id : { parent: p?.id().id, createdAt })
    if (this.sites || this.deadlock) regions.set(fiber, this)
    if (this.sites) FiberProbe.watch(fiber)
  }

  override onEnd<A, E>(_value: Exit.Exit<A, E>, fiber: Fiber.RuntimeFiber<A, E>): void {
    this.live.delete(fiber)
    if (regions.get(fiber) === this) regions.delete(fiber)
    if (this.sites) FiberProbe.unwatch(fiber)
  }

  override onResume<A, E>(_fiber: Fiber.RuntimeFiber<A, E>): void {
    this.epoch++
  }

  override onSuspend<A, E>(_fiber: Fiber.RuntimeFiber<A, E>): void {
    if (this.detecting && !this.checkPending) {
      this.checkPending = true
      setImmediate(this.check)
    }
  }

  /** Installs what the check needs (reference counted across nested checks). */
  open(clock: Clock.Clock): void {
    openRegions.add(this)
    if (this.sites) this.release.push(FiberProbe.enableSites())
    if (this.sites || this.deadlock) {
      if (chanHookUsers++ === 0) Chan.setDebugHook(chanHook)
      this.release.push(() => {
        if (--chanHookUsers === 0) Chan.setDebugHook(undefined)
      })
    }
    if (this.deadlock) this.release.push(enableTimerTracking())
    const testClock = clock as Clock.Clock & { readonly sleeps?: Effect.Effect<{ readonly length: number }> }
    if (Effect.isEffect(testClock.sleeps)) {
      const sleeps = testClock.sleeps
      this.pendingSleeps = () => Effect.runSync(sleeps).length
    }
    this.detecting = this.deadlock
  }

  close(): void {
    this.detecting = false
    openRegions.delete(this)
    for (const release of this.release.splice(0)) release()
  }

  alive = (id: number): AnyFiber | undefined => {
    for (const fiber of this.live.keys()) if (fiber.id().id === id) return fiber
    return undefined
  }

  private joins = (target: AnyFiber): number | undefined => {
    const n = FiberProbe.joiners(target)
    return n === undefined ? undefined : n - (target === this.root ? 1 : 0) // the check awaits its root
  }

  private ignored(fiber: AnyFiber, started: Started): boolean {
    if (this.ignore.length === 0) return false
    const spans = spanNames(fiber)
    const createdAt = started.createdAt === undefined ? undefined : FiberProbe.format(started.createdAt)
    return this.ignore.some((rule) =>
      (rule.span === undefined || spans.some((s) => matches(rule.span!, s, true))) &&
      (rule.createdAt === undefined || (createdAt !== undefined && matches(rule.createdAt, createdAt, false))) &&
      (rule.span !== undefined || rule.createdAt !== undefined)
    )
  }

  /** Live fibers that count as leaks (not ignored). */
  entries(): ReadonlyArray<[AnyFiber, Started]> {
    return [...this.live].map(([fiber, entry]) => [fiber, startedOf(entry)])
  }

  leaking(): ReadonlyArray<[AnyFiber, Started]> {
    return this.entries().filter(([fiber, started]) => !this.ignored(fiber, started))
  }

  describe(fiber: AnyFiber, started: Started): BlockedFiber {
    const byId = new Map([...this.live.keys()].map((f) => [f.id().id, f]))
    return describeFiber(
      fiber,
      started.parent,
      started.createdAt,
      (id) => byId.get(id),
      (id) => this.ids.has(id) && !byId.has(id), // ids are kept only when detecting deadlocks
      this.joins
    )
  }

  /** Whether `fiber`'s wait can only be ended by fibers of this check. */
  private durable(fiber: AnyFiber, blockingOn: FiberId.FiberId): boolean {
    if (blockingOn._tag !== "Runtime") return false // FiberId.none: I/O, a live timer, a Latch...
    const id = blockingOn.id
    if (id < 0) {
      if (isNilWait(blockingOn)) return true
      const ops = parkedOps.get(fiber)
      return ops !== undefined && ops.length > 0 && ops.every((op) => {
        const madeBy = chans.get(op.chan)?.madeBy
        return madeBy !== undefined && this.ids.has(madeBy)
      })
    }
    return id === fiber.id().id || this.ids.has(id)
  }

  private allBlocked(): boolean {
    let any = false
    for (const fiber of this.live.keys()) {
      const probe = FiberProbe.probe(fiber)
      if (probe._tag === "Done") continue
      if (probe._tag !== "Suspended" || !this.durable(fiber, probe.blockingOn)) return false
      any = true
    }
    return any && this.timers === 0 && this.pendingSleeps() === 0
  }

  private readonly check = (): void => {
    this.checkPending = false
    if (!this.detecting || this.fired) return
    const epoch = this.epoch
    if (!this.allBlocked()) return
    // Confirm one event-loop turn later (I/O callbacks already queued have run by then).
    setImmediate(() => {
      if (!this.detecting || this.fired || epoch !== this.epoch || !this.allBlocked()) return
      // A check nested in this one reports its own deadlock.
      for (const other of openRegions) {
        if (other !== this && other.detecting && other.root !== undefined && this.live.has(other.root)) return
      }
      this.fire()
    })
  }

  private fire(): void {
    this.fired = true
    this.detecting = false
    const fibers = this.entries()
      .filter(([fiber]) => FiberProbe.probe(fiber)._tag !== "Done")
      .map(([fiber, started]) => this.describe(fiber, started))
    const cycles = WaitGraph.cycles(fibers.map((f) => ({ id: f.id, waits: f.waits })))
    Deferred.unsafeDone(this.deadlocked, Exit.succeed(new Deadlock({ reason: "AllBlocked", fibers, cycles })))
  }
}

const liveClock = Clock.make()

const sitesByDefault = (): boolean => typeof process === "undefined" || process.env["LEAKPROOF_SITES"] !== "0"

const settleOn = (region: Region, options?: SettleOptions): Effect.Effect<void, FiberLeak> => {
  const baseline = options?.baseline ?? 0
  const deadline = Duration.toMillis(options?.within ?? "2 seconds")
  const count = region.ignore.length === 0 ? () => region.live.size : () => region.leaking().length
  return Effect.gen(function*() {
    // Interruption of children and scope finalizers need a few scheduler turns, not time.
    for (let i = 0; i < 64 && count() > baseline; i++) yield* Effect.yieldNow()
    if (count() <= baseline) return
    // Real I/O (a socket closing) needs real time: poll like goleak, on the live clock.
    const start = Date.now()
    let pause = 1
    while (count() > baseline && Date.now() - start < deadline) {
      yield* Effect.sleep(Duration.millis(pause)).pipe(Effect.withClock(liveClock))
      pause = Math.min(pause * 2, 50)
    }
    if (count() <= baseline) return
    const live = region.leaking()
    const leak = new FiberLeak({ leaked: live.map(([fiber, started]) => stripWaits(region.describe(fiber, started))) })
    leakedFibers.set(leak, live.map(([fiber]) => fiber))
    return yield* leak
  })
}

const stripWaits = ({ waits: _, ...fiber }: BlockedFiber): LeakedFiber => fiber

/**
 * Runs `self` in a fiber of its own inside a region; returns its exit, or the deadlock that
 * stopped it (after interrupting the region's fibers).
 */
const runInRegion = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  region: Region
): Effect.Effect<Exit.Exit<A, E>, Deadlock, R> =>
  Effect.acquireUseRelease(
    Effect.clockWith((clock) => Effect.sync(() => region.open(clock))),
    () =>
      Effect.supervised(Effect.fork(self), region).pipe(
        Effect.tap((fiber) => Effect.sync(() => (region.root = fiber as AnyFiber))),
        Effect.flatMap((fiber) =>
          Effect.raceFirst(
            Effect.map(Fiber.await(fiber), (exit): Either.Either<Exit.Exit<A, E>, Deadlock> => Either.right(exit)),
            Effect.map(Deferred.await(region.deadlocked), (deadlock): Either.Either<Exit.Exit<A, E>, Deadlock> => Either.left(deadlock))
          ).pipe(
            Effect.onInterrupt(() => Fiber.interrupt(fiber)),
            Effect.tap(() => Effect.sync(() => (region.detecting = false)))
          )
        ),
        Effect.flatMap((outcome): Effect.Effect<Exit.Exit<A, E>, Deadlock> =>
          Either.isRight(outcome)
            ? Effect.succeed(outcome.right)
            // Release the deadlocked fibers; bounded, in case one is parked uninterruptibly.
            : Fiber.interruptAll([...region.live.keys()]).pipe(
              Effect.timeoutTo({ duration: "1 second", onSuccess: () => undefined, onTimeout: () => undefined }),
              Effect.withClock(liveClock),
              Effect.zipRight(Effect.fail(outcome.left))
            )
        )
      ),
    () => Effect.sync(() => region.close())
  )

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/**
 * goleak's `VerifyNone`: runs `self` in a fiber of its own, then fails with `FiberLeak` if any fiber
 * it started is still alive once it has exited (after a bounded wait, `within`, default 2 s of real
 * time). Plain `Effect.fork` children end with `self`'s fiber, as structured concurrency promises;
 * `forkDaemon`, `forkScoped`/`forkIn` into a scope that outlives `self` are what it catches.
 * While `self` runs it also detects deadlocks, as `detectDeadlock` does (`deadlock: false` turns
 * that off). Fibers matching `ignore` may survive. Otherwise returns what `self` returned, or fails
 * as `self` failed. Interrupting the check interrupts `self`.
 *
 * @since 0.1.0
 */
export const verifyNone = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  options?: CheckOptions
): Effect.Effect<A, E | FiberLeak | Deadlock, R> =>
  Effect.suspend(() => {
    const region = new Region(options?.sites ?? sitesByDefault(), options?.deadlock ?? true, options?.ignore ?? [])
    return runInRegion(self, region).pipe(
      Effect.tap(() => settleOn(region, options?.within === undefined ? {} : { within: options.within })),
      Effect.flatten
    )
  })

/**
 * Go's `fatal error: all goroutines are asleep - deadlock!`, for one effect, with the channels
 * named (Go 1.25's `testing/synctest` "durably blocked" rule): runs `self`, and if at any moment
 * every fiber it started is parked on something only they could end — a `Chan` or `Deferred` made
 * inside `self`, a `Queue` take/offer, a `Fiber.join` of one of them, a nil channel — while no
 * `TestClock` sleep is pending, it interrupts them all and fails with `Deadlock` at once. A fiber
 * waiting on I/O, a live timer, `Effect.never`, a `Latch` or a `Semaphore` (whose waits the runtime
 * does not label) may be woken from outside, so it is never counted as deadlocked. Channels and
 * Deferreds made outside `self` do not count either: code outside could still use them. Checks no
 * leaks (see `verifyNone`). Interrupting it interrupts `self`.
 *
 * @since 0.1.0
 */
export const detectDeadlock = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  options?: Pick<CheckOptions, "sites">
): Effect.Effect<A, E | Deadlock, R> =>
  Effect.suspend(() => Effect.flatten(runInRegion(self, new Region(options?.sites ?? sitesByDefault(), true, []))))

/**
 * Whether the current fiber runs inside a check (`verifyNone`, `detectDeadlock`; `track` only
 * when it records sites).
 * @since 0.1.0
 */
export const isChecked: Effect.Effect<boolean> = Effect.withFiberRuntime((fiber) => Effect.succeed(regions.has(fiber)))

// ---------------------------------------------------------------------------------------------
// track
// ---------------------------------------------------------------------------------------------

/**
 * A view of the fibers started inside a `track` region.
 * @since 0.1.0
 */
export interface Tracker {
  /** Fibers started in the region that have not ended yet (still-running finalizers count). */
  readonly live: Effect.Effect<number>
  /** How many fibers the region has started so far (a fork counter). */
  readonly started: Effect.Effect<number>
  /** A description of each live fiber. */
  readonly fibers: Effect.Effect<ReadonlyArray<LeakedFiber>>
  /**
   * Waits until at most `baseline` (default 0) tracked fibers are alive, or fails with
   * `FiberLeak` after `within` (default 2 seconds of real time).
   */
  readonly settle: (options?: SettleOptions) => Effect.Effect<void, FiberLeak>
}

/** @since 0.1.0 */
export interface SettleOptions {
  readonly baseline?: number
  readonly within?: Duration.DurationInput
}

/**
 * Runs `f` with a `Tracker` over every fiber that `f`'s effect starts. Records no sites and detects
 * no deadlocks unless asked (`sites: true`), so it is cheap enough for benchmarks.
 *
 * @since 0.1.0
 */
export const track = <A, E, R>(
  f: (tracker: Tracker) => Effect.Effect<A, E, R>,
  options?: Pick<CheckOptions, "sites">
): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    const region = new Region(options?.sites ?? false, false, [])
    const tracker: Tracker = {
      live: Effect.sync(() => region.live.size),
      started: Effect.sync(() => region.started),
      fibers: Effect.sync(() => region.entries().map(([fiber, started]) => stripWaits(region.describe(fiber, started)))),
      settle: (options) => settleOn(region, options)
    }
    return Effect.acquireUseRelease(
      Effect.clockWith((clock) => Effect.sync(() => region.open(clock))),
      () => Effect.supervised(f(tracker), region),
      () => Effect.sync(() => region.close())
    )
  })

// ---------------------------------------------------------------------------------------------
// Process-wide: numFibers, dumpFibers, the grouped dump
// ---------------------------------------------------------------------------------------------

/**
 * Go's `runtime.NumGoroutine()`: every live fiber in the process (root fibers and all their
 * descendants), the current one included. Process-wide, so other work in the same process counts;
 * prefer `track` in tests.
 *
 * @since 0.1.0
 */
export const numFibers: Effect.Effect<number> = Effect.map(Effect.suspend(() => liveFibers), (fibers) => fibers.size)

/** Every live fiber in the process (root fibers and their descendants), each with its parent's id. */
const liveFibers: Effect.Effect<Map<AnyFiber, number | undefined>> = Effect.gen(function*() {
  const parents = new Map<AnyFiber, number | undefined>()
  const stack: Array<[AnyFiber, number | undefined]> = (yield* Fiber.roots).map((f) => [f, undefined])
  while (stack.length > 0) {
    const [fiber, parent] = stack.pop()!
    if (parents.has(fiber)) continue
    parents.set(fiber, parent)
    const children = FiberProbe.children(fiber) ?? (yield* fiber.children)
    for (const child of children) stack.push([child, fiber.id().id])
  }
  return parents
})

/**
 * Go's goroutine dump (`/debug/pprof/goroutine?debug=2`): every live fiber in the process with
 * its parent, state and spans (and, for fibers of a running check, where they were created and
 * are blocked), found like `numFibers`. Reads each fiber's state without waking it. The calling
 * fiber is listed as `running`. Process-wide, so it includes fibers of unrelated work.
 *
 * @since 0.1.0
 */
export const dumpFibers: Effect.Effect<ReadonlyArray<LeakedFiber>> = Effect.map(
  Effect.suspend(() => liveFibers),
  (parents) => {
    const byId = new Map([...parents.keys()].map((f) => [f.id().id, f]))
    return [...parents].map(([fiber, parent]) =>
      stripWaits(describeFiber(
        fiber,
        parent,
        startedOf(regions.get(fiber)?.live.get(fiber)).createdAt,
        (id) => byId.get(id),
        (id) => !byId.has(id), // every live fiber is listed here
        FiberProbe.joiners
      ))
    )
  }
)

/**
 * Fibers that are blocked at the same place: same state, same span stack, same creation and
 * blocking sites.
 * @since 0.1.0
 */
export interface FiberGroup {
  readonly count: number
  readonly state: string
  readonly spans: ReadonlyArray<string>
  readonly createdAt: string | undefined
  readonly blockedAt: string | undefined
  /** The first (lowest) ids of the group, at most 10. */
  readonly ids: ReadonlyArray<number>
}

/**
 * pprof's `goroutine?debug=1`: fibers grouped, biggest group first.
 * @since 0.1.0
 */
export interface FiberDump {
  readonly total: number
  readonly groups: ReadonlyArray<FiberGroup>
}

/**
 * Groups fibers that are blocked at the same place with the same span stack, and counts each
 * group, biggest first (ties: lowest first id). Pure.
 * @since 0.1.0
 */
export const groupFibers = (fibers: ReadonlyArray<LeakedFiber>): FiberDump => {
  const groups = new Map<string, { first: LeakedFiber; ids: Array<number> }>()
  for (const f of fibers) {
    const key = JSON.stringify([f.state, f.spans, f.createdAt ?? null, f.blockedAt ?? null])
    const g = groups.get(key)
    if (g === undefined) groups.set(key, { first: f, ids: [f.id] })
    else g.ids.push(f.id)
  }
  const out = [...groups.values()].map(({ first, ids }) => {
    ids.sort((a, b) => a - b)
    return {
      count: ids.length,
      state: first.state,
      spans: first.spans,
      createdAt: first.createdAt,
      blockedAt: first.blockedAt,
      ids: ids.slice(0, 10)
    }
  })
  out.sort((a, b) => b.count - a.count || a.ids[0]! - b.ids[0]!)
  return { total: fibers.length, groups: out }
}

/**
 * The grouped goroutine dump of every live fiber in the process (`dumpFibers`, grouped by
 * `groupFibers`): 10,000 handlers blocked on the same send show as one line, `10000 x …`. Render it
 * with `formatDump`. Process-wide; reads fiber states without waking them.
 *
 * @since 0.1.0
 */
export const dumpFibersGrouped: Effect.Effect<FiberDump> = Effect.map(dumpFibers, groupFibers)

const groupHeader = (g: FiberGroup): string =>
  `${g.count} x [${g.state}]${g.spans.length === 0 ? "" : ` in ${g.spans.join(" < ")}`}`

const groupIds = (g: FiberGroup): string =>
  `fiber${g.count === 1 ? "" : "s"} ${g.ids.map((id) => `#${id}`).join(", ")}${g.count > g.ids.length ? `, … (${g.count - g.ids.length} more)` : ""}`

const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

/**
 * Renders a grouped dump: `"text"` (pprof's `debug=1` layout, one block per group), `"html"` (a
 * self-contained page with one table row per group, for a browser), or `"json"` (the `FiberDump`).
 * @since 0.1.0
 */
export const formatDump = (dump: FiberDump, format: "text" | "html" | "json"): string => {
  if (format === "json") return JSON.stringify(dump)
  const summary = `${dump.total} fiber${dump.total === 1 ? "" : "s"} in ${dump.groups.length} group${dump.groups.length === 1 ? "" : "s"}`
  if (format === "text") {
    const blocks = dump.groups.map((g) => {
      const where = [
        g.createdAt === undefined ? undefined : `created at ${g.createdAt}`,
        g.blockedAt === undefined ? undefined : `${g.state === "running" ? "running at" : "blocked at"} ${g.blockedAt}`
      ].filter((s) => s !== undefined)
      return [groupHeader(g), ...(where.length === 0 ? [] : [`    ${where.join(", ")}`]), `    ${groupIds(g)}`].join("\n")
    })
    return [`fibers: ${summary}`, ...blocks].join("\n\n") + "\n"
  }
  const rows = dump.groups.map((g) =>
    `<tr><td class="n">${g.count}</td><td>${escapeHtml(g.state)}</td><td>${escapeHtml(g.spans.join(" < "))}</td>` +
    `<td>${escapeHtml(g.createdAt ?? "")}</td><td>${escapeHtml(g.blockedAt ?? "")}</td><td>${escapeHtml(groupIds(g))}</td></tr>`
  )
  return [
    "<!doctype html>",
    `<html><head><meta charset="utf-8"><title>fibers: ${escapeHtml(summary)}</title>`,
    "<style>body{font:14px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse}",
    "th,td{border-bottom:1px solid #ddd;padding:.3em .8em;text-align:left;vertical-align:top}",
    "td{font-family:ui-monospace,monospace}td.n{text-align:right;font-weight:bold}</style></head><body>",
    `<h1>fibers: ${escapeHtml(summary)}</h1>`,
    "<table><thead><tr><th>count</th><th>state</th><th>spans</th><th>created at</th><th>blocked at</th><th>fibers</th></tr></thead>",
    `<tbody>${rows.join("")}</tbody></table></body></html>`,
    ""
  ].join("\n")
}

/**
 * Which rendering of the grouped dump a `/debug/fibers` request asks for: its `?format=` when that
 * is `text`, `html` or `json`; otherwise `html` for a browser (an `Accept` header with
 * `text/html`), else `json`.
 * @since 0.1.0
 */
export const dumpFormatFor = (format: string | undefined, accept: string | undefined): "text" | "html" | "json" =>
  format === "text" || format === "html" || format === "json"
    ? format
    : accept !== undefined && accept.includes("text/html")
    ? "html"
    : "json"
