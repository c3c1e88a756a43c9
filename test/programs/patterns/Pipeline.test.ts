import { describe, expect, it } from "../../../src/vitest.js"
import { Effect } from "effect"
import { pipeline } from "../../../src/programs/patterns/Pipeline.js"
import { runVirtual } from "../../support/virtual.js"

describe("pipeline (seed 003, Example 4b)", () => {
  it.effect("producer → unbuffered → middle ×2 → buffered(5) → slow consumer gets 2, 4, 6, 8, 10", () =>
    Effect.gen(function*() {
      const r = yield* runVirtual(pipeline())
      expect(r.received).toEqual([2, 4, 6, 8, 10])
      expect(r.outcome).toBe("completed")
      const got = r.events.filter((e) => e.text.includes("Consumer: got"))
      // the buffer absorbed everything: the slow consumer starts at 100 ms, then one per 50 ms
      expect(got.map((e) => e.at)).toEqual([100, 150, 200, 250, 300])
      // the middle stage was never held up by the slow consumer
      expect(r.events.filter((e) => e.text.includes("Middle")).every((e) => e.at === 0)).toBe(true)
    }))

  it.effect.each(["producer", "middle", "consumer"] as const)("cancel from the %s stops every stage", (stage) =>
    Effect.gen(function*() {
      const r = yield* runVirtual(pipeline({ buffer: 1, count: 20, cancel: { stage, after: 2 } }))
      expect(r.outcome).toEqual({ cancelledBy: stage })
      expect([...r.interrupted].sort()).toEqual(["consumer", "middle", "producer"])
      expect(r.received.length).toBeLessThan(20)
      expect(r.leftBehind).toBe(0)
    }))
})
