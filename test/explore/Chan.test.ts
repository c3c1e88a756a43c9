/**
 * Chan's guarantees under many interleavings (`Interleaving.explore`): the same properties the unit
 * tests check on the default schedule, now with wake-ups reordered and fibers yielding at random
 * steps, plus no leak and no deadlock on every schedule. A failure prints the seed that replays it.
 */
import { describe, expect, it } from "../../src/vitest.js"
import { Effect, Either, Exit, Fiber, Option, Scope } from "effect"
import * as Chan from "../../src/domain/Chan.js"
import * as Interleaving from "../../src/domain/Interleaving.js"
import { StepClock } from "../support/StepClock.js"

const SCHEDULES = 60
const sorted = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)

describe("Chan under explored schedules", () => {
  it.effect.each([0, 1, 4])("capacity %i: 3 producers, 2 consumers, one closer: every value exactly once", (capacity) =>
    Interleaving.explore(
      Effect.gen(function*() {
        const ch = yield* Chan.make<number>(capacity, { name: "values" })
        const producers = Effect.forEach([0, 1, 2], (p) => Chan.sendAll(ch, [p * 10, p * 10 + 1, p * 10 + 2]), {
          concurrency: "unbounded",
          discard: true
        })
        yield* Effect.fork(Effect.zipRight(producers, Chan.close(ch))) // the single closer
        const got: Array<number> = []
        const consumer = Chan.forEach(ch, (v) => Effect.sync(() => got.push(v)))
        yield* Effect.all([consumer, consumer], { concurrency: "unbounded", discard: true })
        expect(sorted(got)).toEqual([0, 1, 2, 10, 11, 12, 20, 21, 22])
      }),
      { schedules: SCHEDULES }
    ))

  // Exploring found a lost value here before Chan's fix (seed 1662576142, schedule 13): a receiver
  // that took a value on the fast path handed it to its caller one runtime step later, and a yield
  // at that step plus an interrupt dropped the value.
  it.effect("select never loses a value while a selector is interrupted at a random point", () =>
    Interleaving.explore(
      Effect.gen(function*() {
        const a = yield* Chan.make<number>(0, { name: "a" })
        const b = yield* Chan.make<number>(0, { name: "b" })
        const got: Array<number> = []
        const selector = Effect.forever(
          Chan.select([
            Chan.onReceive(a, (v) => Effect.sync(() => got.push(Option.getOrThrow(v)))),
            Chan.onReceive(b, (v) => Effect.sync(() => got.push(Option.getOrThrow(v))))
          ])
        )
        const selectors = yield* Effect.forEach([1, 2, 3], () => Effect.fork(selector))
        const producers = yield* Effect.forEach([[a, 0], [b, 100]] as const, ([ch, base]) =>
          Effect.fork(Chan.sendAll(ch, [base, base + 1, base + 2, base + 3])))
        yield* Effect.yieldNow()
        yield* Fiber.interrupt(selectors[0]!) // a selector leaves mid-way: it must withdraw or give back
        yield* Fiber.joinAll(producers) // every send completed: every value was taken by someone
        yield* Fiber.interruptAll(selectors)
        expect(sorted(got)).toEqual([0, 1, 2, 3, 100, 101, 102, 103])
      }),
      { schedules: SCHEDULES }
    ))

  it.effect("on the stock runtime, a receiver interrupted just after a fast-path take still hands the value to its continuation", () =>
    Effect.gen(function*() {
      // Deterministic: with these budgets the runtime's yield lands between the take and the hand-over.
      let lost = 0
      for (const [maxOps, turns] of [[11, 5], [12, 3], [14, 2], [18, 1], [19, 1]] as const) {
        const ch = yield* Chan.make<number>(2000)
        for (let i = 0; i < 2000; i++) yield* Chan.send(ch, i)
        let got = 0
        const consumer = yield* Effect.fork(
          // Counted in the continuation itself: what the caller does after that is its own business.
          Effect.forever(Effect.flatMap(Chan.receive(ch), () => {
            got++
            return Effect.void
          })).pipe(Effect.withMaxOpsBeforeYield(maxOps))
        )
        for (let i = 0; i < turns; i++) yield* Effect.yieldNow()
        yield* Fiber.interrupt(consumer)
        yield* Chan.close(ch)
        let rest = 0
        yield* Chan.forEach(ch, () => Effect.sync(() => rest++))
        lost += 2000 - got - rest
      }
      expect(lost).toBe(0)
    }))

  it.effect("close wakes every parked receiver with None and every parked sender with SendOnClosed", () =>
    Interleaving.explore(
      Effect.gen(function*() {
        const ch = yield* Chan.make<number>(0)
        const receivers = yield* Effect.forEach([1, 2], () => Effect.fork(Chan.receive(ch)))
        const senders = yield* Effect.forEach([1, 2], (v) => Effect.fork(Chan.send(ch, v)))
        yield* Effect.yieldNow()
        yield* Chan.close(ch)
        const received = (yield* Fiber.joinAll(receivers).pipe(Effect.as(undefined), Effect.zipRight(Effect.forEach(receivers, Fiber.join))))
        const sent = yield* Effect.forEach(senders, Fiber.await)
        // each value is delivered to a receiver, or its sender panics: nothing is lost or doubled
        const delivered = received.flatMap((r) => Option.toArray(r))
        const panicked = sent.filter((e) => Exit.isFailure(e)).length
        expect(delivered.length + panicked).toBe(2)
        expect(new Set(delivered).size).toBe(delivered.length)
      }),
      { schedules: SCHEDULES }
    ))

  it.effect("or-channel: done as soon as any input is done, its watcher gone with the scope", () =>
    Interleaving.explore(
      Effect.scoped(Effect.gen(function*() {
        const inputs = yield* Effect.forEach([1, 2, 3], () => Chan.make<never>())
        const done = yield* Chan.or(...inputs)
        yield* Effect.fork(Chan.close(inputs[1]!))
        expect(yield* Chan.receive(done)).toEqual(Option.none())
      })),
      { schedules: SCHEDULES }
    ))

  it.effect("a consumer that leaves its scope interrupts every producer, none left blocked (forgotten sender)", () =>
    Interleaving.explore(
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const results = yield* Chan.make<number>(0, { name: "results" })
        yield* Effect.forEach([1, 2, 3, 4, 5], (i) => Effect.forkIn(Chan.send(results, i), scope), { discard: true })
        const first = yield* Chan.receive(results)
        yield* Scope.close(scope, Exit.void)
        expect(Option.isSome(first)).toBe(true)
      }),
      { schedules: SCHEDULES }
    ))

  // Timers on a StepClock: a deadline and a value fall due in the same clock step, and the
  // schedule decides who runs first. Whoever wins, the value is taken exactly once or left.
  it.effect.each(["receiveTimeout", "select + after", "send with a deadline"] as const)(
    "%s: a value racing the timer is taken or left in the channel, never lost",
    (form) =>
      Interleaving.explore(
        Effect.gen(function*() {
          const clock = new StepClock()
          const ch = yield* Chan.make<number>(0, { name: "values" })
          let sent = 0
          const got: Array<number> = []
          const deadline = Effect.scoped(Effect.flatMap(Chan.after(2), (timer) =>
            Chan.select([
              Chan.onReceive(ch, (v) => Effect.sync(() => Option.isSome(v) && got.push(v.value))),
              Chan.onReceive(timer, () => Effect.void)
            ])))
          const receiver = form === "receiveTimeout"
            ? Effect.map(Effect.either(Chan.receiveTimeout(ch, 2)), (r) => Either.isRight(r) && Option.isSome(r.right) && got.push(r.right.value))
            : form === "select + after"
            ? deadline
            : Effect.zipRight(Effect.sleep(2), Chan.select([Chan.onReceive(ch, (v) => Effect.sync(() => Option.isSome(v) && got.push(v.value)))], { default: () => Effect.void }))
          const sender = form === "send with a deadline"
            ? Effect.scoped(Effect.flatMap(Chan.after(2), (timer) =>
              Chan.select([Chan.onSend(ch, 1, () => Effect.sync(() => sent++)), Chan.onReceive(timer, () => Effect.void)])))
            : Effect.zipRight(Effect.sleep(2), Chan.select([Chan.onSend(ch, 1, () => Effect.sync(() => sent++))], { default: () => Effect.void }))
          const fibers = yield* Effect.forEach([receiver, sender], (f) => Effect.fork(Effect.withClock(f, clock)))
          for (let i = 0; i < 50 && fibers.some((f) => f.unsafePoll() === null); i++) {
            yield* Effect.yieldNow()
            if (i % 3 === 2) clock.advance(1)
          }
          yield* Fiber.joinAll(fibers)
          const left = yield* Chan.len(ch)
          expect(got.length + left).toBe(sent)
        }),
        { schedules: SCHEDULES }
      )
  )

  it.effect("tick: a slow reader never finds more than one tick pending, and ticks stay on the grid", () =>
    Interleaving.explore(
      Effect.scoped(Effect.gen(function*() {
        const clock = new StepClock()
        const ticks = yield* Effect.withClock(Chan.tick(3), clock)
        const got: Array<number> = []
        let maxLen = 0
        const reader = yield* Effect.fork(Effect.withClock(
          Effect.forEach([1, 2, 3, 4], () =>
            Effect.gen(function*() {
              maxLen = Math.max(maxLen, yield* Chan.len(ticks))
              got.push(Option.getOrThrow(yield* Chan.receive(ticks)))
              yield* Effect.sleep(5) // slower than the ticker
            }), { discard: true }),
          clock
        ))
        for (let i = 0; i < 400 && reader.unsafePoll() === null; i++) {
          yield* Effect.yieldNow()
          if (i % 2 === 1) clock.advance(1)
        }
        yield* Fiber.join(reader)
        expect(maxLen).toBeLessThanOrEqual(1)
        expect(got).toHaveLength(4)
        expect(got.filter((t, i) => t % 3 !== 0 || (i > 0 && t <= got[i - 1]!))).toEqual([]) // off the grid, or not increasing
      })),
      { schedules: SCHEDULES }
    ))
})
