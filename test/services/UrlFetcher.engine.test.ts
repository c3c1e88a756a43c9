/**
 * The fetch engine's guarantees in virtual time (a fake undici dispatcher driven by `TestClock`):
 * timeouts, retries with backoff, the deadline, cancellation, the body cap and body modes,
 * redirects, metrics, spans, lazy sources.
 */
import { describe, expect, it } from "../../src/vitest.js"
import { Chunk, Clock, Effect, Either, Exit, FastCheck as fc, Fiber, Layer, Metric, Option, Scope, Stream, TestClock, Tracer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Chan from "../../src/domain/Chan.js"
import type { FetchError, FetchOutcome } from "../../src/domain/FetchOutcome.js"
import * as LeakCheck from "../../src/domain/LeakCheck.js"
import { makeOptions } from "../../src/domain/FetchOutcome.js"
import * as BodyFile from "../../src/services/BodyFile.js"
import * as FetchEngine from "../../src/services/FetchEngine.js"
import { HttpDispatcher } from "../../src/services/HttpDispatcher.js"
import type { Transport } from "../../src/services/HttpDispatcher.js"
import * as UrlFetcher from "../../src/services/UrlFetcher.js"
import * as FakeHttp from "../support/FakeHttp.js"

const url = (p: string) => `http://fake.test${p}`

const drain = (out: Chan.RecvChan<FetchOutcome>) =>
  Effect.gen(function*() {
    const all: Array<FetchOutcome> = []
    yield* Chan.forEach(out, (o) => Effect.sync(() => all.push(o)))
    return all
  })

const getFailure = (target: string, options?: Parameters<UrlFetcher.UrlFetcher["get"]>[1]) =>
  Effect.flatMap(UrlFetcher.UrlFetcher, (f) => Effect.flip(f.get(target, options))) as Effect.Effect<FetchError, never, UrlFetcher.UrlFetcher>

/**
 * Lets the event loop turn (the engine wakes its driver with `setImmediate`) until `check` holds;
 * bounded in turns, no clock involved.
 */
const turn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
const until = (check: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 1_000 && !check(); i++) yield* turn
    expect(check()).toBe(true)
  })

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "leakproof-test-"))

describe("timeouts (headers and body together, per attempt)", () => {
  it.effect("no complete response within T is a Timeout at T, not before; the request is aborted", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher.UrlFetcher
      const f = yield* Effect.fork(Effect.flip(fetcher.get(url("/drip/100"), { timeout: "2 seconds", retries: 0 })))
      yield* TestClock.adjust("1999 millis")
      expect(f.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const e = yield* Fiber.join(f)
      expect([e._tag === "FetchError" && e.reason, e._tag === "FetchError" && e.detail]).toEqual(["Timeout", "no complete response within 2s"])
      expect(fake.stats.interrupted).toBe(1)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("a timeout is transient: retried, each attempt with its own timeout", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher.UrlFetcher
      const f = yield* Effect.fork(Effect.flip(fetcher.get(url("/never/1"), { timeout: "1 second", retries: 1, retryBase: "100 millis" })))
      yield* TestClock.adjust("1 second")
      yield* until(() => fake.stats.interrupted === 1)
      yield* TestClock.adjust("200 millis") // backoff over: the second attempt starts
      yield* until(() => fake.stats.started === 2)
      yield* TestClock.adjust("1 second")
      const e = yield* Fiber.join(f)
      expect(e._tag === "FetchError" && [e.reason, e.attempts]).toEqual(["Timeout", 2])
      expect(fake.stats).toEqual({ started: 2, finished: 0, interrupted: 2 })
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("in a batch, every request's timeout is its own (FIFO), and the batch goes on", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher.UrlFetcher
      const urls = [url("/never/1"), url("/slow/500/2"), url("/never/3"), url("/slow/1500/4")]
      const f = yield* Effect.fork(Effect.scoped(Effect.flatMap(fetcher.fetch(urls, { timeout: "1 second", retries: 0, concurrency: 2 }), drain)))
      yield* TestClock.adjust("3 seconds")
      const byUrl = Object.fromEntries((yield* Fiber.join(f)).map((o) => [o.url, o._tag === "Fetched" ? "ok" : o.reason]))
      expect(byUrl).toEqual({ [urls[0]!]: "Timeout", [urls[1]!]: "ok", [urls[2]!]: "Timeout", [urls[3]!]: "Timeout" })
    }).pipe(Effect.provide(fake.layer))
  })
})

