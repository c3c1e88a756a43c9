/**
 * Schedule exploration, after Rust's loom and Kotlin's lincheck: run a test body under many
 * interleavings, each chosen by a seed, and check on each one the body's own assertions, that no
 * fiber leaked and that it did not deadlock (`LeakCheck.verifyNone`), and that it did not stall
 * (no fiber of it ran for 10 seconds of real time, waiting on something deadlock detection cannot
 * see through, such as a lock whose permit was lost: `Stalled`, never a hang). A failure names its seed, and
 * `LEAKPROOF_SEED=<seed> npm test` replays exactly that schedule.
 *
 * ```ts
 * it.effect("two withdrawals never overdraw", () => Interleaving.explore(withdrawTwice, { schedules: 300 }))
 * ```
 *
 * How a schedule is made: the body's fibers run on a `RandomScheduler` (inherited by every fiber
 * it forks), which (1) runs the ready fibers in a seeded random order instead of first come, first
 * served, and (2) makes each fiber yield after a seeded random number of steps (at least 13 after
 * it resumes, at most its `maxOpsBeforeYield`) instead of only every 2048. Both are schedules the
 * stock runtime can produce (a smaller `maxOpsBeforeYield`, wake-ups arriving in another order), so
 * a failure is a real bug, not an artefact.
 *
 * Why at least 13 steps: Effect 3.22.4's `Semaphore` (and so `SynchronizedRef` and `TestClock`,
 * whose `sleep` takes such a lock) loses a permit for good when its taker yields within 7 steps of
 * resuming and is interrupted during that yield (https://github.com/Effect-TS/effect/pull/6910),
 * and `Chan` states its guarantee for interrupted operations only for budgets above 12. Schedules
 * that yield that early once made `TestClock.adjust` hang after an interrupted sleep; the stock
 * runtime never yields that early with its default budget, so they are left out (see
 * `minStepsAfterResume`). `Math.random` (e.g. `Chan.select`'s case order) and
 * Effect's `Random` are seeded for the run too. The body must be deterministic apart from that:
 * virtual time (`TestClock`), no real I/O, or replays may differ.
 *
 * @since 0.1.0
 */
import { Cause, Clock, Data, Duration, Effect, Exit, FiberRef, Option, Random } from "effect"
import type * as Fiber from "effect/Fiber"
import type * as Scheduler from "effect/Scheduler"
import * as LeakCheck from "./LeakCheck.js"

// ---------------------------------------------------------------------------------------------
// Seeded randomness
// ---------------------------------------------------------------------------------------------

/** mulberry32: a small, fast, well-mixed 32-bit generator; same seed, same sequence. */
const generator = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The seed of the i-th schedule after `base` (splitmix32 of base + i). */
export const seedOf = (base: number, i: number): number => {
  let z = (base + Math.imul(i + 1, 0x9e3779b9)) >>> 0
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
  return (z ^ (z >>> 16)) >>> 0
}

// ---------------------------------------------------------------------------------------------
// The scheduler
// ---------------------------------------------------------------------------------------------

/**
 * The fewest steps a fiber runs after it resumes before `RandomScheduler` may make it yield: 13.
 *
 * Why not fewer: Effect 3.22.4's `Semaphore.withPermits` takes its permit in the step that resumes
 * the taker, inside an interruptible region, and installs the release up to 7 steps later. A fiber
 * that yields in between and is interrupted during the yield keeps the permit forever, and every
 * later taker waits forever (upstream: https://github.com/Effect-TS/effect/pull/6910, a fix after
 * 3.22.4; the version pinned here has the window). `SynchronizedRef` is such a lock, and so is
 * `TestClock`'s warning state: an interrupted `TestClock.sleep` used to wedge `TestClock.adjust`
 * under `explore`. The stock runtime
 * never yields that early unless `maxOpsBeforeYield` is set below 8 (budgets 3..7 lose the permit,
 * test/domain/InterleavingResume.test.ts), so this only leaves out schedules Effect itself does
 * not survive. It also keeps the step that delivers a resumed value together with the step that
 * consumes it (leakproof's `Chan` commits its wake-up there), and a fiber that yields after fewer
 * than 3 steps makes no progress at all. (Go has no analogue: a goroutine cannot be interrupted
 * between taking a `sync.Mutex` and deferring its `Unlock`.)
 *
 * Why 13 and not 8: `Chan` states its invariant 3 for the interrupted case for op budgets above 12
 * (its `WAY_BACK`: the steps from an interrupted park back to the caller, which it keeps free of
 * yields by reading the fiber's budget). A scheduler that yields 8-12 steps after a wake-up, below
 * a budget of 2048, is one Chan cannot see coming, and an interrupted `select` could then drop the
 * value it took (found here: seed 2325768001). Exploring below Chan's stated envelope would report
 * schedules no runtime configuration it supports can produce.
 *
 * @since 0.1.0
 */
