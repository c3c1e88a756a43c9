import { describe, expect, it, unchecked } from "../../src/vitest.js"
import { Chunk, Effect, Exit, FastCheck as fc, Fiber, Option, Scope, Stream, TestClock, TestServices } from "effect"
import * as Chan from "../../src/domain/Chan.js"
import { FetchError, isTransient } from "../../src/domain/FetchOutcome.js"
import type { FetchOutcome } from "../../src/domain/FetchOutcome.js"
import * as LeakCheck from "../../src/domain/LeakCheck.js"
import { UrlFetcher } from "../../src/services/UrlFetcher.js"
import * as FakeHttp from "../support/FakeHttp.js"
import { awaitSuspended } from "../support/fibers.js"

const base = "http://fake.test"
const url = (path: string) => `${base}${path}`

/** Receives every outcome until the channel is closed. */
const drain = (out: Chan.RecvChan<FetchOutcome>) =>
  Effect.gen(function*() {
    const all: Array<FetchOutcome> = []
    yield* Chan.forEach(out, (o) => Effect.sync(() => all.push(o)))
    return all
  })

describe("UrlFetcher.fetch: Kata 17's self-tests (virtual time)", () => {
  it.effect("forgotten sender: 50 fetchers, consume 1, cancel -> every producer interrupted, live fibers back to baseline", () => {
    const fake = FakeHttp.layer()
    // asserts on its own fibers (LeakCheck.track, settle): not checked a second time
    return unchecked(LeakCheck.track((tracker) =>
      Effect.gen(function*() {
        const fetcher = yield* UrlFetcher
        const scope = yield* Scope.make()
        const urls = Array.from({ length: 50 }, (_, i) => url(`/slow/${(i + 1) * 100}/${i}`))
        const out = yield* fetcher.fetch(urls, { concurrency: 50 }).pipe(Scope.extend(scope))
        const first = yield* Effect.fork(Chan.receive(out))
        yield* TestClock.adjust("100 millis")
        const got = yield* Fiber.join(first)
        expect(Option.map(got, (o) => o.url)).toEqual(Option.some(urls[0]))
        // the other 49 are in flight at the transport (no fiber per request: the batch has one driver)
        expect(fake.stats.inFlight()).toBe(49)
        expect(yield* tracker.live).toBeGreaterThan(0)
        yield* Scope.close(scope, Exit.void)
        yield* tracker.settle()
        expect(fake.stats).toEqual({ started: 50, finished: 1, interrupted: 49 })
      })
    ).pipe(Effect.provide(fake.layer)))
  })

  it.effect("cancellation before the first receive: nothing blocks trying to send", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher
      const out = yield* Effect.scoped(fetcher.fetch([url("/ok/1"), url("/slow/50/2"), url("/never/3")]))
      // the owner left at once: the output is closed, whatever was delivered can still be drained
      const delivered = yield* drain(out)
      expect(delivered.length).toBeLessThanOrEqual(1)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("close discipline: cancelling from several places at once closes the output once, with no panic", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher
      const scope = yield* Scope.make()
      const out = yield* fetcher.fetch(Array.from({ length: 20 }, (_, i) => url(`/never/${i}`)), { concurrency: 20 }).pipe(
        Scope.extend(scope)
      )
      const consumer = yield* Effect.fork(drain(out))
      yield* awaitSuspended(consumer)
      const cancellers = yield* Effect.forEach([1, 2, 3, 4], () => Effect.fork(Scope.close(scope, Exit.void)))
      const exits: Array<Exit.Exit<unknown>> = [...(yield* Effect.forEach(cancellers, (f) => Fiber.await(f))), yield* Fiber.await(consumer)]
      expect(exits.every((e) => Exit.isSuccess(e))).toBe(true)
      expect(yield* Chan.isClosed(out)).toBe(true)
      expect(fake.stats.interrupted).toBe(20)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("partial results: outcomes completed before cancel stay with the consumer", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher
      const urls = [...Array.from({ length: 5 }, (_, i) => url(`/ok/${i}`)), ...Array.from({ length: 5 }, (_, i) => url(`/never/${i}`))]
      const out = yield* Effect.scoped(Effect.gen(function*() {
        const out = yield* fetcher.fetch(urls, { concurrency: 10 })
        // let the fast ones land in the buffer, then leave without reading
        while ((yield* Chan.len(out)) < 5) yield* Effect.yieldNow()
        return out
      }))
      const delivered = yield* drain(out)
      expect(delivered.map((o) => o.url).sort()).toEqual(urls.slice(0, 5).sort())
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("an overall deadline cancels what has not completed and still closes the output once", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher
      const urls = Array.from({ length: 10 }, (_, i) => url(`/slow/100/${i}`))
      const delivered = yield* Effect.scoped(Effect.gen(function*() {
        const out = yield* fetcher.fetch(urls, { concurrency: 2, deadline: "250 millis" })
        const consumer = yield* Effect.fork(drain(out))
        yield* TestClock.adjust("1 second")
        return yield* Fiber.join(consumer)
      }))
      expect(delivered).toHaveLength(4)
      expect(fake.stats.interrupted).toBe(2)
    }).pipe(Effect.provide(fake.layer))
  })
})