describe("retries: transient failures only, exponential backoff with jitter", () => {
  it.effect("a 503 is retried after base x [0.8, 1.2), then 2 x base x [0.8, 1.2)", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher.UrlFetcher
      const f = yield* Effect.fork(Effect.flip(fetcher.get(url("/status/503"), { retries: 2, retryBase: "100 millis" })))
      yield* until(() => fake.stats.started === 1)
      yield* TestClock.adjust("79 millis")
      expect(fake.stats.started).toBe(1)
      yield* TestClock.adjust("41 millis") // t = 120
      yield* until(() => fake.stats.started === 2)
      yield* TestClock.adjust("119 millis") // t = 239 < 80 + 160
      expect(fake.stats.started).toBe(2)
      yield* TestClock.adjust("121 millis") // t = 360 >= 120 + 240
      const e = yield* Fiber.join(f)
      expect(e._tag === "FetchError" && [e.reason, e.status, e.attempts]).toEqual(["Status", 503, 3])
      expect(fake.stats.started).toBe(3)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("a flaky URL succeeds on its third try; the result says so", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher.UrlFetcher
      const f = yield* Effect.fork(fetcher.get(url("/flaky/a/2"), { retryBase: "10 millis" }))
      yield* TestClock.adjust("1 second")
      const ok = yield* Fiber.join(f)
      expect([ok.status, ok.attempts, new TextDecoder().decode(ok.body)]).toEqual([200, 3, "ok a"])
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect.each([
    ["a 404", "/status/404", "Status"],
    ["a status outside 100-599", "/status/600", "Status"],
    ["an oversized body", "/declared/999999", "BodyTooLarge"],
    ["a malformed redirect", `/location/302/${encodeURIComponent("http://[::1:bad")}`, "InvalidRedirect"]
  ] as const)("%s is never retried", ([, p, reason]) => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const e = yield* getFailure(url(p), { retries: 3, maxBodyBytes: 1000 })
      expect([e.reason, e.attempts]).toEqual([reason, 1])
      expect(fake.stats.started).toBe(1)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("a connection reset is retried; a dispatch that throws is that URL's Transport failure", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher.UrlFetcher
      const f = yield* Effect.fork(Effect.scoped(Effect.flatMap(fetcher.fetch([url("/reset"), url("/throw"), url("/ok/1")], { retries: 1, retryBase: "10 millis" }), drain)))
      yield* TestClock.adjust("1 second")
      const byUrl = Object.fromEntries((yield* Fiber.join(f)).map((o) => [o.url, o._tag === "Fetched" ? "ok" : `${o.reason} ${o.attempts} ${o.detail}`]))
      expect(byUrl).toEqual({
        [url("/reset")]: "Transport 2 read ECONNRESET",
        [url("/throw")]: "Transport 2 fake dispatch threw",
        [url("/ok/1")]: "ok"
      })
    }).pipe(Effect.provide(fake.layer))
  })
})

