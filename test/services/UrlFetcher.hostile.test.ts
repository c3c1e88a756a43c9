/**
 * Issue 9.2, the class: whatever the transport does (throws, calls back out of order, twice, with
 * garbage, never, after an abort, or throws from abort itself), every URL of a batch gets exactly
 * one typed outcome, no defect escapes, nothing leaks. `FUZZ_RUNS=n` runs more scenarios.
 */
import { describe, expect, withLeakCheck } from "../../src/vitest.js"
import { Chunk, Clock, Effect, Exit, FastCheck as fc, Fiber, Option, TestClock } from "effect"
import * as Chan from "../../src/domain/Chan.js"
import * as LeakCheck from "../../src/domain/LeakCheck.js"
import type { FetchOutcome } from "../../src/domain/FetchOutcome.js"
import { UrlFetcher } from "../../src/services/UrlFetcher.js"
import * as FakeHttp from "../support/FakeHttp.js"

const runs = Number(process.env["FUZZ_RUNS"] ?? 60)

/**
 * Every test checked for leaks, except the hostile transport's own "server" fibers: ignoring an
 * abort (and answering anyway, later) is one of its misbehaviours. The engine's fibers are checked.
 */
const it = withLeakCheck({ ignore: [{ span: FakeHttp.HOSTILE_SPAN }] })

const turn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/**
 * Runs `fiber` to its end in virtual time: lets the event loop turn, then moves the clock to the
 * next pending sleep, until the fiber is done (bounded in steps).
 */
const runToEnd = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 500 && fiber.unsafePoll() === null; i++) {
      yield* turn
      if (fiber.unsafePoll() !== null) break
      const now = yield* Clock.currentTimeMillis
      const next = Chunk.toReadonlyArray(yield* TestClock.sleeps()).filter((t) => t > now)
      yield* TestClock.adjust(next.length === 0 ? 1 : Math.min(...next) - now)
    }
    if (fiber.unsafePoll() === null) {
      yield* Fiber.interrupt(fiber)
      return yield* Effect.dieMessage("the batch did not end in 500 steps of virtual time")
    }
    return yield* Fiber.join(fiber)
  })

const misbehaviour: fc.Arbitrary<FakeHttp.Misbehaviour> = fc.record({
  kind: fc.constantFrom(...FakeHttp.misbehaviours),
  arg: fc.nat(60),
  delay: fc.constantFrom(0, 0, 5, 30, 2_000),
  location: fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.webUrl(),
    fc.constantFrom("http://[::1:bad", "/h/0", "//other.test/h/1", "ftp://x/y", "", "http://", "javascript:0", "\u0000")
  )
})

describe("a hostile transport cannot take down a batch", () => {
  it.effect.prop(
    "every URL gets exactly one outcome (or, after take, none twice); no defect; no fiber leak",
    {
      plan: fc.array(misbehaviour, { minLength: 1, maxLength: 24 }),
      concurrency: fc.integer({ min: 1, max: 6 }),
      take: fc.option(fc.nat(24), { nil: undefined }),
      body: fc.constantFrom("memory" as const, "discard" as const)
    },
    ({ body, concurrency, plan, take }) => {
      const fake = FakeHttp.hostileLayer(plan)
      const urls = plan.map((_, i) => `http://hostile.test/h/${i}`)
      return Effect.gen(function*() {
        const fetcher = yield* UrlFetcher
        const run = Effect.scoped(Effect.gen(function*() {
          const b = yield* fetcher.batch(urls, { concurrency, timeout: "1 second", retries: 1, retryBase: "10 millis", maxRedirects: 2, body })
          const got: Array<FetchOutcome> = []
          while (take === undefined || got.length < take) {
            const o = yield* Chan.receive(b.outcomes)
            if (Option.isNone(o)) break
            got.push(o.value)
          }
          return { got, report: take === undefined ? yield* b.done : undefined }
        }))
        const exit = yield* runToEnd(yield* Effect.fork(Effect.exit(run)))
        if (Exit.isFailure(exit)) throw new Error(`the batch failed: ${exit.cause.toString()}`)
        const { got, report } = exit.value
        const seen = got.map((o) => o.url)
        expect(new Set(seen).size).toBe(seen.length)
        for (const o of got) expect(["Fetched", "FetchError"]).toContain(o._tag)
        if (take === undefined) {
          expect([...seen].sort()).toEqual([...urls].sort())
          expect(report).toEqual({ urls: urls.length, delivered: urls.length, deadline: false })
        } else {
          expect(got.length).toBe(Math.min(take, urls.length))
        }
      }).pipe(Effect.provide(fake.layer))
    },
    { fastCheck: { numRuns: runs } }
  )

  it.effect.prop(
    "get: one typed outcome per URL whatever the transport does",
    { m: misbehaviour },
    ({ m }) => {
      const fake = FakeHttp.hostileLayer([m])
      return Effect.gen(function*() {
        const fetcher = yield* UrlFetcher
        const exit = yield* runToEnd(
          yield* Effect.fork(Effect.exit(fetcher.get("http://hostile.test/h/0", { timeout: "1 second", retries: 1, retryBase: "10 millis" })))
        )
        if (Exit.isFailure(exit)) {
          const e = exit.cause._tag === "Fail" ? exit.cause.error : undefined
          expect(e?._tag).toBe("FetchError")
        }
      }).pipe(Effect.provide(fake.layer))
    },
    { fastCheck: { numRuns: runs * 2 } }
  )
})

describe("this file's tests are leak-checked", () => {
  it.effect("(sentinel) an Effect test here runs inside LeakCheck.verifyNone (leakproof/vitest's it)", () =>
    Effect.map(LeakCheck.isChecked, (checked) => expect(checked).toBe(true)))
})
