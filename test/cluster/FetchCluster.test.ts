/**
 * The scale-out fetch on the in-memory cluster (`TestRunner`: in-memory message and runner
 * storage, one runner in this process, messages still serialized as on the wire): no database.
 */
import * as TestRunner from "@effect/cluster/TestRunner"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as Chan from "../../src/domain/Chan.js"
import type { FetchOutcome } from "../../src/domain/FetchOutcome.js"
import * as LeakCheck from "../../src/domain/LeakCheck.js"
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
    ? { url: o.url, status: o.status, bytes: o.body.length, attempts: o.attempts }
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
        "not-a-url",
        server.url("/ok/0") // twice in one job
      ]
      const options = { retries: 1, retryBase: "1 millis", timeout: "300 millis", maxBodyBytes: 100_000 } as const
      const stats: FetchRunner.Stats = { batches: 0, urls: 0 }
      const remote = yield* LeakCheck.verifyNone(collect(urls, options)).pipe(
        Effect.provide(clusterLayer(stats, { batchSize: 3, batches: 2 }))
      )
      const local = yield* collect(urls, { ...options, retries: 1 }).pipe(Effect.provide(UrlFetcher.layer))
      // flaky/x succeeded on its retry the first time; locally it is a first success
      const strip = (xs: ReadonlyArray<FetchOutcome>) =>
        byUrl(xs).map((o) => o.url.includes("/flaky/") ? { ...o, attempts: 0 } : o)
      expect(remote).toHaveLength(urls.length)
      expect(strip(remote)).toEqual(strip(local))
      expect(stats.batches).toBe(5)
      expect(byUrl(remote).find((o) => o.url.endsWith("/status/500"))).toMatchObject({ reason: "Status", status: 500, attempts: 2 })
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

  it.scopedLive("leaving the scope interrupts the batches on the runner (sockets close); a resubmit fetches what was cancelled", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.start
      const urls = [server.url("/ok/1"), server.url("/hang"), server.url("/ok/2"), server.url("/ok/3")]
      const options = { retries: 0, timeout: "5 seconds" } as const
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
      const second = yield* collect(urls, { ...options, timeout: "200 millis" })
      expect(byUrl(second).map((o) => "reason" in o ? o.reason : o.status)).toEqual(["Timeout", 200, 200, 200])
      // batch 0 (/ok/1, /hang) was cancelled and is fetched again; batch 1 comes from storage
      expect(server.received.slice(before).sort()).toEqual(["/hang", "/ok/1"])
    }).pipe(Effect.provide(clusterLayer({ batches: 0, urls: 0 }, { job: "cancel-then-resubmit", batchSize: 2, batches: 2 }))))
})
