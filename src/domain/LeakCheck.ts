/**
 * leakproof's `goleak`: count live fibers and prove an effect leaves none behind.
 *
 * ```ts
 * it.effect("forgotten sender: leaving the scope interrupts every producer", () =>
 *   LeakCheck.verifyNone(program))
 * ```
 *
 * A `Supervisor` is installed for the checked effect, so every fiber it forks is seen, at any depth
 * and however it was forked (`fork`, `forkScoped`, `forkIn`, `forkDaemon`). When the effect has
 * exited, the check waits (bounded) for the fibers it started to end, then fails with a `FiberLeak`
 * that lists each survivor: its id, its parent, what it is blocked on and the span it runs in.
 * Waiting first yields to the scheduler, then polls on the live clock, so it works the same under
 * `TestClock` (virtual time) and never advances virtual time itself.
 *
 * @since 0.1.0
 */
import { Clock, Data, Duration, Effect, Exit, Fiber, FiberStatus, Option, Supervisor } from "effect"
import type * as FiberId from "effect/FiberId"
import type * as Context from "effect/Context"
import type * as Tracer from "effect/Tracer"
import { describeBlockingOn } from "./Chan.js"

/**
 * One fiber that outlived the checked effect.
 * @since 0.1.0
 */
export interface LeakedFiber {
  readonly id: number
  readonly parent: number | undefined
  /** `running`, `suspended`, `suspended: chan send`, … (Go's `[chan send]` in a goroutine dump). */
  readonly state: string
  /** The innermost span first (`Effect.fn` / `Effect.withSpan` names), if any. */
  readonly spans: ReadonlyArray<string>
}

/**
 * The check failed: these fibers were still alive after the checked effect exited.
 * @since 0.1.0
 */
export class FiberLeak extends Data.TaggedError("FiberLeak")<{
  readonly leaked: ReadonlyArray<LeakedFiber>
}> {
  /** Interrupts the leaked fibers (test clean-up after an expected leak). */
  get interruptLeaked(): Effect.Effect<void> {
    return Fiber.interruptAll(leakedFibers.get(this) ?? [])
  }

  override get message(): string {
    const lines = this.leaked.map((f) => `  ${formatFiber(f)}`)
    return `found ${this.leaked.length} leaked fiber(s):\n${lines.join("\n")}`
  }
}

const leakedFibers = new WeakMap<FiberLeak, ReadonlyArray<Fiber.RuntimeFiber<unknown, unknown>>>()

/** Renders a fiber the way goleak renders a goroutine header. */
export const formatFiber = (f: LeakedFiber): string => {
  const parent = f.parent === undefined ? "" : `, started by #${f.parent}`
  const spans = f.spans.length === 0 ? "" : ` in ${f.spans.join(" < ")}`
  return `fiber #${f.id} [${f.state}${parent}]${spans}`
}

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

class TrackingSupervisor extends Supervisor.AbstractSupervisor<void> {
  readonly live = new Map<Fiber.RuntimeFiber<unknown, unknown>, number | undefined>()
  started = 0
  readonly value = Effect.void
  override onStart<A, E, R>(
    _context: Context.Context<R>,
    _effect: Effect.Effect<A, E, R>,
    parent: Option.Option<Fiber.RuntimeFiber<any, any>>,
    fiber: Fiber.RuntimeFiber<A, E>
  ): void {
    this.started++
    this.live.set(fiber, Option.isSome(parent) ? parent.value.id().id : undefined)
  }
  override onEnd<A, E>(_value: Exit.Exit<A, E>, fiber: Fiber.RuntimeFiber<A, E>): void {
    this.live.delete(fiber)
  }
}

