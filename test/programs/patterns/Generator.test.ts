import { describe, expect, it } from "../../../src/vitest.js"
import { Effect, Exit, Fiber } from "effect"
import { generator } from "../../../src/programs/patterns/Generator.js"
import { runVirtual, withLeakReport } from "../../support/virtual.js"

describe("generator (seeds 002, 003)", () => {
  it.effect("the consumer takes 3 random ints, stops, and the producer is interrupted", () =>
    Effect.gen(function*() {
      const r = yield* runVirtual(generator())
      expect(r.values).toHaveLength(3)
      expect(r.produced).toBe(3)
      expect(r.producerInterrupted).toBe(true)
      expect(r.leftBehind).toBe(0)
      expect(r.events.at(-1)?.text).toBe("newRandStream closure exited.")
    }))

  it.effect("leaky: without done the producer stays blocked on its send forever", () =>
    Effect.gen(function*() {
      const { value: r, leak, leftovers } = yield* withLeakReport(runVirtual(generator({ leaky: true })))
      expect(r.values).toHaveLength(3)
      expect(r.producerInterrupted).toBe(false)
      expect(r.leftBehind).toBe(1)
      expect(r.fibersAfter).toBeGreaterThan(r.fibersBefore)
      expect(leak?.leaked.map((f) => f.state)).toEqual(["suspended: chan send"])
      expect(leftovers).toBe(1)
    }))

  it.effect("interrupting the consumer mid-stream leaves no producer behind", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(generator({ take: 100_000 }))
      for (let i = 0; i < 4; i++) yield* Effect.yieldNow()
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
    }))
})