export const minStepsAfterResume = 13

/**
 * A `Scheduler` that runs ready fibers in a seeded random order and makes them yield at seeded
 * random points. Deterministic: the same seed and the same sequence of `scheduleTask` calls give the
 * same decisions (`trace` is a checksum of them).
 *
 * Invariants: a fiber never yields before its 13th step after it resumed (`minStepsAfterResume`:
 * with fewer than 3 it could not make progress, and Effect's own `Semaphore` loses a permit to an
 * interrupt that lands in a yield before the 8th), and the stock runtime never yields that early
 * either. Tasks run in batches of at most 2048 per microtask chain, then the event loop gets a turn,
 * like the stock scheduler.
 *
 * @since 0.1.0
 */
export class RandomScheduler implements Scheduler.Scheduler {
  private readonly random: () => number
  private readonly tasks: Array<Scheduler.Task> = []
  private draining = false
  /** The widest gap between two random yields in this schedule (`Infinity`: reorder only). */
  readonly spread: number
  private yieldAt = Infinity
  /** A checksum of every decision taken so far. */
  trace = 0
  /** How many tasks it ran and how many random yields it made. */
  steps = 0
  yields = 0

  /**
   * `randomize: false` makes it a plain first-come-first-served scheduler that yields only every
   * `maxOpsBeforeYield` steps, like the stock one (a control: what the default schedule finds).
   */
  constructor(readonly seed: number, readonly randomize = true) {
    this.random = generator(seed)
    // A mix of schedules: a quarter only reorder wake-ups, the rest also yield, densely or sparsely.
    this.spread = randomize ? [Infinity, 6, 24, 128][Math.floor(this.random() * 4)]! : Infinity
  }

  /** Tasks scheduled and not yet run. */
  get pending(): number {
    return this.tasks.length
  }

  private decide(n: number, choice: number): number {
    this.trace = (Math.imul(this.trace ^ choice, 0x01000193) + n) >>> 0
    return choice
  }

  shouldYield(fiber: Fiber.RuntimeFiber<unknown, unknown>): number | false {
    const count = fiber.currentOpCount
    if (count === 1) {
      const max = fiber.getFiberRef(FiberRef.currentMaxOpsBeforeYield)
      const gap = this.spread === Infinity ? max : minStepsAfterResume + this.decide(this.spread, Math.floor(this.random() * this.spread))
      this.yieldAt = Math.min(gap, max)
    }
    if (count < minStepsAfterResume || count < this.yieldAt) return false
    this.yields++
    // `undefined`, not a priority: a priority makes the runtime wrap the yield in a FiberRef
    // update that itself takes steps (and yields again when steps are few: a livelock).
    return undefined as unknown as number
  }

  scheduleTask(task: Scheduler.Task, _priority: number): void {
    this.tasks.push(task)
    if (!this.draining) {
      this.draining = true
      queueMicrotask(this.drain)
    }
  }

  private readonly drain = (): void => {
    for (let n = 0; this.tasks.length > 0; n++) {
      if (n === 2048) {
        setTimeout(this.drain, 0)
        return
      }
      let task: Scheduler.Task
      if (this.randomize) {
        const i = this.decide(this.tasks.length, Math.floor(this.random() * this.tasks.length))
        task = this.tasks[i]!
        this.tasks[i] = this.tasks[this.tasks.length - 1]!
        this.tasks.pop()
      } else {
        task = this.tasks.shift()!
      }
      this.steps++
      task()
    }
    this.draining = false
  }
}

// ---------------------------------------------------------------------------------------------
// Exploring
// ---------------------------------------------------------------------------------------------

const defaultStall: Duration.DurationInput = "10 seconds"

/**
 * A schedule stopped moving: the body had not ended and no fiber of it ran for `stall` of real
 * time, yet `LeakCheck` saw no deadlock (its fibers wait on something it cannot see through: a
 * `Semaphore` or lock whose permit nobody will give back, a callback that never comes). Go's
 * analogue is a test that hangs until `go test -timeout` kills it; here the schedule fails with
 * its seed instead. The stalled fibers are interrupted in the background, not awaited.
 * @since 0.1.0
 */
