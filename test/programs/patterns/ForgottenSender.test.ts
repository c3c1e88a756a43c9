import { describe, expect, it } from "../../../src/vitest.js"
import { Effect } from "effect"
import { forgottenSender } from "../../../src/programs/patterns/ForgottenSender.js"
import { runVirtual, withLeakReport } from "../../support/virtual.js"

describe("forgotten sender (seed 003, HTTP server goroutine leak)", () => {
  it.effect("fixed: every timed-out request interrupts its work and live fibers stay flat", () =>
    Effect.gen(function*() {
      const r = yield* runVirtual(forgottenSender())
      expect(r.requests.map((q) => q.status)).toEqual([504, 504, 504, 504, 504])
      expect(r.requests.map((q) => q.liveFibers)).toEqual([0, 0, 0, 0, 0])
      expect(r.workInterrupted).toBe(5)
    }))

  it.effect("fast work within the deadline answers 200", () =>
    Effect.gen(function*() {
      const r = yield* runVirtual(forgottenSender({ requests: 2, work: "50 millis" }))
      expect(r.requests.map((q) => q.status)).toEqual([200, 200])
      expect(r.workInterrupted).toBe(0)
    }))

  it.effect("leaky: Request N: Timeout → N goroutines leaked", () =>
    Effect.gen(function*() {
      const { value: r, leak, leftovers } = yield* withLeakReport(runVirtual(forgottenSender({ leaky: true })))
      expect(r.requests.map((q) => q.status)).toEqual([504, 504, 504, 504, 504])
      expect(r.requests.map((q) => q.liveFibers)).toEqual([1, 2, 3, 4, 5])
      expect(r.fibersAfter - r.fibersBefore).toBeGreaterThanOrEqual(5)
      expect(leak?.leaked).toHaveLength(5)
      expect(leftovers).toBe(5)
    }))
})
