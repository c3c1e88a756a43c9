/**
 * Go's timers as channels: `Chan.after` (`time.After`), `Chan.tick` (`time.Tick`) and
 * `Chan.receiveTimeout` (select + after), in virtual time. Every test runs under `LeakCheck` (the
 * `it` of `leakproof/vitest`): a timer left running after its scope closed fails the test.
 */
import { describe, expect, it } from "../../src/vitest.js"
import { Cause, Chunk, Duration, Effect, Either, Exit, FastCheck as fc, Fiber, FiberId, Option, Scope, TestClock } from "effect"
import * as Chan from "../../src/domain/Chan.js"
import * as LeakCheck from "../../src/domain/LeakCheck.js"
import { awaitSuspended, isAlive, parkedOn } from "../support/fibers.js"
import { StepClock } from "../support/StepClock.js"

/** A non-blocking receive: `Some(Some(v))`/`Some(None)` if ready, `None` if it would block. */
const poll = <A>(ch: Chan.RecvChan<A>) =>
  Chan.select([Chan.onReceive(ch, (v) => Effect.succeed(Option.some(v)))], {
    default: () => Effect.succeed(Option.none<Option.Option<A>>())
  })

/** Go's `select { case v := <-ch: … case <-time.After(d): … }`: `Right(v)`, or `Left("timeout")`. */
const selectWithTimeout = <A>(ch: Chan.RecvChan<A>, timeout: Duration.DurationInput) =>
  Effect.scoped(Effect.gen(function*() {
    const timer = yield* Chan.after(timeout)
    return yield* Chan.select([
      Chan.onReceive(ch, (v) => Effect.succeed(Either.right(v))),
      Chan.onReceive(timer, () => Effect.succeed(Either.left("timeout" as const)))
    ])
  }))

describe("Chan.after (Go's time.After)", () => {
  it.scoped("fires once, when the clock passes the duration, with the clock's time; a second receive blocks", () =>
    Effect.gen(function*() {
      const timer = yield* Chan.after("1 second")
      expect(Chan.cap(timer)).toBe(1)
      yield* TestClock.adjust("999 millis")
      expect(yield* poll(timer)).toEqual(Option.none())
      yield* TestClock.adjust("1 millis")
      expect(yield* Chan.len(timer)).toBe(1)
      expect(yield* Chan.receive(timer)).toEqual(Option.some(1000))
      yield* TestClock.adjust("1 hour")
      expect(yield* poll(timer)).toEqual(Option.none()) // never closed, never fires again
    }))

  it.effect("select with after takes the value when it comes first", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<string>()
      yield* Effect.fork(Effect.zipRight(Effect.sleep("500 millis"), Chan.send(ch, "result")))
      const waiter = yield* Effect.fork(selectWithTimeout(ch, "1 second"))
      yield* TestClock.adjust("500 millis")
      expect(yield* Fiber.join(waiter)).toEqual(Either.right(Option.some("result")))
      // (the timer went with the select's scope: had it not, the check would report it leaked)
    }))

  it.effect("select with after times out when the timer comes first, and the value stays for the next receive", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<string>()
      const sender = yield* Effect.fork(Effect.zipRight(Effect.sleep("2 seconds"), Chan.send(ch, "late")))
      const waiter = yield* Effect.fork(selectWithTimeout(ch, "1 second"))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(waiter)).toEqual(Either.left("timeout"))
      yield* TestClock.adjust("1 second")
      expect(yield* parkedOn(sender)).toBe("chan send") // the select took nothing: the send still waits
      expect(yield* Chan.receive(ch)).toEqual(Option.some("late"))
      yield* Fiber.join(sender)
    }))

  it.scoped("a zero duration holds the time already (no timer), an infinite one never fires", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust("5 seconds")
      const now = yield* Chan.after(0)
      expect(Chunk.toReadonlyArray(yield* TestClock.sleeps())).toEqual([])
      expect(yield* poll(now)).toEqual(Option.some(Option.some(5000)))
      const never = yield* Chan.after(Duration.infinity)
      yield* TestClock.adjust("1000 days")
      expect(yield* poll(never)).toEqual(Option.none())
    }))

  it.effect.each(["after", "tick"] as const)(
    "%s: the time is counted from the call, not from when the timer fiber first runs (found by exploring schedules)",
    (kind) =>
      Effect.scoped(Effect.gen(function*() {
        const clock = new StepClock()
        const timer = yield* Effect.withClock(kind === "after" ? Chan.after(3) : Chan.tick(3), clock)
        clock.advance(2) // before the timer fiber has run at all
        for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
        clock.advance(1)
        for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
        expect(yield* poll(timer)).toEqual(Option.some(Option.some(3))) // due at 3, and it says so
      }))
  )

  it.effect("leaving the scope stops the timer: its fiber is gone, and nothing arrives later", () =>
    LeakCheck.track((t) =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const timer = yield* Scope.extend(Chan.after("1 second"), scope)
        expect(yield* t.live).toBe(1) // the timer is one fiber
        yield* Scope.close(scope, Exit.void)
        expect(yield* t.live).toBe(0)
        yield* TestClock.adjust("2 seconds")
        expect(yield* Chan.len(timer)).toBe(0)
      })
    ))

  it.effect.each(["after", "tick"] as const)("%s: a timer started in an uninterruptible region still stops with its scope", (kind) =>
    Effect.gen(function*() {
      // If the timer fiber inherited the uninterruptible region, closing the scope would wait an hour
      // (after) or forever (tick).
      const timer = kind === "after" ? Chan.after("1 hour") : Chan.tick("1 hour")
      const fiber = yield* Effect.fork(Effect.uninterruptible(Effect.scoped(timer)))
      for (let i = 0; i < 100 && isAlive(fiber); i++) yield* Effect.yieldNow()
      const done = !isAlive(fiber)
      if (!done) yield* TestClock.adjust("1 hour") // lets a stuck `after` end (a stuck ticker is reported as a leak)
      expect(done).toBe(true)
    }))
})

