import { describe, expect, it } from "../../../src/vitest.js"
import { Effect } from "effect"
import { pingPong } from "../../../src/programs/patterns/PingPong.js"
import { runVirtual, withLeakReport } from "../../support/virtual.js"

describe("ping-pong (seed 003, Example 15)", () => {
  it.effect("graceful shutdown: after the game both players stop cleanly", () =>
    Effect.gen(function*() {
      const r = yield* runVirtual(pingPong({ playFor: "1050 millis" }))
      expect(r.hits).toBe(11)
      expect([...r.stopped].sort()).toEqual(["Ping", "Pong"])
      expect(r.events.at(-1)?.text).toBe("Game over!")
      expect(r.leftBehind).toBe(0)
    }))

  it.effect.each(["10 millis", "99 millis", "100 millis", "150 millis"] as const)(
    "both players stop whoever holds the ball when done closes (game of %s)",
    (playFor) =>
      Effect.gen(function*() {
        const r = yield* runVirtual(pingPong({ playFor }))
        expect([...r.stopped].sort()).toEqual(["Ping", "Pong"])
      })
  )

  it.effect("leaky: infinite players are still playing after Game over!", () =>
    Effect.gen(function*() {
      const { value: r, leak, leftovers } = yield* withLeakReport(runVirtual(pingPong({ leaky: true, playFor: "1050 millis" })))
      expect(r.stopped).toEqual([])
      expect(r.leftBehind).toBe(2)
      expect(leak?.leaked).toHaveLength(2)
      expect(leftovers).toBe(2)
    }))
})
