/**
 * What every pattern program reports: a time-stamped narrative (the `fmt.Println` lines of the
 * seed's Go version) and the process's live fiber count before and after, so a leak is visible
 * as `after > before` (Go's `runtime.NumGoroutine()` printed around the program).
 *
 * @since 0.1.0
 */
import { Clock, Effect } from "effect"
import * as LeakCheck from "../../domain/LeakCheck.js"

/**
 * One line of a program's narrative, `at` milliseconds after it started (virtual time in tests).
 * @since 0.1.0
 */
export interface Event {
  readonly at: number
  readonly text: string
}

/**
 * The part every pattern program's result shares.
 * @since 0.1.0
 */
export interface Report {
  /** The narrative, in order. */
  readonly events: ReadonlyArray<Event>
  /** Live fibers in the process when the program started (`LeakCheck.numFibers`). */
  readonly fibersBefore: number
  /** Live fibers once the program returned and its owned fibers were gone. */
  readonly fibersAfter: number
  /**
   * Fibers the program started that were still alive when it returned (counted by a supervisor,
   * so unaffected by other work in the process): 0 unless the program leaks.
   */
  readonly leftBehind: number
}

/**
 * An append-only narrative stamped with the `Clock`.
 * @since 0.1.0
 */
export interface Journal {
  readonly say: (text: string) => Effect.Effect<void>
  readonly events: Effect.Effect<ReadonlyArray<Event>>
}

/**
 * A `Journal` whose time zero is now.
 * @since 0.1.0
 */
export const journal: Effect.Effect<Journal> = Effect.gen(function*() {
  const start = yield* Clock.currentTimeMillis
  const lines: Array<Event> = []
  return {
    say: (text) => Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => void lines.push({ at: now - start, text }))),
    events: Effect.sync(() => lines.slice())
  }
})

/**
 * Live fibers in the process, after letting fibers that are already ending finish (interrupted
 * children run their finalizers within a few scheduler turns; no time passes).
 * @since 0.1.0
 */
export const liveFibers: Effect.Effect<number> = Effect.gen(function*() {
  for (let i = 0; i < 16; i++) yield* Effect.yieldNow()
  return yield* LeakCheck.numFibers
})

/**
 * Runs `body` with a fresh journal and a count of the fibers it started that are alive, and wraps
 * its result with the narrative, the process's fiber counts before and after, and `leftBehind`.
 * @since 0.1.0
 */
export const report = <A extends object, E, R>(
  body: (journal: Journal, started: LiveCount) => Effect.Effect<A, E, R>
): Effect.Effect<A & Report, E, R> =>
  Effect.gen(function*() {
    const fibersBefore = yield* liveFibers
    const j = yield* journal
    const { result, leftBehind } = yield* LeakCheck.track((tracker) =>
      Effect.gen(function*() {
        const result = yield* body(j, tracker.live)
        for (let i = 0; i < 16; i++) yield* Effect.yieldNow()
        return { result, leftBehind: yield* tracker.live }
      })
    )
    const fibersAfter = yield* liveFibers
    return { ...result, events: yield* j.events, fibersBefore, fibersAfter, leftBehind }
  })

/**
 * How many fibers the running program has started that are still alive (a supervisor's count).
 * @since 0.1.0
 */
export type LiveCount = Effect.Effect<number>