export class Stalled extends Data.TaggedError("Stalled")<{
  readonly reason: "NoProgress"
  /** How long (real milliseconds) no fiber of the body ran. */
  readonly idleMillis: number
  /** Scheduler steps the run made before it stopped. */
  readonly steps: number
}> {
  override get message(): string {
    return `no fiber of the body ran for ${this.idleMillis} ms of real time after ${this.steps} steps, and it had not ` +
      `ended: a wait nothing will end (a lock whose permit was lost, a callback that never comes)`
  }
}

const liveClock = Clock.make()

/** Polls `scheduler` on the live clock; succeeds once it has run no task for `stall` ms. */
const watchdog = (scheduler: RandomScheduler, stall: number): Effect.Effect<Stalled> =>
  Effect.gen(function*() {
    const every = Math.max(1, Math.min(100, Math.floor(stall / 4)))
    let steps = scheduler.steps
    let idleSince = Date.now()
    for (;;) {
      yield* Effect.sleep(Duration.millis(every)).pipe(Effect.withClock(liveClock))
      const now = Date.now()
      if (scheduler.steps !== steps || scheduler.pending > 0) {
        steps = scheduler.steps
        idleSince = now
      } else if (now - idleSince >= stall) {
        return new Stalled({ reason: "NoProgress", idleMillis: now - idleSince, steps })
      }
    }
  })

/**
 * One schedule's run: its seed and what became of the body.
 * @since 0.1.0
 */
export interface Run<A, E> {
  readonly seed: number
  readonly exit: Exit.Exit<A, E | LeakCheck.FiberLeak | LeakCheck.Deadlock | Stalled>
  /** A checksum of the scheduling decisions (equal traces: the same interleaving). */
  readonly trace: number
  readonly yields: number
}

/**
 * Runs `body` once on a `RandomScheduler` seeded with `seed`, under `LeakCheck.verifyNone` (with
 * `check`), with `Math.random` and Effect's `Random` seeded for the run. Never fails: the outcome
 * is in `exit` (`Stalled` when no fiber of the body ran for `stall`, default 10 seconds of real
 * time, and the body had not ended; `stall: false` waits forever).
 * @since 0.1.0
 */
export const runSchedule = <A, E, R>(
  body: Effect.Effect<A, E, R>,
  seed: number,
  options?: {
    readonly check?: LeakCheck.CheckOptions
    readonly randomize?: boolean
    readonly stall?: Duration.DurationInput | false
  }
): Effect.Effect<Run<A, E>, never, R> =>
  Effect.suspend(() => {
    const scheduler = new RandomScheduler(seed, options?.randomize ?? true)
    const stall = options?.stall === false ? undefined : Duration.toMillis(options?.stall ?? defaultStall)
    const random = generator(seed ^ 0x5bd1e995)
    let saved: () => number = Math.random
    return Effect.acquireUseRelease(
      Effect.sync(() => {
        saved = Math.random
        Math.random = random
      }),
      () => {
        const run: Effect.Effect<Exit.Exit<A, E | LeakCheck.FiberLeak | LeakCheck.Deadlock | Stalled>, never, R> =
          LeakCheck.verifyNone(
            body.pipe(Effect.withScheduler(scheduler), Effect.withRandom(Random.make(seed))),
            options?.check
          ).pipe(Effect.exit)
        if (stall === undefined) return run
        // Disconnected: a stalled run is interrupted in the background, never awaited (its fibers
        // may wait on something that never ends).
        return Effect.raceFirst(
          Effect.disconnect(run),
          Effect.map(watchdog(scheduler, stall), (stalled) => Exit.fail(stalled))
        )
      },
      () => Effect.sync(() => void (Math.random = saved))
    ).pipe(Effect.map((exit) => ({ seed, exit, trace: scheduler.trace, yields: scheduler.yields })))
  })

/**
 * What a `ScheduleFailure` carries.
 * @since 0.1.0
 */
export interface ScheduleFailureFields {
  readonly reason: "BodyFailed" | "Leaked" | "Deadlocked" | "Stalled"
  /** Replays this schedule: `LEAKPROOF_SEED=<seed>`. */
  readonly seed: number
  /** Which schedule it was (1-based) and how many were to run. */
  readonly schedule: number
  readonly schedules: number
  readonly trace: number
  /** What the body's run ended with. */
  readonly failure: Cause.Cause<unknown>
}

/**
 * A schedule broke the body: its assertions failed, it leaked a fiber, it deadlocked or it stalled.
 * @since 0.1.0
 */
export class ScheduleFailure extends Data.TaggedError("ScheduleFailure")<ScheduleFailureFields> {
  constructor(args: ScheduleFailureFields) {
    super(args)
    this.stack = `ScheduleFailure: ${this.message}` // the failure's own lines say where; ours would not
  }

