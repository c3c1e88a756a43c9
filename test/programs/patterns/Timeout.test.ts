import { describe, expect, it } from "../../../src/vitest.js"
import { Effect, Option } from "effect"
import { timeout } from "../../../src/programs/patterns/Timeout.js"
import { runVirtual, withLeakReport } from "../../support/virtual.js"

describe("timeout (seed 003, Examples 7, 8, 20)", () => {
  it.effect("a 3 s query succeeds under a 5 s deadline and is cut off at 1 s under a 1 s deadline", () =>
    Effect.gen(function*() {
      const r = yield* runVirtual(timeout())
      expect(r.scenarios).toEqual([
        { deadlineMs: 5000, result: Option.some("data from database"), tookMs: 3000, workInterrupted: false },
        { deadlineMs: 1000, result: Option.none(), tookMs: 1000, workInterrupted: true }
      ])
      expect(r.events.map((e) => e.text)).toContain("Failed: context deadline exceeded (took 1s)")
    }))

  it.effect("leaky: the timed-out slowOperation goroutine outlives the select", () =>
    Effect.gen(function*() {
      const { value: r, leak } = yield* withLeakReport(runVirtual(timeout({ leaky: true })))
      expect(r.scenarios.map((s) => Option.isSome(s.result))).toEqual([true, false])
      expect(r.scenarios[1]?.workInterrupted).toBe(false)
      expect(r.leftBehind).toBe(1)
      expect(leak?.leaked).toHaveLength(1)
    }))
})
