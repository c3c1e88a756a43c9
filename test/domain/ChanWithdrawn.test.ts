import { describe, expect, it } from "../../src/vitest.js"
import { Effect, Fiber, Option, TestClock } from "effect"
import * as Chan from "../../src/domain/Chan.js"

describe("Chan: a send after the only receiver gave up", () => {
  it.effect("forgotten sender: a send whose receiver timed out blocks (it does not crash)", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<string>()
      const receiver = yield* Effect.fork(Chan.receive(ch).pipe(Effect.timeoutOption("100 millis")))
      yield* TestClock.adjust("100 millis")
      expect(yield* Fiber.join(receiver)).toEqual(Option.none())
      const sender = yield* Effect.fork(Chan.send(ch, "late"))
      for (let i = 0; i < 16; i++) yield* Effect.yieldNow()
      expect(Option.isNone(yield* sender.poll)).toBe(true)
      // and a later receiver still gets the value
      expect(yield* Chan.receive(ch)).toEqual(Option.some("late"))
      yield* Fiber.join(sender)
    }))
})