describe("UrlFetcher.get: typed errors, retries, timeouts (virtual time)", () => {
  it.effect("an invalid URL is a typed failure for that URL only; the others are fetched", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher
      const outcomes = yield* Effect.scoped(Effect.flatMap(fetcher.fetch(["not a url", "ftp://x/y", url("/ok/1")]), drain))
      const byUrl = Object.fromEntries(outcomes.map((o) => [o.url, o._tag === "Fetched" ? "Fetched" : o.reason]))
      expect(byUrl).toEqual({ "not a url": "InvalidUrl", "ftp://x/y": "InvalidUrl", [url("/ok/1")]: "Fetched" })
      expect(fake.stats.started).toBe(1)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("a transient failure (503) is retried with backoff, 3 tries by default; a 4xx never", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher
      const f503 = yield* Effect.fork(Effect.flip(fetcher.get(url("/status/503"))))
      yield* TestClock.adjust("10 seconds")
      const e503 = yield* Fiber.join(f503)
      expect(e503._tag === "FetchError" && e503.reason === "Status" && e503.status === 503 && e503.attempts === 3).toBe(true)
      expect(fake.stats.started).toBe(3)
      const e404 = yield* Effect.flip(fetcher.get(url("/status/404")))
      expect(e404._tag === "FetchError" && e404.status === 404 && e404.attempts === 1).toBe(true)
      expect(fake.stats.started).toBe(4)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("the per-request timeout gives a Timeout error and interrupts the request", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher
      const f = yield* Effect.fork(Effect.flip(fetcher.get(url("/never/1"), { timeout: "2 seconds", retries: 0 })))
      yield* TestClock.adjust("2 seconds")
      const e = yield* Fiber.join(f)
      expect(e._tag === "FetchError" && e.reason).toBe("Timeout")
      expect(fake.stats.interrupted).toBe(1)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("bad options are rejected before any request: concurrency 0, negative retries", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher
      const e = yield* Effect.flip(Effect.scoped(fetcher.fetch([url("/ok/1")], { concurrency: 0 })))
      expect(e.message).toBe("invalid --concurrency: expected an integer >= 1, got 0")
      const r = yield* Effect.flip(fetcher.get(url("/ok/1"), { retries: -1 }))
      expect(r.message).toBe("invalid --retries: expected an integer >= 0, got -1")
      expect(fake.stats.started).toBe(0)
    }).pipe(Effect.provide(fake.layer))
  })
})

