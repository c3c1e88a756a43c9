/**
 * The scale-out fetch on the in-memory cluster (`TestRunner`: in-memory message and runner
 * storage, one runner in this process, messages still serialized as on the wire): no database.
 */
import * as TestRunner from "@effect/cluster/TestRunner"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Deferred, Duration, Effect, Either, Exit, FastCheck as fc, Fiber, Layer, Schedule, Schema, Stream } from "effect"
import * as InputLines from "../../src/cli/InputLines.js"
import * as Chan from "../../src/domain/Chan.js"
import * as FetchBatch from "../../src/domain/FetchBatch.js"
import type { FetchErrorReason, FetchOutcome } from "../../src/domain/FetchOutcome.js"
import { Fetched, FetchError, makeOptions } from "../../src/domain/FetchOutcome.js"
import * as LeakCheck from "../../src/domain/LeakCheck.js"
import { fetchUrls } from "../../src/programs/fetchUrls.js"
import * as ClusterStack from "../../src/services/ClusterStack.js"
import * as FetchClusterClient from "../../src/services/FetchClusterClient.js"
import * as FetchRunner from "../../src/services/FetchRunner.js"
import * as UrlFetcher from "../../src/services/UrlFetcher.js"
import * as FaultServer from "../support/FaultServer.js"

/** A cluster with one in-memory runner, and the cluster-backed fetcher as `UrlFetcher`. */
const clusterLayer = (stats: FetchRunner.Stats, options: FetchClusterClient.ClientOptions) => {
  const runner = FetchRunner.handlers("test-runner", stats).pipe(
    Layer.provide(UrlFetcher.layer),
    Layer.provideMerge(TestRunner.layer)
  )
  return Layer.effect(UrlFetcher.UrlFetcher, FetchClusterClient.make(options)).pipe(Layer.provide(runner))
}

const collect = (urls: ReadonlyArray<string>, options: Parameters<UrlFetcher.UrlFetcher["fetch"]>[1]) =>
  Effect.scoped(Effect.gen(function*() {
    const fetcher = yield* UrlFetcher.UrlFetcher
    const out = yield* fetcher.fetch(urls, options)
    const all: Array<FetchOutcome> = []
    yield* Chan.forEach(out, (o) => Effect.sync(() => all.push(o)))
    return all
  }))

/** What the CLI prints of an outcome (the body's bytes never cross the wire, its length does). */
const printed = (o: FetchOutcome) =>
  o._tag === "Fetched"
    ? { url: o.url, status: o.status, bytes: o.bytes, attempts: o.attempts }
    : { url: o.url, reason: o.reason, detail: o.detail, status: o.status, attempts: o.attempts }

const byUrl = (xs: ReadonlyArray<FetchOutcome>) => [...xs].map(printed).sort((a, b) => a.url.localeCompare(b.url))