  override get message(): string {
    // A leak or deadlock report says it all; for anything else the stack shows the failing line
    // (library frames left out).
    const error = Option.getOrUndefined(Cause.failureOption(this.failure))
    const first = error instanceof LeakCheck.FiberLeak || error instanceof LeakCheck.Deadlock || error instanceof Stalled
      ? error.message
      : Cause.pretty(this.failure).split("\n").filter((l) => !/^\s+at .*node_modules/.test(l)).slice(0, 8).join("\n")
    return `schedule ${this.schedule} of ${this.schedules} failed (seed ${this.seed}): ${first}\n` +
      `replay exactly this schedule: LEAKPROOF_SEED=${this.seed} npm test`
  }
}

/**
 * Options of `explore`.
 * @since 0.1.0
 */
export interface ExploreOptions {
  /** How many schedules to try (default 100; the `LEAKPROOF_SCHEDULES` variable overrides it). */
  readonly schedules?: number
  /**
   * Where the sequence of seeds starts (default a fixed number, so every run of the suite explores
   * the same schedules; pass `Date.now()` for new ones each time).
   */
  readonly seed?: number
  /** Run only this seed (what `LEAKPROOF_SEED=<seed>` does). */
  readonly replay?: number
  /** Passed to `LeakCheck.verifyNone` on each run. */
  readonly check?: LeakCheck.CheckOptions
  /** `false`: first come, first served, no extra yields (a control; default true). */
  readonly randomize?: boolean
  /**
   * How long (real time) a schedule may make no progress at all (no fiber of the body runs, and it
   * has not ended) before it fails as `Stalled` (default 10 seconds; `false`: wait forever).
   */
  readonly stall?: Duration.DurationInput | false
}

/**
 * What an exploration tried.
 * @since 0.1.0
 */
export interface Explored {
  readonly schedules: number
  /** How many distinct interleavings they produced (distinct decision traces). */
  readonly distinct: number
}

const envNumber = (name: string): number | undefined => {
  const raw = typeof process === "undefined" ? undefined : process.env[name]
  if (raw === undefined || raw.trim() === "") return undefined
  const n = Number(raw)
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined
}

const defaultSeed = 0x1eaf5eed

/**
 * Runs `body` under `schedules` different interleavings (see the module doc), each under
 * `LeakCheck.verifyNone`, one after another, and stops at the first that fails, with a
 * `ScheduleFailure` naming its seed (the fibers a failed run leaked are interrupted first; a
 * stalled run's are interrupted in the background). With `LEAKPROOF_SEED` set (or `replay`), runs
 * that one schedule only. Returns how many schedules ran and how many distinct interleavings they were. `body` is run
 * afresh each time, so it must create its own state (`Ref.make` inside it, not outside).
 * Interrupting it interrupts the run in progress.
 *
 * @since 0.1.0
 */
export const explore = <A, E, R>(
  body: Effect.Effect<A, E, R>,
  options?: ExploreOptions
): Effect.Effect<Explored, ScheduleFailure, R> =>
  Effect.suspend(() => {
    const replay = options?.replay ?? envNumber("LEAKPROOF_SEED")
    const schedules = replay !== undefined ? 1 : envNumber("LEAKPROOF_SCHEDULES") ?? options?.schedules ?? 100
    const base = options?.seed ?? defaultSeed
    const traces = new Set<number>()
    return Effect.gen(function*() {
      for (let i = 0; i < schedules; i++) {
        const seed = replay ?? seedOf(base, i)
        const run = yield* runSchedule(body, seed, {
          ...(options?.check === undefined ? {} : { check: options.check }),
          ...(options?.randomize === undefined ? {} : { randomize: options.randomize }),
          ...(options?.stall === undefined ? {} : { stall: options.stall })
        })
        traces.add(run.trace)
        if (Exit.isFailure(run.exit)) {
          const failure = Cause.failureOption(run.exit.cause)
          const error = Option.getOrUndefined(failure)
          // Leaked fibers of a failed run would haunt the next ones: release them.
          if (error instanceof LeakCheck.FiberLeak) yield* error.interruptLeaked
          const tag = (error as { readonly _tag?: unknown } | undefined)?._tag
          return yield* new ScheduleFailure({
            reason: tag === "FiberLeak" ? "Leaked" : tag === "Deadlock" ? "Deadlocked" : tag === "Stalled" ? "Stalled" : "BodyFailed",
            seed,
            schedule: i + 1,
            schedules,
            trace: run.trace,
            failure: run.exit.cause
          })
        }
      }
      return { schedules, distinct: traces.size }
    })
  })
