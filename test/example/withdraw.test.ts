import { Effect, Ref } from "effect"
import { expect, Interleaving, it } from "../../src/vitest.js"

const withdraw = (balance: Ref.Ref<number>, amount: number) =>
  Effect.gen(function*() {
    const current = yield* Ref.get(balance) // check...
    if (current < amount) return false
    yield* Ref.set(balance, current - amount) // ...then act: another fiber may have run in between
    return true
  })

it.effect.fails("two withdrawals of 80 from 100: exactly one succeeds", () =>
  Interleaving.explore(
    Effect.gen(function*() {
      const balance = yield* Ref.make(100)
      const granted = yield* Effect.all([withdraw(balance, 80), withdraw(balance, 80)], { concurrency: "unbounded" })
      expect(granted.filter(Boolean)).toHaveLength(1)
    }),
    { schedules: 300 }
  ))

// The README example in its LeakCheck section (its output there is this file's, line numbers included).