describe("the batch deadline and cancellation", () => {
  it.effect("the deadline aborts what is in flight or waiting out a backoff, and ends the batch", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher.UrlFetcher
      const urls = [url("/ok/1"), url("/status/503"), url("/never/2"), url("/slow/300/3")]
      const f = yield* Effect.fork(Effect.scoped(Effect.flatMap(fetcher.batch(urls, { deadline: "250 millis", retryBase: "1 second" }), (b) =>
        Effect.zip(drain(b.outcomes), b.done))))
      yield* TestClock.adjust("250 millis")
      const [outcomes, report] = yield* Fiber.join(f)
      expect(outcomes.map((o) => o.url)).toEqual([url("/ok/1")])
      expect(report).toEqual({ urls: 4, delivered: 1, deadline: true })
      expect(fake.stats.inFlight()).toBe(0)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("leaving the scope during a backoff or mid-body returns at once (no clock adjustment) and aborts everything", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher.UrlFetcher
      const urls = [url("/status/503"), url("/drip/10"), url("/never/1"), url("/ok/2")]
      yield* Effect.scoped(Effect.gen(function*() {
        const out = yield* fetcher.fetch(urls, { retryBase: "1 hour", timeout: "1 hour", concurrency: 4 })
        yield* Chan.receive(out) // /ok/2
        yield* until(() => fake.stats.finished === 2) // the 503 answered: its URL waits out an hour's backoff
      }))
      expect(fake.stats.inFlight()).toBe(0)
      expect(fake.stats.interrupted).toBe(2)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("interrupting get aborts its request at once", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher.UrlFetcher
      const f = yield* Effect.fork(fetcher.get(url("/never/1"), { timeout: "1 hour" }))
      yield* until(() => fake.stats.started === 1)
      yield* Fiber.interrupt(f)
      expect(fake.stats.interrupted).toBe(1)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("a slow consumer holds back new requests (back-pressure): in flight + buffered never exceed 2 x concurrency", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher.UrlFetcher
      const urls = Array.from({ length: 50 }, (_, i) => url(`/ok/${i}`))
      yield* Effect.scoped(Effect.gen(function*() {
        const out = yield* fetcher.fetch(urls, { concurrency: 3 })
        yield* until(() => fake.stats.started >= 6)
        for (let i = 0; i < 20; i++) yield* turn
        expect(fake.stats.started).toBe(6) // 3 answered and buffered, 3 answered and waiting for room
        let got = 0
        yield* Chan.forEach(out, () => Effect.sync(() => got++))
        expect(got).toBe(50)
      }))
    }).pipe(Effect.provide(fake.layer))
  })
})

describe("batch pools: handed back when nothing is on the wire, destroyed in one sweep otherwise", () => {
  it.effect("a batch that ends normally hands its pool back; one cancelled with requests in flight destroys it", () => {
    const fake = FakeHttp.layer({}, { pools: true })
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher.UrlFetcher
      const f = yield* Effect.fork(Effect.scoped(Effect.flatMap(fetcher.fetch([url("/ok/1"), url("/slow/10/2"), url("/status/404")], { retries: 0 }), drain)))
      yield* TestClock.adjust("10 millis")
      expect(yield* Fiber.join(f)).toHaveLength(3)
      expect(fake.stats.pools).toEqual({ created: 1, released: 1, destroyed: 0, releasedBusy: 0 })
      yield* Effect.scoped(Effect.gen(function*() {
        yield* fetcher.fetch(Array.from({ length: 5 }, (_, i) => url(`/never/${i}`)), { concurrency: 5 })
        yield* until(() => fake.stats.started === 8)
      }))
      expect(fake.stats.pools).toEqual({ created: 2, released: 1, destroyed: 1, releasedBusy: 0 })
      expect(fake.stats.interrupted).toBe(5)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("a request that timed out (aborted, ended by the transport) does not stop the hand-back; the deadline with requests in flight destroys", () => {
    const fake = FakeHttp.layer({}, { pools: true })
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher.UrlFetcher
      const timedOut = yield* Effect.fork(Effect.scoped(Effect.flatMap(fetcher.fetch([url("/never/1"), url("/ok/2")], { timeout: "1 second", retries: 0 }), drain)))
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(timedOut)).map((o) => o._tag === "Fetched" ? "ok" : o.reason).sort()).toEqual(["Timeout", "ok"])
      expect(fake.stats.pools).toEqual({ created: 1, released: 1, destroyed: 0, releasedBusy: 0 })
      const cut = yield* Effect.fork(Effect.scoped(Effect.flatMap(fetcher.fetch([url("/never/3"), url("/ok/4")], { deadline: "100 millis" }), drain)))
      yield* TestClock.adjust("100 millis")
      expect(yield* Fiber.join(cut)).toHaveLength(1)
      expect(fake.stats.pools).toEqual({ created: 2, released: 1, destroyed: 1, releasedBusy: 0 })
      expect(fake.stats.inFlight()).toBe(0)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect.prop(
    "any mix of answers and any cancel point: a pool is handed back only with nothing of it open, and each batch ends its pool exactly once",
    [
      fc.array(fc.constantFrom("/ok/x", "/slow/30/x", "/never/x", "/status/503", "/status/404", "/drip/90", "/reset"), { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 1, max: 4 }),
      fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined })
    ],
    ([paths, concurrency, take]) => {
      const fake = FakeHttp.layer({}, { pools: true })
      return Effect.gen(function*() {
        const fetcher = yield* UrlFetcher.UrlFetcher
        const f = yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
          const out = yield* fetcher.fetch(paths.map((p, i) => url(p.replace("x", String(i)))), {
            concurrency,
            timeout: "200 millis",
            retries: 1,
            retryBase: "10 millis"
          })
          for (let i = 0; take === undefined || i < take; i++) {
            if (Option.isNone(yield* Chan.receive(out))) break
          }
        })))
        // let the event loop turn, then move the clock to the next pending sleep (bounded in steps)
        for (let i = 0; i < 300 && f.unsafePoll() === null; i++) {
          yield* turn
          if (f.unsafePoll() !== null) break
          const now = yield* Clock.currentTimeMillis
          const next = Chunk.toReadonlyArray(yield* TestClock.sleeps()).filter((t) => t > now)
          yield* TestClock.adjust(next.length === 0 ? 1 : Math.min(...next) - now)
        }
        if (f.unsafePoll() === null) {
          yield* Fiber.interrupt(f)
          expect.fail(`the batch did not end: ${JSON.stringify([paths, concurrency, take])}`)
        }
        yield* Fiber.join(f)
        const pools = fake.stats.pools
        expect(pools.releasedBusy).toBe(0)
        // (a batch left before its driver ever ran takes no pool at all)
        expect(pools.created).toBeLessThanOrEqual(1)
        expect(pools.released + pools.destroyed).toBe(pools.created)
        expect(fake.stats.inFlight()).toBe(0)
      }).pipe(Effect.provide(fake.layer))
    },
    { fastCheck: { numRuns: 40 } }
  )
})

