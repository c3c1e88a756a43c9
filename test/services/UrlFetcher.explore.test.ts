/**
 * The fetch engine's guarantees under many interleavings (`Interleaving.explore`, issue 10.5): the
 * virtual-time scenarios of the engine tests (a fake undici dispatcher; virtual time from a small
 * lock-free `StepClock`, not `TestClock`: see below), now with
 * fiber wake-ups reordered and fibers yielding at random steps, each schedule checked for its
 * assertions, a leaked fiber and a deadlock. A failure prints the seed that replays it
 * (`LEAKPROOF_SEED=<seed>`); `LEAKPROOF_SCHEDULES=n` explores more.
 *
 * What changes between schedules: the order in which the driver, the consumer, the timer, the
 * fake server's fibers and the scope's finalizers run, and where each yields. What does not: the
 * engine's wake-ups (`setImmediate`) and the transport's callbacks, which are not fibers.
 */
import { Chunk, Effect, Fiber, Option, Stream } from "effect"
import * as Chan from "../../src/domain/Chan.js"
import type { FetchOutcome } from "../../src/domain/FetchOutcome.js"
import * as Interleaving from "../../src/domain/Interleaving.js"
import * as LeakCheck from "../../src/domain/LeakCheck.js"
import { UrlFetcher } from "../../src/services/UrlFetcher.js"
import { describe, expect, it } from "../../src/vitest.js"
import * as FakeHttp from "../support/FakeHttp.js"
import { StepClock } from "../support/StepClock.js"

const SCHEDULES = 25
const url = (p: string) => `http://fake.test${p}`
const turn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/*
 * Virtual time from `StepClock`, not `TestClock`. `TestClock.sleep` takes a lock (its warning state
 * is a `SynchronizedRef`), and the engine interrupts its timer fiber while it sleeps (an earlier due
 * time restarts it). Under explored schedules that wedges `TestClock`: on seed 2596165616 of the
 * first test `TestClock.adjust` waited forever (probed: its `warningDone` never returns, every fiber
 * suspended, the scheduler idle). Without the engine, four fibers sleeping on `TestClock`, two of
 * them interrupted, then `adjust`, hang on 16 of 300 explored seeds (0 of 300 without the
 * interrupts, 0 of 400 in the stock order). The cause was Effect 3.22.4's `Semaphore` losing a
 * permit to an interrupt in a yield right after the taker resumed (Effect-TS/effect#6910), a yield
 * `Interleaving`'s scheduler no longer makes (`minStepsAfterResume`), so `TestClock` works under
 * `explore` now; these scenarios stay on `StepClock`, which moves time without polling.
 */

/**
 * Runs `fiber` to its end in virtual time: lets the event loop turn, then moves the clock to the
 * next pending sleep, until the fiber is done (bounded in steps; a hang is a failure, not a hang).
 */
const runToEnd = <A, E>(vc: StepClock, fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 400 && fiber.unsafePoll() === null; i++) {
      yield* turn
      if (fiber.unsafePoll() !== null) break
      vc.advance(vc.nextDue === undefined ? 1 : vc.nextDue - vc.now)
    }
    if (fiber.unsafePoll() === null) {
      yield* Fiber.interrupt(fiber)
      return yield* Effect.dieMessage("did not end in 400 steps of virtual time")
    }
    return yield* Fiber.join(fiber)
  })

/** Every request the fake saw has ended: finished by the "server" or aborted by the client. */
const allEnded = (fake: ReturnType<typeof FakeHttp.layer>) => {
  expect(fake.stats.inFlight()).toBe(0)
  expect(fake.stats.pools.releasedBusy).toBe(0)
  expect(fake.stats.pools.released + fake.stats.pools.destroyed).toBe(fake.stats.pools.created)
}

/** One fresh fake per schedule (explore runs the body afresh each time). */
const withFake = <A, E>(
  body: (fake: ReturnType<typeof FakeHttp.layer>, vc: StepClock) => Effect.Effect<A, E, UrlFetcher>
) =>
  Effect.suspend(() => {
    const fake = FakeHttp.layer({}, { pools: true })
    const vc = new StepClock()
    return Effect.provide(body(fake, vc), fake.layer).pipe(Effect.withClock(vc))
  })

const mixed = [
  url("/ok/1"),
  url("/slow/30/2"),
  url("/status/503"),
  url("/never/3"),
  url("/reset"),
  url("/hops/2/4"),
  url("/big/40000"),
  url("/status/404"),
  "not a url"
]

