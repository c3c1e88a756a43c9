import { describe, expect, it } from "../../../src/vitest.js"
import { Effect, FastCheck, Option } from "effect"
import * as SafeCache from "../../../src/programs/patterns/SafeCache.js"
import { runVirtual } from "../../support/virtual.js"

describe("safe cache (seed 004, race condition on shared state)", () => {
  it.effect("the hammer exposes lost updates in a plain Map read-modify-write", () =>
    Effect.gen(function*() {
      const r = yield* runVirtual(SafeCache.safeCache({ racy: true }))
      expect(r.lostUpdates).toBeGreaterThan(0)
      expect(r.actual).toBeLessThan(r.expected)
    }))

  it.effect("the same hammer on SafeCache loses nothing", () =>
    Effect.gen(function*() {
      const r = yield* runVirtual(SafeCache.safeCache())
      expect(r.actual).toBe(5000)
      expect(r.lostUpdates).toBe(0)
    }))

  it.effect.prop(
    "any number of concurrent increments is counted exactly",
    { workers: FastCheck.integer({ min: 1, max: 40 }), increments: FastCheck.integer({ min: 1, max: 40 }), keys: FastCheck.integer({ min: 1, max: 5 }) },
    (opts) =>
      Effect.gen(function*() {
        const r = yield* SafeCache.safeCache(opts)
        expect(r.actual).toBe(opts.workers * opts.increments)
      }),
    { fastCheck: { numRuns: 15 } }
  )

  it.effect("get, set and update", () =>
    Effect.gen(function*() {
      const cache = yield* SafeCache.make
      expect(yield* cache.get("a")).toEqual(Option.none())
      yield* cache.set("a", 1)
      expect(yield* cache.update("a", (v) => Effect.succeed(Option.getOrElse(v, () => 0) + 41))).toBe(42)
      expect(yield* cache.get("a")).toEqual(Option.some(42))
    }))
})
