/**
 * Virtual-time helpers for pattern tests: run a program to completion under `TestClock` by jumping
 * straight to the next pending sleep (so a "3 s" query and a "2 h" signal cost nothing), and
 * clean up what a deliberately leaky program left behind.
 */
import { Chunk, Effect, Fiber, Option, Supervisor, TestClock } from "effect"
import * as LeakCheck from "../../src/domain/LeakCheck.js"

/**
 * Forks `self`, then repeatedly lets it run and moves the `TestClock` to the earliest pending
 * sleep, until it exits. Dies if it neither finishes nor sleeps for `maxSteps` rounds.
 */
export const runVirtual = <A, E, R>(self: Effect.Effect<A, E, R>, maxSteps = 10_000): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(self)
    for (let i = 0; i < maxSteps; i++) {
      for (let k = 0; k < 16; k++) yield* Effect.yieldNow()
      const exit = yield* fiber.poll
      if (Option.isSome(exit)) return yield* exit.value
      const sleeps = yield* TestClock.sleeps()
      if (Chunk.isNonEmpty(sleeps)) yield* TestClock.setTime(Math.min(...sleeps))
    }
    return yield* Effect.dieMessage(`runVirtual: no progress after ${maxSteps} steps`)
  })

/**
 * Runs `self` under a supervisor and, after it returned, interrupts every fiber it started that is
 * still alive (the leaks a `--leaky` program makes on purpose), so the test run leaks nothing.
 * Returns `self`'s value and how many fibers had to be interrupted.
 */
export const thenInterruptLeftovers = <A, E, R>(
  self: Effect.Effect<A, E, R>
): Effect.Effect<{ readonly value: A; readonly leftovers: number }, E, R> =>
  Effect.gen(function*() {
    const sup = yield* Supervisor.track
    const value = yield* Effect.supervised(self, sup)
    const leftovers = yield* sup.value
    yield* Fiber.interruptAll(leftovers)
    return { value, leftovers: leftovers.length }
  })

/**
 * For `--leaky` programs: runs `self` under `LeakCheck.track`, asserts nothing itself but returns
 * the `FiberLeak` that `settle` reported (or `undefined` if nothing leaked), then interrupts the
 * leaked fibers so the test run itself leaks nothing.
 */
export const withLeakReport = <A, E, R>(
  self: Effect.Effect<A, E, R>
): Effect.Effect<{ readonly value: A; readonly leak: LeakCheck.FiberLeak | undefined; readonly leftovers: number }, E, R> =>
  Effect.map(
    thenInterruptLeftovers(LeakCheck.track((t) =>
      Effect.gen(function*() {
        const value = yield* self
        const leak = yield* t.settle({ within: "20 millis" }).pipe(Effect.flip, Effect.option)
        return { value, leak: Option.getOrUndefined(leak) }
      })
    )),
    ({ leftovers, value }) => ({ ...value, leftovers })
  )
