import { describe, expect, it } from "../../../src/vitest.js"
import { Effect } from "effect"
import { fanOutFanIn } from "../../../src/programs/patterns/FanOutFanIn.js"
import { runVirtual } from "../../support/virtual.js"

describe("fan-out, fan-in (seed 003)", () => {
  it.effect("3 workers over one input: every job done once, merged output closed exactly once", () =>
    Effect.gen(function*() {
      const r = yield* runVirtual(fanOutFanIn())
      expect(r.results.map((x) => x.job).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      expect(r.results.every((x) => x.square === x.job * x.job)).toBe(true)
      expect(new Set(r.results.map((x) => x.worker))).toEqual(new Set([1, 2, 3]))
      expect(r.outputCloses).toBe(1)
      expect(r.interrupted).toBe(0)
    }))

  it.effect("a consumer that leaves after 2 results interrupts the feeder and every worker", () =>
    Effect.gen(function*() {
      const r = yield* runVirtual(fanOutFanIn({ stopAfter: 2 }))
      expect(r.results).toHaveLength(2)
      expect(r.outputCloses).toBe(0)
      expect(r.interrupted).toBe(4)
      expect(r.leftBehind).toBe(0)
    }))

  it.effect.prop(
    "no job lost or duplicated for any number of jobs and workers",
    { jobs: FastCheckInt(0, 30), workers: FastCheckInt(1, 8) },
    ({ jobs, workers }) =>
      Effect.gen(function*() {
        const r = yield* runVirtual(fanOutFanIn({ jobs, workers }))
        expect(r.results.map((x) => x.job).sort((a, b) => a - b)).toEqual(Array.from({ length: jobs }, (_, i) => i + 1))
        expect(r.outputCloses).toBe(1)
      }),
    { fastCheck: { numRuns: 8 } }
  )
})

import { FastCheck } from "effect"
function FastCheckInt(min: number, max: number) {
  return FastCheck.integer({ min, max })
}
