/**
 * Schedule exploration finds a real race: a check-then-act on a plain `Ref` (get, then set) that
 * the default schedule never exposes. The fixed version passes every schedule, a failing seed
 * replays the same interleaving, and leaks and deadlocks that only some schedules reach are caught.
 */
import { describe, expect, it } from "../../src/vitest.js"
import { Effect, Fiber, Option, Ref } from "effect"
import * as Chan from "../../src/domain/Chan.js"
import * as Interleaving from "../../src/domain/Interleaving.js"
import * as LeakCheck from "../../src/domain/LeakCheck.js"

/** Two withdrawals of 80 from a balance of 100: exactly one may succeed. */
const withdrawTwice = (withdraw: (balance: Ref.Ref<number>, amount: number) => Effect.Effect<boolean>) =>
  Effect.gen(function*() {
    const balance = yield* Ref.make(100)
    const granted = yield* Effect.all([withdraw(balance, 80), withdraw(balance, 80)], { concurrency: "unbounded" })
    expect(granted.filter((ok) => ok)).toHaveLength(1)
    expect(yield* Ref.get(balance)).toBe(20)
  })

/** The bug: check, then act, in two steps another fiber can run between. */
const checkThenAct = (balance: Ref.Ref<number>, amount: number) =>
  Effect.gen(function*() {
    const current = yield* Ref.get(balance)
    if (current < amount) return false
    yield* Ref.set(balance, current - amount)
    return true
  })

/** The fix: one atomic step. */
const atomic = (balance: Ref.Ref<number>, amount: number) =>
  Ref.modify(balance, (current) => (current < amount ? [false, current] : [true, current - amount]))

const failureOf = (self: Effect.Effect<unknown, Interleaving.ScheduleFailure>) =>
  Effect.flip(self).pipe(Effect.map((e) => e as Interleaving.ScheduleFailure))

describe("Interleaving.explore (loom / lincheck for fibers)", () => {
  it.effect("the default schedule never exposes the check-then-act race (200 runs pass)", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 200; i++) yield* LeakCheck.verifyNone(withdrawTwice(checkThenAct), { sites: false })
    }))

  it.effect("exploring finds it within a few hundred schedules and names the seed that replays it", () =>
    Effect.gen(function*() {
      const failure = yield* failureOf(Interleaving.explore(withdrawTwice(checkThenAct), { schedules: 300 }))
      expect(failure.reason).toBe("BodyFailed")
      expect(failure.schedule).toBeLessThanOrEqual(300)
      expect(failure.message).toContain(`replay exactly this schedule: LEAKPROOF_SEED=${failure.seed} npm test`)
      expect(failure.message).toMatch(/AssertionError: expected \[ true, true \] to have a length of 1/)
      // the seed replays the very same interleaving, and the same failure
      const replayed = yield* failureOf(Interleaving.explore(withdrawTwice(checkThenAct), { replay: failure.seed }))
      expect([replayed.seed, replayed.trace, replayed.schedule]).toEqual([failure.seed, failure.trace, 1])
    }))

  it.effect("the fixed version (Ref.modify) passes all 300 schedules, which were really different", () =>
    Effect.gen(function*() {
      const explored = yield* Interleaving.explore(withdrawTwice(atomic), { schedules: 300 })
      expect(explored.schedules).toBe(300)
      expect(explored.distinct).toBeGreaterThan(50)
    }))

  it.effect("a deadlock only some interleavings reach is reported with its seed", () =>
    Effect.gen(function*() {
      // The consumer polls once (select with default) and then waits for the producer to finish.
      // If it polls before the first value arrives, it leaves both values to a producer that
      // blocks on the second send forever. The default schedule always lets the producer go first.
      const body = Effect.gen(function*() {
        const results = yield* Chan.make<number>(1, { name: "results" })
        const producer = yield* Effect.fork(Chan.sendAll(results, [1, 2]))
        yield* Effect.yieldNow()
        yield* Chan.select([Chan.onReceive(results, Effect.succeed)], { default: () => Effect.succeed(Option.none()) })
        yield* Fiber.join(producer)
      })
      yield* LeakCheck.verifyNone(body) // fine on the default schedule
      const failure = yield* failureOf(Interleaving.explore(body, { schedules: 200 }))
      expect(failure.reason).toBe("Deadlocked")
      expect(failure.message).toContain("waits to send on `results`")
    }))

  it.effect("a leak only some interleavings reach is reported with its seed", () =>
    Effect.gen(function*() {
      // A daemon is started only when the check loses the race with a worker.
      const body = Effect.gen(function*() {
        const flag = yield* Ref.make(false)
        const worker = yield* Effect.fork(Effect.zipRight(Effect.yieldNow(), Ref.set(flag, true)))
        if (!(yield* Ref.get(flag))) yield* Effect.yieldNow()
        if (yield* Ref.get(flag)) yield* Effect.forkDaemon(Effect.never)
        yield* Fiber.join(worker)
      })
      const failure = yield* failureOf(Interleaving.explore(body, { schedules: 200, check: { within: "10 millis" } }))
      expect(failure.reason).toBe("Leaked")
      expect(failure.message).toContain("found 1 leaked fiber(s)")
    }))

  it.effect("with randomisation off (first come, first served, yields every 2048 steps) the race hides again", () =>
    Effect.gen(function*() {
      const explored = yield* Interleaving.explore(withdrawTwice(checkThenAct), { schedules: 300, randomize: false })
      expect(explored).toEqual({ schedules: 300, distinct: 1 })
    }))
})