describe("get: a batch of one on the shared timer", () => {
  it.effect("the shared timer holds only the gets in flight: a finished get leaves it at once, not when its timeout would have come", () =>
    Effect.scoped(Effect.gen(function*() {
      const stats = FakeHttp.makeStats()
      const runtime = yield* Effect.runtime<never>()
      const fake = FakeHttp.make(stats, runtime)
      // the fake answers /ok synchronously inside dispatch; a real server answers a turn later
      const later: Transport = {
        dispatch: (options, handler) => {
          if (options.path.startsWith("/never")) return fake.dispatch(options, handler)
          handler.onConnect!(() => {})
          setImmediate(() => {
            handler.onHeaders!(200, [], () => {}, "")
            handler.onComplete!([])
          })
          return true
        }
      }
      const timer = yield* FetchEngine.makeSharedTimer
      const engine: FetchEngine.Engine = { transport: later, metrics: UrlFetcher.metrics, spans: "none", timer }
      const options = Either.getOrThrow(makeOptions({ timeout: "10 seconds", retries: 0 }))
      // one get in flight the whole time (the earliest due time), 50 others come and go
      const slow = yield* Effect.fork(FetchEngine.runOne(engine, options, url("/never/1")))
      yield* until(() => stats.started === 1 && timer.size === 1)
      for (let i = 0; i < 50; i++) {
        const o = yield* FetchEngine.runOne(engine, options, url(`/ok/${i}`))
        expect(o?._tag).toBe("Fetched")
      }
      expect(timer.size).toBe(1)
      yield* Fiber.interrupt(slow)
      expect(timer.size).toBe(0)
    })))
})