describe("UrlFetcher.stream", () => {
  it.effect("a Stream over the same engine: taking 2 outcomes then stopping interrupts the rest", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher
      const urls = [url("/ok/1"), url("/ok/2"), ...Array.from({ length: 6 }, (_, i) => url(`/never/${i}`))]
      const taken = yield* Stream.runCollect(Stream.take(fetcher.stream(urls, { concurrency: 8 }), 2))
      expect(Chunk.toReadonlyArray(taken).map((o) => o.url).sort()).toEqual([url("/ok/1"), url("/ok/2")])
      yield* Effect.yieldNow()
      expect(fake.stats.interrupted).toBe(6)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect.prop(
    "any mix of outcomes, bound and cancel point: each completed outcome delivered once, output closed once, no leak",
    {
      routes: fc.array(fc.constantFrom("ok", "slow", "status", "never"), { minLength: 1, maxLength: 30 }),
      concurrency: fc.integer({ min: 1, max: 8 }),
      take: fc.integer({ min: 0, max: 30 })
    },
    ({ concurrency, routes, take }) => {
      const fake = FakeHttp.layer()
      const urls = routes.map((r, i) =>
        r === "slow" ? url(`/slow/${(i % 5) * 10 + 10}/${i}`) : r === "status" ? url(`/status/${400 + (i % 3)}`) : url(`/${r}/${i}`)
      )
      return Effect.gen(function*() {
        const fetcher = yield* UrlFetcher
        const got = yield* Effect.scoped(Effect.gen(function*() {
          const out = yield* fetcher.fetch(urls, { concurrency, retries: 0 })
          const received: Array<FetchOutcome> = []
          const consumer = yield* Effect.fork(Effect.gen(function*() {
            while (received.length < take) {
              const o = yield* Chan.receive(out)
              if (Option.isNone(o)) return
              received.push(o.value)
            }
          }))
          yield* TestClock.adjust("1 second")
          yield* Fiber.interrupt(consumer)
          return received
        }))
        // each outcome at most once, and only for URLs that were asked for
        const seen = got.map((o) => `${o.url}#${urls.indexOf(o.url)}`)
        expect(new Set(got).size).toBe(got.length)
        for (const o of got) expect(urls).toContain(o.url)
        expect(seen.length).toBe(got.length)
        expect(fake.stats.finished).toBeLessThanOrEqual(fake.stats.started)
        // no completed result was lost before the cancel point: everything finished or was cancelled
        expect(fake.stats.finished + fake.stats.interrupted).toBe(fake.stats.started)
      }).pipe(Effect.provide(fake.layer))
    },
    { fastCheck: { numRuns: 40 } }
  )
})

/** Fails (instead of hanging) unless `self` completes within `ms` of real time. */
const withinLive = <A, E, R>(self: Effect.Effect<A, E, R>, ms: number) =>
  TestServices.provideLive(Effect.timeoutFail(Effect.disconnect(self), { duration: `${ms} millis`, onTimeout: () => new Error(`not done within ${ms} ms (real time)`) }))

describe("regressions (issues 8.2, 9.2)", () => {
  it.effect("cancel never waits for a timeout: more URLs than the bound, none answering, 1 h timeout; leaving the scope returns with no clock adjustment", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher
      const urls = [url("/ok/1"), ...Array.from({ length: 6 }, (_, i) => url(`/never/${i}`))]
      const run = Effect.scoped(Effect.gen(function*() {
        const out = yield* fetcher.fetch(urls, { concurrency: 2, timeout: "1 hour", retries: 0 })
        return yield* Chan.receive(out)
      }))
      const first = yield* withinLive(run, 2_000)
      expect(Option.map(first, (o) => o.url)).toEqual(Option.some(url("/ok/1")))
      expect(fake.stats.finished + fake.stats.interrupted).toBe(fake.stats.started)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("a 302 with a malformed Location is that URL's typed failure; the other URLs are fetched", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher
      const bad = url(`/location/302/${encodeURIComponent("http://[::1:bad")}`)
      const urls = [bad, url("/ok/1"), url("/slow/10/2")]
      const f = yield* Effect.fork(Effect.scoped(Effect.flatMap(fetcher.fetch(urls, { retries: 0 }), drain)))
      yield* TestClock.adjust("10 millis")
      const outcomes = yield* Fiber.join(f)
      const byUrl = Object.fromEntries(outcomes.map((o) => [o.url, o._tag === "Fetched" ? "Fetched" : o.reason]))
      expect(byUrl).toEqual({ [bad]: "InvalidRedirect", [url("/ok/1")]: "Fetched", [url("/slow/10/2")]: "Fetched" })
      const e = yield* Effect.flip(fetcher.get(bad, { retries: 0 }))
      expect(e._tag === "FetchError" && e.reason).toBe("InvalidRedirect")
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect.each([
    ["304", url("/location/304/none"), "HTTP 304"],
    ["302 without Location", url("/location/302/none"), "HTTP 302"]
  ] as const)("%s is a Status failure named by its code, not 'after N redirects'", ([, target, detail]) => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher
      const e = yield* Effect.flip(fetcher.get(target, { retries: 0 }))
      expect(e._tag === "FetchError" && [e.reason, e.detail]).toEqual(["Status", detail])
    }).pipe(Effect.provide(fake.layer))
  })
})

describe("isTransient", () => {
  it.each([
    [503, true],
    [500, true],
    [599, true],
    [429, true],
    [404, false],
    [600, false],
    [999, false],
    [99, false]
  ])("status %d -> %s", (status, transient) => {
    expect(isTransient(new FetchError({ url: "u", reason: "Status", status, detail: "", attempts: 1 }))).toBe(transient)
  })
})

describe("this file's tests are leak-checked", () => {
  it.effect("(sentinel) an Effect test here runs inside LeakCheck.verifyNone (leakproof/vitest's it)", () =>
    Effect.map(LeakCheck.isChecked, (checked) => expect(checked).toBe(true)))
})