describe("FetchBatch entity on the in-memory cluster", () => {
  it.scopedLive("a job cut into batches: every URL gets one outcome, the same one the local fetcher gives", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.start
      const urls = [
        ...Array.from({ length: 7 }, (_, i) => server.url(`/ok/${i}`)),
        server.url("/status/500"),
        server.url("/status/404"),
        server.url("/hang"),
        server.url("/big?bytes=300000"),
        server.url("/flaky/x?fail=1"),
        server.url("/location?to=http://[::1:bad"), // InvalidRedirect, a reason the first wire format lacked
        "not-a-url",
        server.url("/ok/0") // twice in one job
      ]
      const options = { retries: 1, retryBase: "1 millis", timeout: "1 second", maxBodyBytes: 100_000 } as const
      const stats: FetchRunner.Stats = { batches: 0, urls: 0 }
      const remote = yield* LeakCheck.verifyNone(collect(urls, options)).pipe(
        Effect.provide(clusterLayer(stats, { batchSize: 3, batches: 2 }))
      )
      const local = yield* collect(urls, { ...options, body: "discard" }).pipe(Effect.provide(UrlFetcher.layer))
      // flaky/x succeeded on its retry the first time; locally it is a first success
      const strip = (xs: ReadonlyArray<FetchOutcome>) =>
        byUrl(xs).map((o) => o.url.includes("/flaky/") ? { ...o, attempts: 0 } : o)
      expect(remote).toHaveLength(urls.length)
      expect(strip(remote)).toEqual(strip(local))
      expect(stats.batches).toBe(5)
      expect(byUrl(remote).find((o) => o.url.includes("/location"))).toMatchObject({ reason: "InvalidRedirect" })
      expect(byUrl(remote).find((o) => o.url.endsWith("/status/500"))).toMatchObject({ reason: "Status", status: 500, attempts: 2 })
      // bodies stay on the runner: the count comes back, not the bytes
      const ok = remote.find((o) => o._tag === "Fetched" && o.url.endsWith("/ok/3"))
      expect(ok?._tag === "Fetched" && [ok.bytes, ok.body.length]).toEqual([4, 0])
    }))

  it.scopedLive("a resubmitted job is answered from storage: no URL is fetched twice", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.start
      const urls = Array.from({ length: 10 }, (_, i) => server.url(`/ok/${i}`)).concat(server.url("/status/503"))
      const options = { retries: 2, retryBase: "1 millis" } as const
      const first = yield* collect(urls, options)
      const requests = server.received.length
      expect(requests).toBe(10 + 3) // the 503 tried three times, then stored as final
      const second = yield* collect(urls, options)
      expect(server.received.length).toBe(requests)
      expect(byUrl(second)).toEqual(byUrl(first))
      // another job (other options) is new work
      yield* collect(urls, { ...options, retries: 0 })
      expect(server.received.length).toBe(requests + 11)
    }).pipe(Effect.provide(clusterLayer({ batches: 0, urls: 0 }, { batchSize: 4, batches: 2 }))))

  it.scopedLive("--job NAME resubmitted with other URLs: today's URLs are fetched, never answered with yesterday's outcomes", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.start
      const options = { retries: 0 } as const
      const yesterday = [server.url("/status/404"), server.url("/ok/1"), server.url("/status/500"), server.url("/ok/2")]
      const today = [server.url("/ok/7"), server.url("/status/503"), server.url("/ok/8"), server.url("/ok/9")]
      const first = yield* collect(yesterday, options)
      expect(byUrl(first).map((o) => o.url)).toEqual([...yesterday].sort())
      // same length, same name: every URL of today's list is asked of the server, and printed
      // under its own outcome
      const before = server.received.length
      const second = yield* collect(today, options)
      expect(server.received.slice(before).sort()).toEqual(["/ok/7", "/ok/8", "/ok/9", "/status/503"])
      expect(byUrl(second).map((o) => [o.url, "reason" in o ? o.status : o.status])).toEqual(
        [...today].sort().map((u) => [u, u.endsWith("/503") ? 503 : 200])
      )
      // a shorter list under the same name: fetched too, not a broken reply
      const shorter = yield* collect([server.url("/ok/5")], options)
      expect(shorter.map(printed)).toEqual([{ url: server.url("/ok/5"), status: 200, bytes: 4, attempts: 1 }])
      // and the same list again under the name is answered from storage
      const again = server.received.length
      expect(byUrl(yield* collect(today, options))).toEqual(byUrl(second))
      expect(server.received.length).toBe(again)
    }).pipe(Effect.provide(clusterLayer({ batches: 0, urls: 0 }, { job: "daily", batchSize: 2, batches: 2 }))))

  /** A cluster whose runner answers every batch with `answer` (a stored reply, a broken runner). */
  const answering = (answer: (payload: { readonly urls: ReadonlyArray<string>; readonly run: string }) => Effect.Effect<FetchBatch.BatchReply>) => {
    const runner = FetchBatch.FetchBatch.toLayer(
      Effect.succeed(FetchBatch.FetchBatch.of({ Fetch: (envelope) => answer(envelope.payload), Ping: () => Effect.succeed("fake") }))
    ).pipe(Layer.provideMerge(TestRunner.layer))
    return Layer.effect(UrlFetcher.UrlFetcher, FetchClusterClient.make({ batchSize: 2, reaskBase: "10 millis" })).pipe(Layer.provide(runner))
  }

  it.scopedLive.each([
    { name: "other URLs, as many", identity: (urls: ReadonlyArray<string>) => ({ count: urls.length, digest: FetchBatch.urlsDigest(urls.map((u) => `${u}?old`)) }) },
    { name: "fewer URLs", identity: (urls: ReadonlyArray<string>) => ({ count: urls.length - 1, digest: FetchBatch.urlsDigest(urls.slice(1)) }) },
    { name: "more URLs", identity: (urls: ReadonlyArray<string>) => ({ count: urls.length + 1, digest: FetchBatch.urlsDigest([...urls, "x"]) }) }
  ])("a reply for $name than its batch is refused: a clear defect, nothing printed under the wrong URL", ({ identity }) =>
    Effect.gen(function*() {
      const got: Array<FetchOutcome> = []
      const exit = yield* LeakCheck.verifyNone(
        fetchUrls(["http://127.0.0.1:1/a", "http://127.0.0.1:1/b"], { onOutcome: (o) => Effect.sync(() => got.push(o)) }).pipe(
          Effect.provide(answering(({ run, urls }) =>
            Effect.succeed(
              new FetchBatch.BatchReply({
                run,
                runner: "fake",
                outcomes: urls.map((_, i) => ({ _tag: "Fetched", i, status: 200, bytes: 1, durationMs: 1, attempts: 1 }) as const),
                ...identity(urls)
              })
            ))),
          Effect.timeout("10 seconds"),
          Effect.exit
        )
      )
      expect(got).toEqual([])
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain("answers other URLs")
    }))

  it.scopedLive("a batch interrupted on its runner again and again is asked again a bounded number of times, with a backoff, then fails", () =>
    Effect.gen(function*() {
      let asked = 0
      const start = Date.now()
      const exit = yield* LeakCheck.verifyNone(
        fetchUrls(["http://127.0.0.1:1/a"], {}).pipe(
          Effect.provide(answering(() => Effect.zipRight(Effect.sync(() => asked++), Effect.interrupt))),
          Effect.timeout("60 seconds"),
          Effect.exit
        )
      )
      expect(asked).toBe(FetchClusterClient.reaskLimit + 1)
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      const defect = Exit.isFailure(exit) ? Cause.dieOption(exit.cause) : undefined
      expect(defect !== undefined && defect._tag === "Some" && defect.value).toBeInstanceOf(FetchClusterClient.ClusterUnavailable)
      expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain("giving up")
      // the backoff: 10 + 20 + ... + 1280 ms between the asks, not a tight loop
      expect(Date.now() - start).toBeGreaterThan(2_000)
    }), { timeout: 30_000 })

  it.scopedLive("leaving the scope interrupts the batches on the runner (sockets close); a resubmit fetches what was cancelled", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.start
      const urls = [server.url("/ok/1"), server.url("/hang"), server.url("/ok/2"), server.url("/ok/3")]
      const options = { retries: 0, timeout: "1 second" } as const
      const first = yield* LeakCheck.verifyNone(Effect.scoped(Effect.gen(function*() {
        const fetcher = yield* UrlFetcher.UrlFetcher
        const out = yield* fetcher.fetch(urls, options)
        const got = yield* Chan.receive(out) // the batch without /hang
        // wait until /hang is in flight on the runner, then leave
        while (!server.received.includes("/hang")) yield* Effect.sleep("5 millis")
        return got
      })))
      expect(first._tag).toBe("Some")
      const deadline = Date.now() + 5_000
      while (!server.aborted.includes("/hang") && Date.now() < deadline) yield* Effect.sleep("5 millis")
      expect(server.aborted).toContain("/hang")
      // the second run: the batch the first run cancelled is asked again under a new generation
      const before = server.received.length
      // the same options: they are part of the batch keys, with or without a job name
      const second = yield* collect(urls, options)
      expect(byUrl(second).map((o) => "reason" in o ? o.reason : o.status)).toEqual(["Timeout", 200, 200, 200])
      // batch 0 (/ok/1, /hang) was cancelled and is fetched again; batch 1 comes from storage
      expect(server.received.slice(before).sort()).toEqual(["/hang", "/ok/1"])
    }).pipe(Effect.provide(clusterLayer({ batches: 0, urls: 0 }, { job: "cancel-then-resubmit", batchSize: 2, batches: 2 }))))

  it.scopedLive("a deadline cuts the batches on the runners; resubmitting the job fetches only what the deadline cut", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.start
      const urls = [server.url("/ok/1"), server.url("/ok/2"), server.url("/hang"), server.url("/ok/3")]
      const first = yield* LeakCheck.verifyNone(collect(urls, { retries: 0, timeout: "1 second", deadline: "400 millis" }))
      expect(first.map((o) => o.url).sort()).toEqual([server.url("/ok/1"), server.url("/ok/2"), server.url("/ok/3")])
      const deadline = Date.now() + 5_000
      while (!server.aborted.includes("/hang") && Date.now() < deadline) yield* Effect.sleep("5 millis")
      expect(server.aborted).toContain("/hang") // the runner gave up on it at the deadline
      const before = server.received.length
      const second = yield* collect(urls, { retries: 0, timeout: "1 second" }) // the deadline is not part of the key
      expect(byUrl(second).map((o) => "reason" in o ? o.reason : o.status)).toEqual(["Timeout", 200, 200, 200])
      expect(server.received.slice(before).sort()).toEqual(["/hang", "/ok/3"])
    }).pipe(Effect.provide(clusterLayer({ batches: 0, urls: 0 }, { job: "deadline-then-resubmit", batchSize: 2, batches: 2 }))))

  it.scopedLive("get: one URL through the cluster, a FetchError in the error channel", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.start
      const fetcher = yield* UrlFetcher.UrlFetcher
      const ok = yield* fetcher.get(server.url("/ok/9"))
      expect([ok.status, ok.bytes, ok.body.length]).toEqual([200, 4, 0])
      const err = yield* Effect.flip(fetcher.get(server.url("/status/404"), { retries: 3 }))
      expect([err._tag, err._tag === "FetchError" && err.reason, err._tag === "FetchError" && err.attempts]).toEqual(["FetchError", "Status", 1])
      const bad = yield* Effect.flip(fetcher.get(server.url("/ok/1"), { concurrency: 0 }))
      expect(bad._tag).toBe("InvalidFetchOptions")
    }).pipe(Effect.provide(clusterLayer({ batches: 0, urls: 0 }, {}))))

  it.scopedLive("a defect on the runner reaches the client as a defect, promptly: the entity is not restarted forever", () =>
    Effect.gen(function*() {
      const dying = Layer.effect(
        UrlFetcher.UrlFetcher,
        Effect.map(UrlFetcher.UrlFetcher, (f) => UrlFetcher.UrlFetcher.make({ ...f, fetch: () => Effect.dieMessage("boom in the engine") }))
      ).pipe(Layer.provide(UrlFetcher.layer))
      const runner = FetchRunner.handlers("dying-runner").pipe(Layer.provide(dying), Layer.provideMerge(TestRunner.layer))
      const cluster = Layer.effect(UrlFetcher.UrlFetcher, FetchClusterClient.make({ batchSize: 2 })).pipe(Layer.provide(runner))
      // fetchUrls, as the CLI runs it: it joins the batch, so the batch's death reaches it
      const exit = yield* LeakCheck.verifyNone(fetchUrls(["http://127.0.0.1:1/a", "http://127.0.0.1:1/b"], {}).pipe(
        Effect.provide(cluster),
        Effect.timeout("10 seconds"),
        Effect.exit
      ))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain("boom in the engine")
    }))

  it.scopedLive("URLs from a Stream or an AsyncIterable are read as batches form: one outcome per URL, as fetchUrls counts them", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.start
      const urls = Array.from({ length: 11 }, (_, i) => server.url(`/ok/${i}`))
      async function* lines() {
        for (const u of urls) yield u
      }
      for (const source of [Stream.fromIterable(urls), lines()]) {
        const got: Array<string> = []
        const result = yield* LeakCheck.verifyNone(fetchUrls(source, { onOutcome: (o) => Effect.sync(() => got.push(o.url)) }))
        expect(got.sort()).toEqual([...urls].sort())
        expect(result).toMatchObject({ deadline: false, stoppedEarly: false, summary: { total: 11, succeeded: 11, cancelled: 0 } })
      }
    }).pipe(Effect.provide(clusterLayer({ batches: 0, urls: 0 }, { batchSize: 3, batches: 2 }))))

  it.scopedLive("an endless source with a deadline: read no further than the deadline, and the result says the deadline cut it", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.start
      let pulled = 0
      const endless = Stream.iterate(0, (n) => n + 1).pipe(Stream.map((i) => {
        pulled++
        return server.url(`/ok/${i}`)
      }))
      const result = yield* LeakCheck.verifyNone(fetchUrls(endless, { deadline: "400 millis" }).pipe(Effect.timeout("10 seconds")))
      expect(result.deadline).toBe(true)
      expect(result.summary.succeeded).toBeGreaterThan(0)
      expect(result.summary.total).toBe(result.summary.succeeded + result.summary.cancelled)
      const after = pulled
      yield* Effect.sleep("100 millis")
      expect(pulled).toBe(after) // nothing reads the source any more
    }).pipe(Effect.provide(clusterLayer({ batches: 0, urls: 0 }, { batchSize: 5, batches: 2 }))))

  it.scopedLive("a source that stalls (stdin nobody writes to): the job ends at the deadline with what it had", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.start
      async function* stalls() {
        yield server.url("/ok/1")
        yield server.url("/ok/2")
        yield* [server.url("/ok/3")]
        yield await new Promise<string>(() => {}) // never
      }
      const start = Date.now()
      const result = yield* LeakCheck.verifyNone(fetchUrls(stalls(), { deadline: "500 millis" }))
      // the URLs pulled before the stall made a last, partial batch when the deadline ended the
      // source, too late to be sent: all three are counted, none has an outcome
      expect(result.deadline).toBe(true)
      expect(result.summary.total).toBe(3)
      expect(result.summary.cancelled).toBe(3)
      expect(Date.now() - start).toBeLessThan(2_000) // not the client's deadline + 2 s
    }).pipe(Effect.provide(clusterLayer({ batches: 0, urls: 0 }, { batchSize: 5, batches: 2 }))))

  it.scopedLive("a Stream source whose reader stalls (the CLI's --file - on an open stdin): deadline and interrupt end the job at once; the reader ends when its input does", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.start
      // stdin as the CLI reads it: chunks of text through InputLines, then nothing, until `end`
      const input = (lines: number) => {
        let end: () => void = () => {}
        const ended = new Promise<void>((resolve) => (end = resolve))
        async function* chunks(): AsyncGenerator<string> {
          if (lines > 0) yield Array.from({ length: lines }, (_, i) => server.url(`/ok/${i}`)).join("\n") + "\n"
          await ended
        }
        return { source: InputLines.fromChunks(chunks(), "stdin"), end: () => end() }
      }
      for (const lines of [0, 3, 6]) {
        const withDeadline = input(lines)
        const start = Date.now()
        const result = yield* fetchUrls(withDeadline.source, { deadline: "500 millis" }).pipe(Effect.timeout("3 seconds"))
        expect(result.deadline).toBe(true)
        expect(Date.now() - start).toBeLessThan(2_000)
        withDeadline.end()

        const interrupted = input(lines)
        const reached = yield* Deferred.make<void>()
        const exit = yield* LeakCheck.verifyNone(Effect.gen(function*() {
          const fiber = yield* Effect.fork(fetchUrls(interrupted.source, {
            onOutcome: () => Deferred.succeed(reached, undefined)
          }))
          if (lines >= 5) yield* Deferred.await(reached)
          else yield* Effect.sleep("100 millis") // nothing to wait for: no batch forms
          const exit = yield* Fiber.interrupt(fiber).pipe(Effect.timeout("2 seconds"))
          interrupted.end() // the abandoned reader finishes once stdin ends: no fiber left
          return exit
        }))
        expect(Exit.isInterrupted(exit)).toBe(true)
      }
    }).pipe(Effect.provide(clusterLayer({ batches: 0, urls: 0 }, { batchSize: 5, batches: 2 }))))

  it.scopedLive("interrupting a job whose source stalls (Ctrl-C on stdin) ends it at once, wherever the source stalls", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.start
      // before the first URL, mid-batch, at a batch boundary, after one whole batch
      for (const stallAfter of [0, 1, 3, 5, 6]) {
        const reached = yield* Deferred.make<void>()
        const got: Array<string> = []
        async function* stalls() {
          for (let i = 0; i < stallAfter; i++) yield server.url(`/ok/${i}`)
          Deferred.unsafeDone(reached, Exit.void)
          yield await new Promise<string>(() => {}) // never
        }
        const job = fetchUrls(stalls(), { onOutcome: (o) => Effect.sync(() => got.push(o.url)) })
        const exit = yield* LeakCheck.verifyNone(Effect.gen(function*() {
          const fiber = yield* Effect.fork(job)
          yield* Deferred.await(reached)
          // the one full batch (stallAfter 5, 6) is fetched before the interrupt
          if (stallAfter >= 5) yield* Effect.repeat(Effect.sync(() => got.length), { until: (n) => n >= 5, schedule: Schedule.spaced("10 millis") })
          return yield* Fiber.interrupt(fiber)
        }).pipe(Effect.timeout("3 seconds")))
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(got).toHaveLength(stallAfter >= 5 ? 5 : 0)
      }
    }).pipe(Effect.provide(clusterLayer({ batches: 0, urls: 0 }, { batchSize: 5, batches: 2 }))))

  it.live.prop(
    "any batch size and window: every URL, repeats included, gets exactly one outcome",
    [fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 4 })],
    ([ids, batchSize, batches]) =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* FaultServer.start
        const urls = ids.map((i) => i === 0 ? "bad url" : server.url(i % 5 === 0 ? `/status/503` : `/ok/${i}`))
        const got = yield* collect(urls, { retries: 0 }).pipe(
          Effect.provide(clusterLayer({ batches: 0, urls: 0 }, { batchSize, batches, job: `prop-${Math.random()}` }))
        )
        expect(got.map((o) => o.url).sort()).toEqual([...urls].sort())
      })),
    { fastCheck: { numRuns: 8 } }
  )
})