describe("Chan.tick (Go's time.Tick)", () => {
  it.scoped("ticks every period, first after one period, each with the clock's time", () =>
    Effect.gen(function*() {
      const ticks = yield* Chan.tick("100 millis")
      const got: Array<number> = []
      const reader = yield* Effect.fork(Chan.forEach(ticks, (t) => Effect.sync(() => got.push(t))))
      for (let i = 0; i < 5; i++) yield* TestClock.adjust("100 millis")
      expect(got).toEqual([100, 200, 300, 400, 500])
      yield* Fiber.interrupt(reader)
    }))

  it.scoped("a slow reader gets the oldest pending tick, then the next on the grid: the ticks in between are dropped", () =>
    Effect.gen(function*() {
      const ticks = yield* Chan.tick("100 millis")
      const got: Array<number> = []
      let maxLen = 0
      // Each tick takes the reader 230 ms to handle.
      const reader = yield* Effect.fork(Chan.forEach(ticks, (t) =>
        Effect.gen(function*() {
          got.push(t)
          yield* Effect.sleep("230 millis")
          maxLen = Math.max(maxLen, yield* Chan.len(ticks))
        })))
      for (let i = 0; i < 12; i++) yield* TestClock.adjust("100 millis")
      // 100 read at 100; 200 waits, 300 dropped; 200 read at 330; 400 waits, 500 dropped; 400 read
      // at 560; 600 waits, 700 dropped; 600 read at 790; 800 waits, 900 and 1000 dropped; 800 read
      // at 1020
      expect(got).toEqual([100, 200, 400, 600, 800])
      expect(maxLen).toBe(1)
      yield* Fiber.interrupt(reader)
    }))

  it.scoped("a reader that was away gets one tick at once, not a burst", () =>
    Effect.gen(function*() {
      const ticks = yield* Chan.tick("100 millis")
      yield* TestClock.adjust("450 millis")
      expect(yield* Chan.len(ticks)).toBe(1)
      expect(yield* Chan.receive(ticks)).toEqual(Option.some(100))
      expect(yield* poll(ticks)).toEqual(Option.none())
      const next = yield* Effect.fork(Chan.receive(ticks))
      yield* TestClock.adjust("50 millis")
      expect(yield* Fiber.join(next)).toEqual(Option.some(500)) // back on the grid
    }))

  it.effect("leaving the scope stops the ticker: its fiber is gone, and no tick arrives later", () =>
    LeakCheck.track((t) =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const ticks = yield* Scope.extend(Chan.tick("100 millis"), scope)
        yield* TestClock.adjust("100 millis")
        expect(yield* Chan.receive(ticks)).toEqual(Option.some(100))
        expect(yield* t.live).toBe(1)
        yield* Scope.close(scope, Exit.void)
        expect(yield* t.live).toBe(0)
        yield* TestClock.adjust("1 second")
        expect(yield* Chan.len(ticks)).toBe(0)
      })
    ))

  it.scoped("tick(0) is Go's nil channel: it never receives, and select skips it", () =>
    Effect.gen(function*() {
      const ticks = yield* Chan.tick(0)
      expect(yield* poll(ticks)).toEqual(Option.none())
      const receiver = yield* Effect.fork(Chan.receive(ticks))
      expect(yield* parkedOn(receiver)).toBe("chan (nil)")
      yield* Fiber.interrupt(receiver)
    }))
})