describe("the body cap and where bodies go", () => {
  it.effect.each([
    ["a streamed body past the cap", "/big/100000", 50_000, "BodyTooLarge", 1],
    ["a declared length past the cap (aborted at the headers)", "/declared/100000", 50_000, "BodyTooLarge", 1],
    ["a body exactly at the cap", "/big/50000", 50_000, "ok", 0]
  ] as const)("%s", ([, p, max, expected, interrupted]) => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher.UrlFetcher
      const r = yield* Effect.either(fetcher.get(url(p), { maxBodyBytes: max, retries: 0 }))
      expect(r._tag === "Right" ? (r.right.bytes === max ? "ok" : `bytes ${r.right.bytes}`) : r.left._tag === "FetchError" && r.left.reason).toBe(expected)
      expect(fake.stats.interrupted).toBe(interrupted)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect.each([
    ["a 500", 500, "Status", 2],
    ["a 302 without Location", 302, "Status", 1],
    ["a 404", 404, "Status", 1]
  ] as const)("%s declaring a body past the cap: its own outcome once (the abort's synchronous onError is not a second one)", ([, code, reason, attempts]) => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher.UrlFetcher
      const f = yield* Effect.fork(Effect.scoped(Effect.flatMap(
        fetcher.fetch([url(`/declared-status/${code}/999999`), url("/ok/1")], { maxBodyBytes: 1000, retries: 1, retryBase: "10 millis" }),
        drain
      )))
      yield* TestClock.adjust("1 second")
      const outcomes = yield* Fiber.join(f)
      expect(outcomes.map((o) => o._tag === "Fetched" ? "ok" : `${o.reason} ${o.status} ${o.attempts}`).sort()).toEqual(
        [`${reason} ${code} ${attempts}`, "ok"]
      )
      expect(fake.stats.interrupted).toBe(attempts)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("body: discard counts the bytes and keeps none", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher.UrlFetcher
      const f = yield* fetcher.get(url("/big/40000"), { body: "discard" })
      expect([f.bytes, f.body.length, f.file]).toEqual([40_000, 0, undefined])
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("body: { dir } streams each body to its own file, named from the URL; failures and cancels leave no file", () => {
    const fake = FakeHttp.layer()
    const dir = path.join(tmpDir(), "out")
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher.UrlFetcher
      const urls = [url("/big/40000"), url("/ok/1"), url("/big/90000"), url("/drip/10"), url("/never/2")]
      const outcomes = yield* Effect.scoped(Effect.gen(function*() {
        const out = yield* fetcher.fetch(urls, { body: { dir }, maxBodyBytes: 50_000, timeout: "1 second", retries: 0, concurrency: 5 })
        const got: Array<FetchOutcome> = []
        for (let i = 0; i < 3; i++) got.push(Option.getOrThrow(yield* Chan.receive(out)))
        return got // leave with /drip mid-body and /never in flight
      }))
      const byUrl = Object.fromEntries(outcomes.map((o) => [o.url, o._tag === "Fetched" ? `${o.bytes} ${o.file}` : o.reason]))
      expect(byUrl).toEqual({
        [urls[0]!]: `40000 ${path.join(dir, BodyFile.nameFor(urls[0]!))}`,
        [urls[1]!]: `4 ${path.join(dir, BodyFile.nameFor(urls[1]!))}`,
        [urls[2]!]: "BodyTooLarge"
      })
      expect(fs.readdirSync(dir).sort()).toEqual([BodyFile.nameFor(urls[0]!), BodyFile.nameFor(urls[1]!)].sort())
      expect(fs.readFileSync(path.join(dir, BodyFile.nameFor(urls[1]!)), "utf8")).toBe("ok 1")
      expect(fs.statSync(path.join(dir, BodyFile.nameFor(urls[0]!))).size).toBe(40_000)
    }).pipe(Effect.provide(fake.layer), Effect.ensuring(Effect.sync(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }))))
  })

  it.effect("an output directory that cannot be created is InvalidFetchOptions before any request", () => {
    const fake = FakeHttp.layer()
    const file = path.join(tmpDir(), "a-file")
    fs.writeFileSync(file, "x")
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher.UrlFetcher
      const e = yield* Effect.flip(Effect.scoped(fetcher.fetch([url("/ok/1")], { body: { dir: path.join(file, "sub") } })))
      expect([e._tag, e._tag === "InvalidFetchOptions" && e.option]).toEqual(["InvalidFetchOptions", "output"])
      expect(fake.stats.started).toBe(0)
    }).pipe(Effect.provide(fake.layer), Effect.ensuring(Effect.sync(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }))))
  })

  it.prop("file names: no separator, no leading dot, bounded, one per URL", [fc.string({ maxLength: 300 }), fc.webUrl()], ([text, web]) => {
    for (const u of [text, web, `${web}/../../etc/passwd`, `${web}/a%2F..%2Fb`]) {
      const name = BodyFile.nameFor(u)
      expect(name).not.toMatch(/[/\\\0]/)
      expect(name.startsWith(".")).toBe(false)
      expect(name.length).toBeLessThanOrEqual(130)
      expect(BodyFile.nameFor(u)).toBe(name)
    }
    if (text !== web) expect(BodyFile.nameFor(text)).not.toBe(BodyFile.nameFor(web))
  })
})

