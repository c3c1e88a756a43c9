import { describe, expect, it } from "../../../src/vitest.js"
import { Effect, Fiber, TestClock } from "effect"
import { orChannel } from "../../../src/programs/patterns/OrChannel.js"
import { runVirtual } from "../../support/virtual.js"

describe("or-channel (seed 002)", () => {
  it.effect("or(2h, 5m, 1s, 1h, 1m) is done after 1 s and the other signals are interrupted", () =>
    Effect.gen(function*() {
      const r = yield* runVirtual(orChannel())
      expect(r.doneAfterMs).toBe(1000)
      expect(r.signalsInterrupted).toBe(4)
      expect(r.leftBehind).toBe(0)
    }))

  it.effect.each([
    [["30 millis"], 30],
    [["50 millis", "20 millis"], 20],
    [["9 millis", "8 millis", "7 millis", "6 millis", "5 millis", "4 millis"], 4]
  ] as const)("done when the first of %j is done (%i ms)", ([signals, expected]) =>
    Effect.gen(function*() {
      const r = yield* runVirtual(orChannel({ signals }))
      expect(r.doneAfterMs).toBe(expected)
      expect(r.signalsInterrupted).toBe(signals.length - 1)
    }))

  it.effect("interrupting the waiter interrupts every signal", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(orChannel())
      yield* TestClock.adjust("500 millis")
      yield* Fiber.interrupt(fiber)
    }))
})