describe("Chan.receiveTimeout (select + after)", () => {
  it.effect("a ready value is taken at once, without starting a timer", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>(1)
      yield* Chan.send(ch, 7)
      expect(yield* Chan.receiveTimeout(ch, "1 second")).toEqual(Option.some(7))
      expect(Chunk.toReadonlyArray(yield* TestClock.sleeps())).toEqual([])
    }))

  it.effect("Some(v) when a value arrives before the deadline, None when the channel is closed", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>()
      const waiter = yield* Effect.fork(Chan.receiveTimeout(ch, "1 second"))
      yield* TestClock.adjust("300 millis")
      yield* Chan.send(ch, 1)
      expect(yield* Fiber.join(waiter)).toEqual(Option.some(1))
      const closed = yield* Effect.fork(Chan.receiveTimeout(ch, "1 second"))
      yield* awaitSuspended(closed)
      yield* Chan.close(ch)
      expect(yield* Fiber.join(closed)).toEqual(Option.none())
    }))

  it.effect("fails with TimeoutException when the deadline comes first, having taken nothing", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>(1)
      const waiter = yield* Effect.fork(Effect.either(Chan.receiveTimeout(ch, "1 second")))
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(waiter)
      expect(Either.isLeft(result) && Cause.isTimeoutException(result.left)).toBe(true)
      expect(Either.isLeft(result) && result.left.message).toBe("Operation timed out after '1s'")
      yield* Chan.send(ch, 2)
      expect(yield* Chan.receive(ch)).toEqual(Option.some(2))
    }))

  it.effect.each([0, 1])(
    "capacity %i: interrupted just as a sender hands it a value, it returns the value or took nothing (found by the fuzz)",
    (capacity) =>
      Effect.gen(function*() {
        // The fuzz (seed 7881) found a receiveTimeout built as Effect.scoped(after + select) losing
        // a value: the interruption, deferred while the select completed, landed while the scope
        // waited for the timer fiber to end, and the scope's end dropped the value.
        for (const turns of [0, 1, 2, 3]) {
          const ch = yield* Chan.make<number>(capacity)
          let got: Option.Option<number> | undefined
          const receiver = yield* Effect.fork(Effect.map(Chan.receiveTimeout(ch, "1 second"), (v) => (got = v)))
          expect(yield* parkedOn(receiver)).toBe("select")
          for (let i = 0; i < turns; i++) yield* Effect.yieldNow()
          // In one step: the interruption is requested, then a sender completes the parked receive.
          const sent = yield* Effect.suspend(() => {
            receiver.unsafeInterruptAsFork(FiberId.none)
            return Chan.select([Chan.onSend(ch, 42, () => Effect.succeed(true))], { default: () => Effect.succeed(false) })
          })
          yield* Fiber.await(receiver)
          const left = yield* Chan.len(ch)
          if (left > 0) yield* Chan.receive(ch)
          expect({ sent, got, left }).toEqual(
            sent && left === 0 ? { sent, got: Option.some(42), left } : { sent, got: undefined, left }
          )
        }
      })
  )

  it.effect(
    "Effect.timeout(Chan.receive) drops a value handed over just as the timeout wins; receiveTimeout and select + after never do",
    () =>
      Effect.gen(function*() {
        // The timer fires, then `k` scheduler turns later a sender hands over a value (if anyone
        // still waits: a non-blocking send). Lost: the send completed, yet the value was neither
        // received nor left in the channel.
        const lost = { timeout: 0, receiveTimeout: 0, select: 0 }
        let delivered = 0
        for (const form of ["timeout", "receiveTimeout", "select"] as const) {
          for (const capacity of [0, 1]) {
            for (let k = 0; k < 12; k++) {
              const clock = new StepClock()
              const ch = yield* Chan.make<number>(capacity)
              let got = false
              const receive: Effect.Effect<Option.Option<number>, unknown> = form === "timeout"
                ? Effect.timeout(Chan.receive(ch), "1 second")
                : form === "receiveTimeout"
                ? Chan.receiveTimeout(ch, "1 second")
                : Effect.flatMap(selectWithTimeout(ch, "1 second"), (r) => Either.isRight(r) ? Effect.succeed(r.right) : Effect.fail(r.left))
              const receiver = yield* Effect.fork(
                Effect.withClock(Effect.map(Effect.option(receive), (r) => (got = Option.isSome(r))), clock)
              )
              for (let i = 0; i < 5; i++) yield* Effect.yieldNow()
              clock.advance(1000)
              for (let i = 0; i < k; i++) yield* Effect.yieldNow()
              const sent = yield* Chan.select([Chan.onSend(ch, 42, () => Effect.succeed(true))], {
                default: () => Effect.succeed(false)
              })
              yield* Fiber.join(receiver)
              const left = yield* Chan.len(ch)
              if (sent) delivered++
              if (sent && !got && left === 0) lost[form]++
            }
          }
        }
        expect(delivered).toBeGreaterThan(10) // the sweep does race values against the timer
        expect(lost.timeout).toBeGreaterThan(0) // what the README warns about
        expect(lost.receiveTimeout).toBe(0)
        expect(lost.select).toBe(0)
      })
  )

  it.effect.prop(
    "senders racing the timer: every value whose send completed is received exactly once or still in the channel",
    {
      capacity: fc.integer({ min: 0, max: 3 }),
      senders: fc.array(fc.record({ delay: fc.integer({ min: 0, max: 6 }), timeout: fc.option(fc.integer({ min: 0, max: 4 })) }), {
        minLength: 1,
        maxLength: 6
      }),
      receives: fc.array(fc.record({ timeout: fc.integer({ min: 0, max: 5 }), form: fc.constantFrom("receiveTimeout", "select") }), {
        minLength: 1,
        maxLength: 8
      }),
      turns: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 8 })
    },
    ({ capacity, receives, senders, turns }) =>
      Effect.gen(function*() {
        const clock = new StepClock()
        const ch = yield* Chan.make<number>(capacity)
        const sent = new Set<number>()
        const got: Array<number> = []
        // A sender sends after its delay, with a timeout of its own (a select on send and after) or without.
        const senderFibers = yield* Effect.forEach(senders, ({ delay, timeout }, v) =>
          Effect.fork(Effect.withClock(
            Effect.zipRight(
              Effect.sleep(delay),
              timeout === null
                ? Effect.map(Chan.send(ch, v), () => sent.add(v))
                : Effect.scoped(Effect.flatMap(Chan.after(timeout), (timer) =>
                  Chan.select([Chan.onSend(ch, v, () => Effect.sync(() => sent.add(v))), Chan.onReceive(timer, () => Effect.void)])))
            ),
            clock
          )))
        const receiver = yield* Effect.fork(Effect.withClock(
          Effect.forEach(receives, ({ form, timeout }) =>
            form === "receiveTimeout"
              ? Effect.map(Effect.option(Chan.receiveTimeout(ch, timeout)), (r) => {
                if (Option.isSome(r) && Option.isSome(r.value)) got.push(r.value.value)
              })
              : Effect.map(selectWithTimeout(ch, timeout), (r) => {
                if (Either.isRight(r) && Option.isSome(r.right)) got.push(r.right.value)
              }), { discard: true }),
          clock
        ))
        // Virtual time moves on a millisecond at a time, with a varying number of turns in between.
        for (let step = 0; isAlive(receiver); step++) {
          for (let i = 0; i < turns[step % turns.length]!; i++) yield* Effect.yieldNow()
          clock.advance(1)
        }
        yield* Fiber.interruptAll(senderFibers) // a send still blocked is withdrawn
        const left: Array<number> = []
        for (let n = yield* Chan.len(ch); n > 0; n--) left.push(Option.getOrThrow(yield* Chan.receive(ch)))
        const everywhere = [...got, ...left].sort((a, b) => a - b)
        expect(everywhere).toEqual([...sent].sort((a, b) => a - b))
      })
  )
})