describe("the fetch engine under explored schedules (fake dispatcher, virtual time)", () => {
  it.effect("a batch of mixed answers: every URL exactly one outcome, with the right reason; the output closed once; nothing left open", () =>
    Interleaving.explore(
      withFake((fake, vc) =>
        Effect.gen(function*() {
          const fetcher = yield* UrlFetcher
          const run = Effect.scoped(Effect.gen(function*() {
            const b = yield* fetcher.batch(mixed, { concurrency: 3, timeout: "200 millis", retries: 1, retryBase: "10 millis" })
            const got: Array<FetchOutcome> = []
            yield* Chan.forEach(b.outcomes, (o) => Effect.sync(() => got.push(o)))
            return { got, report: yield* b.done }
          }))
          const { got, report } = yield* runToEnd(vc, yield* Effect.fork(run))
          const byUrl = Object.fromEntries(got.map((o) => [o.url, o._tag === "Fetched" ? `ok ${o.attempts}` : `${o.reason} ${o.attempts}`]))
          expect(got).toHaveLength(mixed.length)
          expect(byUrl).toEqual({
            [url("/ok/1")]: "ok 1",
            [url("/slow/30/2")]: "ok 1",
            [url("/status/503")]: "Status 2",
            [url("/never/3")]: "Timeout 2",
            [url("/reset")]: "Transport 2",
            [url("/hops/2/4")]: "ok 1",
            [url("/big/40000")]: "ok 1",
            [url("/status/404")]: "Status 1",
            "not a url": "InvalidUrl 0"
          })
          expect(report).toEqual({ urls: mixed.length, delivered: mixed.length, deadline: false })
          allEnded(fake)
          expect(fake.stats.pools).toMatchObject({ created: 1, released: 1, destroyed: 0 })
        })
      ),
      { schedules: SCHEDULES }
    ))

  it.effect("take 3, then leave the scope: no outcome twice, every request ended, the pool destroyed in one sweep", () =>
    Interleaving.explore(
      withFake((fake, vc) =>
        Effect.gen(function*() {
          const fetcher = yield* UrlFetcher
          const urls = [url("/ok/1"), url("/slow/10/2"), url("/ok/3"), ...Array.from({ length: 6 }, (_, i) => url(`/never/${i}`))]
          const run = Effect.scoped(Effect.gen(function*() {
            const out = yield* fetcher.fetch(urls, { concurrency: 5, timeout: "1 hour" })
            const got: Array<string> = []
            for (let i = 0; i < 3; i++) got.push(Option.getOrThrow(yield* Chan.receive(out)).url)
            return got
          }))
          const got = yield* runToEnd(vc, yield* Effect.fork(run))
          expect([...got].sort()).toEqual([url("/ok/1"), url("/ok/3"), url("/slow/10/2")].sort())
          allEnded(fake)
          expect(fake.stats.pools).toMatchObject({ created: 1, destroyed: 1 })
        })
      ),
      { schedules: SCHEDULES }
    ))

  it.effect("the deadline: what was delivered before it, the rest cancelled; the report agrees with the consumer", () =>
    Interleaving.explore(
      withFake((fake, vc) =>
        Effect.gen(function*() {
          const fetcher = yield* UrlFetcher
          const urls = [url("/ok/1"), url("/slow/50/2"), url("/never/3"), url("/slow/500/4"), url("/status/503")]
          const run = Effect.scoped(Effect.gen(function*() {
            const b = yield* fetcher.batch(urls, { concurrency: 5, deadline: "100 millis", retryBase: "1 second" })
            const got: Array<string> = []
            yield* Chan.forEach(b.outcomes, (o) => Effect.sync(() => got.push(o.url)))
            return { got, report: yield* b.done }
          }))
          const { got, report } = yield* runToEnd(vc, yield* Effect.fork(run))
          expect([...got].sort()).toEqual([url("/ok/1"), url("/slow/50/2")].sort())
          expect(report).toEqual({ urls: 5, delivered: 2, deadline: true })
          allEnded(fake)
        })
      ),
      { schedules: SCHEDULES }
    ))

  it.effect("a stream source cut short: the feeder stops with the batch, every request ended", () =>
    Interleaving.explore(
      withFake((fake, vc) =>
        Effect.gen(function*() {
          const fetcher = yield* UrlFetcher
          const source = Stream.iterate(0, (n) => n + 1).pipe(
            Stream.map((i) => (i % 3 === 2 ? url(`/never/${i}`) : url(`/ok/${i}`))),
            Stream.rechunk(1)
          )
          const run = Stream.runCollect(Stream.take(fetcher.stream(source, { concurrency: 4 }), 5))
          const got = Chunk.toReadonlyArray(yield* runToEnd(vc, yield* Effect.fork(run)))
          expect(got).toHaveLength(5)
          expect(got.every((o) => o._tag === "Fetched")).toBe(true)
          allEnded(fake)
        })
      ),
      { schedules: SCHEDULES }
    ))

  it.effect("gets side by side, one interrupted: each settles once, the interrupted one is aborted, the others are unaffected", () =>
    Interleaving.explore(
      withFake((fake, vc) =>
        Effect.gen(function*() {
          const fetcher = yield* UrlFetcher
          const options = { timeout: "300 millis", retries: 1, retryBase: "10 millis" } as const
          const ok = yield* Effect.fork(fetcher.get(url("/slow/20/1"), options))
          const failing = yield* Effect.fork(Effect.flip(fetcher.get(url("/status/503"), options)))
          const hanging = yield* Effect.fork(fetcher.get(url("/never/2"), { ...options, timeout: "1 hour" }))
          const timedOut = yield* Effect.fork(Effect.flip(fetcher.get(url("/never/3"), options)))
          yield* Effect.yieldNow()
          yield* Fiber.interrupt(hanging)
          const [a, b, c] = yield* runToEnd(vc, yield* Effect.fork(Effect.all([Fiber.join(ok), Fiber.join(failing), Fiber.join(timedOut)])))
          expect([a.status, a.attempts]).toEqual([200, 1])
          expect(b._tag === "FetchError" && [b.reason, b.status, b.attempts]).toEqual(["Status", 503, 2])
          expect(c._tag === "FetchError" && [c.reason, c.attempts]).toEqual(["Timeout", 2])
          allEnded(fake)
        })
      ),
      { schedules: SCHEDULES }
    ))
})

describe("this file's tests are leak-checked", () => {
  it.effect("(sentinel) an Effect test here runs inside LeakCheck.verifyNone (leakproof/vitest's it)", () =>
    Effect.map(LeakCheck.isChecked, (checked) => expect(checked).toBe(true)))
})
