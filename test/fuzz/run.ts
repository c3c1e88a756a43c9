/**
 * `npm run fuzz`: Chan's fuzz at length. Runs LEAKPROOF_FUZZ_SCENARIOS scenarios (default 100,000)
 * from a random base seed (or LEAKPROOF_FUZZ_BASE), keeps going after a failure and prints a tally
 * of what was violated with the first failing seeds; `LEAKPROOF_SEED=<seed>` replays one scenario
 * and prints its plan. Exit code 1 if any scenario failed.
 */
import { Effect } from "effect"
import * as ChanFuzz from "./ChanFuzz.js"

const replay = process.env["LEAKPROOF_SEED"]
if (replay !== undefined) {
  const outcome = await Effect.runPromise(
    ChanFuzz.run(Number(replay)).pipe(
      Effect.catchAll((leak) => Effect.succeed({ ...emptyOutcome(Number(replay)), violations: [leak.message] }))
    )
  )
  console.log(ChanFuzz.describePlan(outcome.plan))
  if (outcome.violations.length === 0) {
    console.log(`LEAKPROOF_SEED=${replay}: every invariant holds`)
  } else {
    console.log(ChanFuzz.failure(outcome).message)
    process.exitCode = 1
  }
} else {
  const count = Number(process.env["LEAKPROOF_FUZZ_SCENARIOS"] ?? 100_000)
  const base = Number(process.env["LEAKPROOF_FUZZ_BASE"] ?? Math.floor(Math.random() * 2 ** 31))
  console.log(`Chan fuzz: ${count.toLocaleString("en-US")} scenarios from LEAKPROOF_FUZZ_BASE=${base}`)
  const t0 = performance.now()
  const summary = await Effect.runPromise(
    ChanFuzz.runMany(base, count, {
      keepGoing: true,
      onProgress: (done, s) => {
        if (done % 10_000 === 0) {
          const failed = [...s.byKind.values()].reduce((a, b) => a + b, 0)
          console.log(`  ${done.toLocaleString("en-US")} scenarios, ${((performance.now() - t0) / 1000).toFixed(0)} s, ${failed} violations`)
        }
      }
    })
  )
  const seconds = (performance.now() - t0) / 1000
  console.log(
    `${summary.scenarios.toLocaleString("en-US")} scenarios in ${seconds.toFixed(1)} s: ${summary.delivered.toLocaleString("en-US")} values delivered, ${
      summary.interruptedOps.toLocaleString("en-US")
    } operations interrupted, ${summary.timedOut.toLocaleString("en-US")} timed out`
  )
  if (summary.failing.length === 0) {
    console.log("every invariant held")
  } else {
    console.log("violations (scenarios per kind):")
    for (const [kind, n] of summary.byKind) console.log(`  ${String(n).padStart(6)}  ${kind}`)
    console.log(`first failing seeds: ${summary.failing.map((o) => o.plan.seed).join(" ")}`)
    console.log(ChanFuzz.failure(summary.failing[0]!).message)
    process.exitCode = 1
  }
}

function emptyOutcome(seed: number): ChanFuzz.Outcome {
  return { plan: ChanFuzz.plan(seed), violations: [], delivered: 0, received: 0, interruptedOps: 0, timedOut: 0 }
}