const spanNames = (fiber: Fiber.RuntimeFiber<unknown, unknown>): ReadonlyArray<string> => {
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

const describe = (
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  parent: number | undefined
): Effect.Effect<LeakedFiber> =>
  Effect.map(
    // A fiber that is mid-run cannot answer a status query until it yields: don't wait for it.
    Effect.timeoutTo(Fiber.status(fiber), {
      duration: Duration.millis(50),
      onSuccess: Option.some,
      onTimeout: () => Option.none<FiberStatus.FiberStatus>()
    }).pipe(Effect.withClock(liveClock)),
    (status) => {
      const state = Option.match(status, {
        onNone: () => "running",
        onSome: (s) =>
          FiberStatus.isSuspended(s)
            ? suspendedState(s.blockingOn)
            : FiberStatus.isRunning(s)
            ? "running"
            : "finalizing"
      })
      return { id: fiber.id().id, parent, state, spans: spanNames(fiber) }
    }
  )

const suspendedState = (blockingOn: FiberId.FiberId): string => {
  const chan = describeBlockingOn(blockingOn)
  return chan === undefined ? "suspended" : `suspended: ${chan}`
}

const liveClock = Clock.make()

const settleOn = (sup: TrackingSupervisor, options?: SettleOptions): Effect.Effect<void, FiberLeak> => {
  const baseline = options?.baseline ?? 0
  const deadline = Duration.toMillis(options?.within ?? "2 seconds")
  return Effect.gen(function*() {
    // Interruption of children and scope finalizers need a few scheduler turns, not time.
    for (let i = 0; i < 64 && sup.live.size > baseline; i++) yield* Effect.yieldNow()
    if (sup.live.size <= baseline) return
    // Real I/O (a socket closing) needs real time: poll like goleak, on the live clock.
    const start = Date.now()
    let pause = 1
    while (sup.live.size > baseline && Date.now() - start < deadline) {
      yield* Effect.sleep(Duration.millis(pause)).pipe(Effect.withClock(liveClock))
      pause = Math.min(pause * 2, 50)
    }
    if (sup.live.size <= baseline) return
    const live = [...sup.live]
    const leak = new FiberLeak({ leaked: yield* Effect.forEach(live, ([fiber, parent]) => describe(fiber, parent)) })
    leakedFibers.set(leak, live.map(([fiber]) => fiber))
    return yield* leak
  })
}

/**
 * Runs `f` with a `Tracker` over every fiber that `f`'s effect starts.
 *
 * @since 0.1.0
 */
export const track = <A, E, R>(f: (tracker: Tracker) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    const sup = new TrackingSupervisor()
    const tracker: Tracker = {
      live: Effect.sync(() => sup.live.size),
      started: Effect.sync(() => sup.started),
      fibers: Effect.suspend(() => Effect.forEach([...sup.live], ([fiber, parent]) => describe(fiber, parent))),
      settle: (options) => settleOn(sup, options)
    }
    return Effect.supervised(f(tracker), sup)
  })

/**
 * goleak's `VerifyNone`: runs `self` in a fiber of its own, then fails with `FiberLeak` if any fiber
 * it started is still alive once it has exited (after a bounded wait, `within`, default 2 s of real
 * time). Plain `Effect.fork` children end with `self`'s fiber, as structured concurrency promises;
 * `forkDaemon`, `forkScoped`/`forkIn` into a scope that outlives `self` are what it catches.
 * Otherwise returns what `self` returned, or fails as `self` failed. Interrupting the check
 * interrupts `self`.
 *
 * @since 0.1.0
 */
export const verifyNone = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  options?: { readonly within?: Duration.DurationInput }
): Effect.Effect<A, E | FiberLeak, R> =>
  Effect.suspend(() => {
    const sup = new TrackingSupervisor()
    return Effect.supervised(Effect.fork(self), sup).pipe(
      Effect.flatMap((fiber) => Effect.onInterrupt(Fiber.await(fiber), () => Fiber.interrupt(fiber))),
      Effect.tap(() => settleOn(sup, options?.within === undefined ? {} : { within: options.within })),
      Effect.flatten
    )
  })

/**
 * Go's `runtime.NumGoroutine()`: every live fiber in the process (root fibers and all their
 * descendants), the current one included. Process-wide, so other work in the same process counts;
 * prefer `track` in tests.
 *
 * @since 0.1.0
 */
export const numFibers: Effect.Effect<number> = Effect.map(Effect.suspend(() => liveFibers), (fibers) => fibers.size)

/** Every live fiber in the process (root fibers and their descendants), each with its parent's id. */
const liveFibers: Effect.Effect<Map<Fiber.RuntimeFiber<unknown, unknown>, number | undefined>> = Effect.gen(function*() {
  const parents = new Map<Fiber.RuntimeFiber<unknown, unknown>, number | undefined>()
  const stack: Array<[Fiber.RuntimeFiber<unknown, unknown>, number | undefined]> = (yield* Fiber.roots).map(
    (f) => [f, undefined]
  )
  while (stack.length > 0) {
    const [fiber, parent] = stack.pop()!
    if (parents.has(fiber)) continue
    parents.set(fiber, parent)
    for (const child of yield* fiber.children) stack.push([child, fiber.id().id])
  }
  return parents
})

/**
 * Go's goroutine dump (`/debug/pprof/goroutine?debug=1`): every live fiber in the process with
 * its parent, state and spans, found like `numFibers` (root fibers and their descendants). The
 * calling fiber is listed as `running` without being asked for its status. Process-wide, so it
 * includes fibers of unrelated work.
 *
 * @since 0.1.0
 */
export const dumpFibers: Effect.Effect<ReadonlyArray<LeakedFiber>> = Effect.withFiberRuntime((self) =>
  Effect.flatMap(liveFibers, (parents) =>
    Effect.forEach(
      [...parents],
      ([fiber, parent]) =>
        fiber === (self as Fiber.RuntimeFiber<unknown, unknown>)
          ? Effect.succeed<LeakedFiber>({ id: fiber.id().id, parent, state: "running", spans: spanNames(fiber) })
          : describe(fiber, parent),
      { concurrency: "unbounded" }
    ))
)