describe("FetchBatch and the job id (pure)", () => {
  // Every reason, listed independently of the wire: adding one to FetchErrorReason fails to compile
  // here until it is listed, and then fails the properties below until the wire carries it.
  const everyReason = Object.keys(
    {
      InvalidUrl: true,
      Transport: true,
      Status: true,
      Timeout: true,
      BodyTooLarge: true,
      InvalidRedirect: true,
      Output: true,
      Internal: true
    } satisfies Record<FetchErrorReason, true>
  ) as ReadonlyArray<FetchErrorReason>

  // Through the wire's own codec (what is stored in PostgreSQL and sent to the client), for every
  // reason FetchOutcome has: a reason missing from the wire's literal fails to encode.
  const roundTrip = (w: FetchBatch.WireOutcome) =>
    Schema.decodeUnknownSync(FetchBatch.WireOutcome)(JSON.parse(JSON.stringify(Schema.encodeSync(FetchBatch.WireOutcome)(w))))

  it.prop(
    "a Fetched survives the wire as the CLI's discard mode gives it: bytes, no body",
    [fc.integer({ min: 0, max: 5_000_000 }), fc.integer({ min: 200, max: 299 }), fc.integer({ min: 1, max: 9 })],
    ([bytes, status, attempts]) => {
      const f = new Fetched({ url: "u", status, body: new Uint8Array(0), bytes, durationMs: 12.5, attempts })
      const back = FetchBatch.fromWire("u", roundTrip(FetchBatch.toWire(3, f)))
      expect(back).toEqual(f)
      expect(back._tag === "Fetched" && back.body.length).toBe(0)
    }
  )

  it.prop(
    "every FetchError reason survives the wire, with its status and detail",
    [fc.constantFrom(...everyReason), fc.option(fc.integer({ min: 100, max: 599 }), { nil: undefined }), fc.string(), fc.integer({ min: 1, max: 9 })],
    ([reason, status, detail, attempts]) => {
      const e = new FetchError({ url: "u", reason, detail, attempts, ...(status === undefined ? {} : { status }) })
      const back = FetchBatch.fromWire("u", roundTrip(FetchBatch.toWire(1, e)))
      expect([back._tag, { ...back }, (back as FetchError).message]).toEqual(["FetchError", { ...e }, e.message])
    }
  )

  it.prop(
    "redact: no database URL's password reaches a message, whatever its scheme or a missing '//'",
    [
      fc.constantFrom("postgres", "postgresql", "postgress", "postgre", "mysql", "http", "u", ""),
      fc.constantFrom("://", ":/", ":", ""),
      fc.stringMatching(/^[A-Za-z0-9]{6,12}$/),
      fc.constantFrom("h", "127.0.0.1:5432", "db.example")
    ],
    ([scheme, sep, secret, host]) => {
      const pw = `Pw${secret}`
      for (const url of [`${scheme}${sep}user:${pw}@${host}/db`, `${scheme}${sep}user:${pw}@x@${host}/db`]) {
        expect(ClusterStack.redact(url)).not.toContain(pw)
        const bad = ClusterStack.checkUrl(url).pipe(Effect.flip, Effect.map((e) => e.message), Effect.option, Effect.runSync)
        if (bad._tag === "Some") expect(bad.value).not.toContain(pw)
      }
    }
  )

  it.effect("the pg queue-warning filter lasts as long as its scope: the process's own 'warning' listeners come back", () =>
    Effect.gen(function*() {
      const mine = (_: Error) => {}
      process.on("warning", mine)
      const before = process.listeners("warning")
      yield* Effect.scoped(Effect.gen(function*() {
        yield* ClusterStack.quietPgQueueWarning
        expect(process.listeners("warning")).not.toContain(mine)
        yield* Effect.scoped(ClusterStack.quietPgQueueWarning) // nested: the outer filter stays
        expect(process.listeners("warning")).toHaveLength(1)
      }))
      expect(process.listeners("warning")).toEqual(before)
      process.removeListener("warning", mine)
    }))

  it("the wire's reasons are exactly FetchOutcome's", () => {
    expect([...FetchBatch.reasons].sort()).toEqual([...everyReason].sort())
  })

  it("batch keys depend on the URLs so far and the options that shape outcomes, not on concurrency or the deadline", () => {
    const o = Either.getOrThrow(makeOptions({}))
    const keys = (urls: ReadonlyArray<ReadonlyArray<string>>, options = o, size = 100) => {
      const next = FetchClusterClient.jobKeys(options, size)
      return urls.map(next)
    }
    const ab = keys([["a", "b"], ["c"]])
    expect(new Set(ab).size).toBe(2)
    expect(keys([["a", "b"], ["c"]], { ...o, concurrency: 99, deadline: Duration.seconds(3) })).toEqual(ab)
    // a later batch's key depends on every URL before it; an earlier one's does not see later ones
    const ba = keys([["b", "a"], ["c"]])
    expect(ba[0]).not.toBe(ab[0])
    expect(ba[1]).not.toBe(ab[1])
    expect(keys([["a", "b"], ["d"]])[0]).toBe(ab[0])
    expect(keys([["a", "b"]], { ...o, retries: 0 })[0]).not.toBe(ab[0])
    expect(keys([["a", "b"]], o, 50)[0]).not.toBe(ab[0])
    expect(keys([["ab"]])[0]).not.toBe(ab[0])
    // --job NAME only namespaces the keys: the URLs are still hashed in
    const mine = [["a", "b"], ["c"]].map(FetchClusterClient.jobKeys(o, 100, "mine"))
    expect(mine).toEqual(ab.map((k) => k.replace(/^j-/, "mine-")))
    expect([["a", "x"], ["c"]].map(FetchClusterClient.jobKeys(o, 100, "mine"))[0]).not.toBe(mine[0])
  })

  it.prop(
    "batch keys: equal URL sequences give equal keys, and any change gives new keys from its batch on",
    [fc.array(fc.string({ maxLength: 4 }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 7 }), fc.nat()],
    ([urls, size, at]) => {
      const o = Either.getOrThrow(makeOptions({}))
      const cut = (xs: ReadonlyArray<string>) => Array.from({ length: Math.ceil(xs.length / size) }, (_, i) => xs.slice(i * size, (i + 1) * size))
      const keys = (xs: ReadonlyArray<string>) => cut(xs).map(FetchClusterClient.jobKeys(o, size))
      expect(keys(urls)).toEqual(keys([...urls]))
      // under a job name too: a name never makes two different URL lists share a key
      const named = (xs: ReadonlyArray<string>) => cut(xs).map(FetchClusterClient.jobKeys(o, size, "daily"))
      const i = at % urls.length
      const changed = urls.map((u, j) => (j === i ? `${u}x` : u))
      const [before, after] = [keys(urls), keys(changed)]
      const b = Math.floor(i / size)
      expect(after.slice(0, b)).toEqual(before.slice(0, b))
      after.slice(b).forEach((k, j) => expect(k).not.toBe(before[b + j]))
      named(changed).slice(b).forEach((k, j) => expect(k).not.toBe(named(urls)[b + j]))
    }
  )
})
