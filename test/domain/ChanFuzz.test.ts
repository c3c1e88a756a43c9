/**
 * Chan's invariants (its module doc) as properties, over thousands of randomized scenarios: see
 * `test/fuzz/ChanFuzz.ts` for what a scenario is and what is checked. `npm run fuzz` runs many
 * more; a failing scenario prints its seed, and `LEAKPROOF_SEED=<seed>` replays it alone.
 */
import { describe, expect, it } from "../../src/vitest.js"
import { Effect } from "effect"
import * as ChanFuzz from "../fuzz/ChanFuzz.js"

const replay = process.env["LEAKPROOF_SEED"]
const scenarios = Number(process.env["LEAKPROOF_FUZZ_SCENARIOS"] ?? 6_000)
const base = Number(process.env["LEAKPROOF_FUZZ_BASE"] ?? 0x1eaf)

describe("Chan fuzz: the invariants hold in randomized scenarios", () => {
  it.live(
    replay === undefined
      ? `${scenarios} scenarios from seed ${base} (selects with timers among them): exactly once, once None always None, 0 <= len <= cap, one close, no leak`
      : `the scenario LEAKPROOF_SEED=${replay}`,
    () =>
      Effect.gen(function*() {
        if (replay !== undefined) {
          const outcome = yield* ChanFuzz.run(Number(replay))
          if (outcome.violations.length > 0) return yield* Effect.die(ChanFuzz.failure(outcome))
          return
        }
        const summary = yield* ChanFuzz.runMany(base, scenarios)
        if (summary.failing.length > 0) return yield* Effect.die(ChanFuzz.failure(summary.failing[0]!))
        expect(summary.scenarios).toBe(scenarios)
        // The fuzz must exercise what it claims to: values move, and operations are interrupted.
        expect(summary.delivered).toBeGreaterThan(scenarios)
        expect(summary.interruptedOps).toBeGreaterThan(scenarios / 10)
        expect(summary.timedOut).toBeGreaterThan(scenarios / 10) // deadlines (after, receiveTimeout) do fall due
      }),
    120_000
  )

  it.live("a plan is a pure function of its seed (replays are exact)", () =>
    Effect.sync(() => {
      expect(ChanFuzz.describePlan(ChanFuzz.plan(12345))).toBe(ChanFuzz.describePlan(ChanFuzz.plan(12345)))
      expect(ChanFuzz.describePlan(ChanFuzz.plan(12345))).not.toBe(ChanFuzz.describePlan(ChanFuzz.plan(12346)))
    }))
})