describe("redirects", () => {
  it.effect("followed up to maxRedirects (relative Location resolved against the current URL); the outcome names the URL asked for", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher.UrlFetcher
      const ok = yield* fetcher.get(url("/hops/5/x"))
      expect([ok.url, ok.status, ok.attempts, new TextDecoder().decode(ok.body)]).toEqual([url("/hops/5/x"), 200, 1, "hops x"])
      const e = yield* getFailure(url("/hops/6/y"), { retries: 0 })
      expect([e.reason, e.status, e.detail]).toEqual(["Status", 302, "HTTP 302 after 5 redirects"])
      const none = yield* getFailure(url("/hops/1/z"), { retries: 0, maxRedirects: 0 })
      expect(none.detail).toBe("HTTP 302 after 0 redirects")
      expect(fake.stats.paths.filter((p) => p.startsWith("/hops/"))).toHaveLength(6 + 6 + 1)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect.each([
    ["http://[::1:bad", "malformed Location 'http://[::1:bad'"],
    ["ftp://files.test/x", "Location 'ftp://files.test/x' has unsupported scheme 'ftp'"],
    ["javascript:alert(1)", "Location 'javascript:alert(1)' has unsupported scheme 'javascript'"]
  ] as const)("Location %s is that URL's InvalidRedirect", ([location, detail]) => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const e = yield* getFailure(url(`/location/301/${encodeURIComponent(location)}`))
      expect([e.reason, e.detail]).toEqual(["InvalidRedirect", detail])
    }).pipe(Effect.provide(fake.layer))
  })
})

