import { describe, expect, it } from "../../../src/vitest.js"
import { Effect } from "effect"
import { ticker } from "../../../src/programs/patterns/Ticker.js"
import { runVirtual } from "../../support/virtual.js"

describe("ticker (seed 003, Example 19)", () => {
  it.effect("ticks every 500 ms and is stopped (interrupted) when the program ends", () =>
    Effect.gen(function*() {
      const r = yield* runVirtual(ticker())
      expect(r.ticks).toEqual([500, 1000, 1500, 2000])
      expect(r.tickerInterrupted).toBe(true)
      expect(r.events.at(-1)).toEqual({ at: 2250, text: "Ticker stopped" })
    }))

  it.effect("no tick after the stop", () =>
    Effect.gen(function*() {
      const r = yield* runVirtual(ticker({ every: "100 millis", runFor: "350 millis" }))
      expect(r.ticks).toEqual([100, 200, 300])
    }))
})
