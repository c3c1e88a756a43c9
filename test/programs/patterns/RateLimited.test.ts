import { describe, expect, it } from "../../../src/vitest.js"
import { Effect, Exit, Fiber, TestClock } from "effect"
import { rateLimited } from "../../../src/programs/patterns/RateLimited.js"
import { runVirtual } from "../../support/virtual.js"

describe("rate limited (seed 003, Example 12)", () => {
  it.effect("10 calls of 150 ms with at most 3 in flight take 4 waves: 600 ms", () =>
    Effect.gen(function*() {
      const r = yield* runVirtual(rateLimited())
      expect(r.maxInFlight).toBe(3)
      expect([...r.finished].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      expect(r.totalMs).toBe(600)
    }))

  it.effect.each([[1, 1500], [5, 300], [10, 150]] as const)("limit %i: total %i ms", ([limit, total]) =>
    Effect.gen(function*() {
      const r = yield* runVirtual(rateLimited({ limit }))
      expect(r.maxInFlight).toBe(limit)
      expect(r.totalMs).toBe(total)
    }))

  it.effect("interrupting mid-way interrupts the calls in flight and the waiting ones", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(rateLimited())
      yield* TestClock.adjust("200 millis")
      expect(Exit.isInterrupted(yield* Fiber.interrupt(fiber))).toBe(true)
    }))
})
