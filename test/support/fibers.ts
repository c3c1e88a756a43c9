/**
 * Test helpers for waiting on fibers deterministically (no sleeps, no clock).
 */
import { Effect, Fiber, FiberStatus } from "effect"
import * as Chan from "../../src/domain/Chan.js"

/**
 * Yields until `fiber` is suspended (parked on a channel, a Deferred, a sleep) or done. Fails the
 * test after `maxTurns` scheduler turns instead of hanging.
 */
export const awaitSuspended = <A, E>(
  fiber: Fiber.RuntimeFiber<A, E>,
  maxTurns = 1_000
): Effect.Effect<void, Error> =>
  Effect.gen(function*() {
    for (let i = 0; i < maxTurns; i++) {
      if (fiber.unsafePoll() !== null) return
      const status = yield* Fiber.status(fiber)
      if (FiberStatus.isSuspended(status) || FiberStatus.isDone(status)) return
      yield* Effect.yieldNow()
    }
    return yield* Effect.fail(new Error(`fiber #${fiber.id().id} never suspended`))
  })

/** Whether `fiber` is still running or parked (not done). */
export const isAlive = <A, E>(fiber: Fiber.RuntimeFiber<A, E>): boolean => fiber.unsafePoll() === null

/**
 * Waits (in scheduler turns, never in time) until `fiber` is parked on a channel, and returns what
 * it is parked on (`chan send`, `chan receive`, `select`, `chan (nil)`). Dies if it never parks:
 * that is how "this operation blocks" is asserted without a sleep.
 */
export const parkedOn = (fiber: Fiber.RuntimeFiber<unknown, unknown>): Effect.Effect<string> =>
  Effect.gen(function*() {
    for (let i = 0; i < 1_000; i++) {
      const status = yield* Fiber.status(fiber)
      if (FiberStatus.isSuspended(status)) {
        const what = Chan.describeBlockingOn(status.blockingOn)
        if (what !== undefined) return what
      }
      yield* Effect.yieldNow()
    }
    return yield* Effect.dieMessage(`fiber #${fiber.id().id} never parked on a channel`)
  })