describe("metrics and spans", () => {
  it.effect("metrics are counted per outcome with the caller's metric labels (no effect per request)", () => {
    const fake = FakeHttp.layer()
    const id = `${Math.random()}`
    const value = (m: Metric.Metric.Counter<number>) => Effect.map(Metric.value(Metric.tagged(m, "test", id)), (s) => s.count)
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher.UrlFetcher
      yield* Effect.scoped(Effect.gen(function*() {
        const out = yield* fetcher.fetch([url("/ok/1"), url("/ok/2"), url("/status/404"), url("/never/1")], { retries: 0 })
        for (let i = 0; i < 3; i++) yield* Chan.receive(out)
      })).pipe(Effect.tagMetrics("test", id))
      expect([yield* value(UrlFetcher.metrics.succeeded), yield* value(UrlFetcher.metrics.failed), yield* value(UrlFetcher.metrics.cancelled)])
        .toEqual([2, 1, 1])
      const histogram = yield* Metric.value(Metric.tagged(UrlFetcher.metrics.duration, "test", id))
      expect(histogram.count).toBe(2)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("spans: one per batch by default; with spans: \"request\" also one per URL", () => {
    const recorded: Array<string> = []
    const recording = (base: Tracer.Tracer) =>
      Tracer.make({
        span: (name, parent, context, links, startTime, kind, options) => {
          recorded.push(name)
          return base.span(name, parent, context, links, startTime, kind, options)
        },
        context: base.context
      })
    const run = (config: UrlFetcher.Config) => {
      const fake = FakeHttp.layer(config)
      return Effect.gen(function*() {
        recorded.length = 0
        const fetcher = yield* UrlFetcher.UrlFetcher
        yield* Effect.scoped(Effect.flatMap(fetcher.fetch([url("/ok/1"), url("/ok/2")]), drain))
        yield* fetcher.get(url("/ok/3"))
        return recorded.filter((n) => n.startsWith("UrlFetcher")).sort()
      }).pipe(Effect.provide(fake.layer), (self) => Effect.flatMap(Effect.tracer, (base) => Effect.withTracer(self, recording(base))))
    }
    return Effect.gen(function*() {
      expect(yield* run({})).toEqual(["UrlFetcher.fetch"])
      expect(yield* run({ spans: "request" })).toEqual(["UrlFetcher.fetch", "UrlFetcher.get", "UrlFetcher.get", "UrlFetcher.get"])
      expect(yield* run({ spans: "none" })).toEqual([])
    })
  })
})

describe("URL sources", () => {
  it.effect("an AsyncIterable and a Stream are fetched like an array", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher.UrlFetcher
      async function* gen() {
        for (let i = 0; i < 20; i++) yield url(`/ok/${i}`)
      }
      const a = yield* Effect.scoped(Effect.flatMap(fetcher.fetch(gen(), { concurrency: 3 }), drain))
      const s = yield* Stream.runCollect(fetcher.stream(Stream.range(0, 19).pipe(Stream.map((i) => url(`/ok/${i}`))), { concurrency: 3 }))
      expect([a.length, s.length]).toEqual([20, 20])
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("an empty source ends at once with an empty, closed output", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher.UrlFetcher
      expect(yield* Effect.scoped(Effect.flatMap(fetcher.fetch([]), drain))).toEqual([])
      expect(Exit.isSuccess(yield* Effect.exit(Stream.runDrain(fetcher.stream(Stream.empty))))).toBe(true)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("cancelling a batch fed by a stream that never ends stops its feeder too", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const fetcher = yield* UrlFetcher.UrlFetcher
      const endless = Stream.iterate(0, (n) => n + 1).pipe(Stream.map((i) => url(`/never/${i}`)))
      const scope = yield* Scope.make()
      yield* fetcher.fetch(endless, { concurrency: 5 }).pipe(Scope.extend(scope))
      yield* until(() => fake.stats.started === 5)
      yield* Scope.close(scope, Exit.void)
      expect(fake.stats.interrupted).toBe(5)
    }).pipe(Effect.provide(fake.layer))
  })
})

describe("undici's MockAgent as the transport", () => {
  it.effect("an undici Dispatcher is a Transport as it is: bodies, statuses, redirects and a malformed Location", () =>
    Effect.gen(function*() {
      const { MockAgent } = yield* Effect.promise(() => import("undici"))
      const agent = new MockAgent()
      agent.disableNetConnect()
      const origin = agent.get("http://mock.test")
      origin.intercept({ path: "/a" }).reply(200, "hello", { headers: { "content-length": "5" } })
      origin.intercept({ path: "/gone" }).reply(410, "gone")
      origin.intercept({ path: "/moved" }).reply(301, "", { headers: { location: "/a2" } })
      origin.intercept({ path: "/a2" }).reply(200, "again")
      origin.intercept({ path: "/bad" }).reply(302, "", { headers: { location: "http://[::1:bad" } })
      const layer = UrlFetcher.layerWithoutDispatcher({}).pipe(Layer.provide(Layer.succeed(HttpDispatcher, agent)))
      const outcomes = yield* LeakCheck.verifyNone(Effect.scoped(Effect.gen(function*() {
        const fetcher = yield* UrlFetcher.UrlFetcher
        return yield* drain(yield* fetcher.fetch(["/a", "/gone", "/moved", "/bad"].map((p) => `http://mock.test${p}`), { retries: 0 }))
      }))).pipe(Effect.provide(layer))
      const byPath = Object.fromEntries(outcomes.map((o) => [
        new URL(o.url).pathname,
        o._tag === "Fetched" ? `${o.status} ${new TextDecoder().decode(o.body)}` : `${o.reason} ${o.detail}`
      ]))
      expect(byPath).toEqual({
        "/a": "200 hello",
        "/gone": "Status HTTP 410",
        "/moved": "200 again",
        "/bad": "InvalidRedirect malformed Location 'http://[::1:bad'"
      })
      yield* Effect.promise(() => agent.close())
    }))
})

describe("this file's tests are leak-checked", () => {
  it.effect("(sentinel) an Effect test here runs inside LeakCheck.verifyNone (leakproof/vitest's it)", () =>
    Effect.map(LeakCheck.isChecked, (checked) => expect(checked).toBe(true)))
})
