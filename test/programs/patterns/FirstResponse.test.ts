import { describe, expect, it } from "../../../src/vitest.js"
import { Effect, Option } from "effect"
import { firstResponse } from "../../../src/programs/patterns/FirstResponse.js"
import { runVirtual, withLeakReport } from "../../support/virtual.js"

const delays = ["300 millis", "120 millis", "450 millis"] as const

describe("first response (seed 003, Example 6)", () => {
  it.effect("the first reply wins and the other requests are interrupted", () =>
    Effect.gen(function*() {
      const r = yield* runVirtual(firstResponse({ delays }))
      expect(r.winner).toEqual(Option.some("Server-2 responded in 120ms"))
      expect(r.losersInterrupted).toBe(2)
      expect(r.events.at(-1)).toEqual({ at: 120, text: "Winner: Server-2 responded in 120ms" })
    }))

  it.effect("no server within 1 s: timeout, and every request is interrupted", () =>
    Effect.gen(function*() {
      const r = yield* runVirtual(firstResponse({ delays: ["2 seconds", "3 seconds"] }))
      expect(r.winner).toEqual(Option.none())
      expect(r.losersInterrupted).toBe(2)
      expect(r.events.at(-1)).toEqual({ at: 1000, text: "Timeout - no server responded!" })
    }))

  it.effect("the default servers answer within 100–500 ms", () =>
    Effect.gen(function*() {
      const r = yield* runVirtual(firstResponse())
      expect(Option.isSome(r.winner)).toBe(true)
      expect(r.losersInterrupted).toBe(1)
    }))

  it.effect("leaky: each losing sender stays alive, then blocks on its unbuffered send forever", () =>
    Effect.gen(function*() {
      const { value: r, leak, leftovers } = yield* withLeakReport(runVirtual(firstResponse({ delays, leaky: true })))
      expect(r.winner).toEqual(Option.some("Server-2 responded in 120ms"))
      expect(r.leftBehind).toBe(2)
      expect(leak?.leaked).toHaveLength(2)
      expect(leftovers).toBe(2)
    }))
})
