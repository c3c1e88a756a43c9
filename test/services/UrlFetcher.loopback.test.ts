import { describe, expect, it } from "../../src/vitest.js"
import { Effect, Exit, Fiber, Option, Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Chan from "../../src/domain/Chan.js"
import type { FetchError, FetchOutcome } from "../../src/domain/FetchOutcome.js"
import * as LeakCheck from "../../src/domain/LeakCheck.js"
import * as BodyFile from "../../src/services/BodyFile.js"
import * as UrlFetcher from "../../src/services/UrlFetcher.js"
import * as FaultServer from "../support/FaultServer.js"

/** Waits (real time, bounded) until `check` holds: the server sees sockets close asynchronously. */
const eventually = (check: () => boolean, within = 2_000) =>
  Effect.gen(function*() {
    const start = Date.now()
    while (!check() && Date.now() - start < within) yield* Effect.sleep("5 millis")
    expect(check()).toBe(true)
  })

const failureOf = (url: string, options: Parameters<UrlFetcher.UrlFetcher["get"]>[1]) =>
  Effect.flatMap(UrlFetcher.UrlFetcher, (f) => Effect.flip(f.get(url, options))) as Effect.Effect<FetchError, never, UrlFetcher.UrlFetcher>

const fast = { retries: 0, timeout: "2 seconds" } as const

describe("UrlFetcher over real loopback sockets (fault server)", () => {
  it.scopedLive("each fault gives its typed error, and nothing leaks", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.start
      const closed = yield* FaultServer.closedPortUrl
      const cases = yield* LeakCheck.verifyNone(Effect.all({
        reset: failureOf(server.url("/reset"), fast),
        hang: failureOf(server.url("/hang"), { ...fast, timeout: "150 millis" }),
        drip: failureOf(server.url("/drip?ms=20"), { ...fast, timeout: "150 millis" }),
        status500: failureOf(server.url("/status/500"), { retries: 1, retryBase: "1 millis" }),
        big: failureOf(server.url("/big?bytes=12582912"), { ...fast, maxBodyBytes: 1024 * 1024 }),
        declaredBig: failureOf(server.url("/declared-big"), fast),
        redirectLoop: failureOf(server.url("/redirect-loop"), fast),
        closedPort: failureOf(closed, fast)
      }, { concurrency: "unbounded" }))
      expect(Object.fromEntries(Object.entries(cases).map(([k, e]) => [k, [e.reason, e.status]]))).toEqual({
        reset: ["Transport", undefined],
        hang: ["Timeout", undefined],
        drip: ["Timeout", undefined],
        status500: ["Status", 500],
        big: ["BodyTooLarge", undefined],
        declaredBig: ["BodyTooLarge", undefined],
        redirectLoop: ["Status", 302],
        closedPort: ["Transport", undefined]
      })
      expect(cases.status500.attempts).toBe(2)
      // the client hung up on each request it gave up on
      yield* eventually(() => ["/hang", "/drip", "/big", "/declared-big"].every((p) => server.aborted.includes(p)))
    }).pipe(Effect.provide(UrlFetcher.layer)))

  it.scopedLive("a transient 503 is retried until it succeeds", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.start
      const fetcher = yield* UrlFetcher.UrlFetcher
      const ok = yield* LeakCheck.verifyNone(fetcher.get(server.url("/flaky/a?fail=2"), { retryBase: "1 millis" }))
      expect([ok.status, ok.attempts, new TextDecoder().decode(ok.body)]).toEqual([200, 3, "ok a after 2"])
    }).pipe(Effect.provide(UrlFetcher.layer)))

  it.scopedLive("leaving the scope cancels every request in flight: the server sees each socket close", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.start
      const fetcher = yield* UrlFetcher.UrlFetcher
      const outcomes: Array<FetchOutcome> = []
      yield* LeakCheck.verifyNone(Effect.gen(function*() {
        const scope = yield* Scope.make()
        const urls = [server.url("/ok/1"), ...Array.from({ length: 10 }, () => server.url("/hang"))]
        const out = yield* fetcher.fetch(urls, { concurrency: 11 }).pipe(Scope.extend(scope))
        const first = yield* Chan.receive(out)
        if (first._tag === "Some") outcomes.push(first.value)
        yield* eventually(() => server.inFlight() === 10)
        yield* Scope.close(scope, Exit.void)
        yield* Chan.forEach(out, (o) => Effect.sync(() => outcomes.push(o)))
      }))
      expect(outcomes.map((o) => o._tag)).toEqual(["Fetched"])
      yield* eventually(() => server.aborted.filter((p) => p === "/hang").length === 10 && server.inFlight() === 0)
    }).pipe(Effect.provide(UrlFetcher.layer)))
})

describe("UrlFetcher over real loopback sockets: redirects, cancellation, files", () => {
  it.scopedLive("a malformed Location, a 304, a 302 without Location and an oversized 500 are each their URL's own outcome; the rest is fetched", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.start
      const fetcher = yield* UrlFetcher.UrlFetcher
      const urls = {
        malformed: server.url(`/location?to=${encodeURIComponent("http://[::1:bad")}`),
        notModified: server.url("/location?status=304"),
        noLocation: server.url("/location?status=302"),
        big500: server.url("/declared-status/500"),
        hops: server.url("/hops/3"),
        ok: server.url("/ok/1")
      }
      const outcomes = yield* LeakCheck.verifyNone(Effect.scoped(Effect.gen(function*() {
        const out = yield* fetcher.fetch(Object.values(urls), { retries: 0, maxBodyBytes: 1024 * 1024, timeout: "2 seconds" })
        const all: Array<FetchOutcome> = []
        yield* Chan.forEach(out, (o) => Effect.sync(() => all.push(o)))
        return all
      })))
      const byUrl = Object.fromEntries(outcomes.map((o) => [o.url, o._tag === "Fetched" ? `ok ${o.status}` : `${o.reason}: ${o.detail}`]))
      expect(byUrl).toEqual({
        [urls.malformed]: "InvalidRedirect: malformed Location 'http://[::1:bad'",
        [urls.notModified]: "Status: HTTP 304",
        [urls.noLocation]: "Status: HTTP 302",
        [urls.big500]: "Status: HTTP 500",
        [urls.hops]: "ok 200",
        [urls.ok]: "ok 200"
      })
      expect(server.received.filter((p) => p.startsWith("/hops/"))).toEqual(["/hops/3", "/hops/2", "/hops/1", "/hops/0"])
    }).pipe(Effect.provide(UrlFetcher.layer)))

  it.scopedLive("more URLs than the bound, a 20 s timeout, nobody answering: --take 1 returns at once and the server sees every started request aborted", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.start
      const fetcher = yield* UrlFetcher.UrlFetcher
      const urls = [server.url("/ok/1"), ...Array.from({ length: 8 }, () => server.url("/hang"))]
      const started = Date.now()
      const first = yield* LeakCheck.verifyNone(Effect.scoped(Effect.gen(function*() {
        const out = yield* fetcher.fetch(urls, { concurrency: 3, timeout: "20 seconds", retries: 0 })
        const first = yield* Chan.receive(out)
        yield* eventually(() => server.inFlight() === 3)
        return first
      })))
      expect(Date.now() - started).toBeLessThan(5_000)
      expect(Option.map(first, (o) => o._tag)).toEqual(Option.some("Fetched"))
      yield* eventually(() => server.inFlight() === 0 && server.aborted.filter((p) => p === "/hang").length === 3)
    }).pipe(Effect.provide(UrlFetcher.layer)))

  it.scopedLive("interrupting get closes its socket", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.start
      const fetcher = yield* UrlFetcher.UrlFetcher
      const f = yield* Effect.fork(fetcher.get(server.url("/hang"), { timeout: "20 seconds" }))
      yield* eventually(() => server.inFlight() === 1)
      yield* Fiber.interrupt(f)
      yield* eventually(() => server.inFlight() === 0 && server.aborted.includes("/hang"))
    }).pipe(Effect.provide(UrlFetcher.layer)))

  it.scopedLive("body: { dir } streams a 3 MiB body to its file; an oversized or cut-off one leaves no file", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.start
      const fetcher = yield* UrlFetcher.UrlFetcher
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "leakproof-loopback-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      const big = server.url(`/bytes/${3 * 1024 * 1024}`)
      const tooBig = server.url("/big?bytes=12582912")
      const reset = server.url("/reset")
      const outcomes = yield* LeakCheck.verifyNone(Effect.scoped(Effect.gen(function*() {
        const out = yield* fetcher.fetch([big, tooBig, reset], { body: { dir }, maxBodyBytes: 4 * 1024 * 1024, retries: 0 })
        const all: Array<FetchOutcome> = []
        yield* Chan.forEach(out, (o) => Effect.sync(() => all.push(o)))
        return all
      })))
      const byUrl = Object.fromEntries(outcomes.map((o) => [o.url, o._tag === "Fetched" ? `${o.bytes} ${o.file}` : o.reason]))
      expect(byUrl).toEqual({
        [big]: `${3 * 1024 * 1024} ${path.join(dir, BodyFile.nameFor(big))}`,
        [tooBig]: "BodyTooLarge",
        [reset]: "Transport"
      })
      expect(fs.readdirSync(dir)).toEqual([BodyFile.nameFor(big)])
      const content = fs.readFileSync(path.join(dir, BodyFile.nameFor(big)))
      expect([content.length, content.every((b) => b === 98)]).toEqual([3 * 1024 * 1024, true])
    }).pipe(Effect.provide(UrlFetcher.layer)))
})

describe("UrlFetcher over real loopback sockets: connections reused across batches, cancel still at once", () => {
  const drainAll = (out: Chan.RecvChan<FetchOutcome>) =>
    Effect.gen(function*() {
      const all: Array<FetchOutcome> = []
      yield* Chan.forEach(out, (o) => Effect.sync(() => all.push(o)))
      return all
    })

  it.scopedLive("sequential batches reuse the keep-alive connections of the batches before them", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.start
      const fetcher = yield* UrlFetcher.UrlFetcher
      const batch = (n: number) =>
        Effect.scoped(Effect.flatMap(
          fetcher.fetch(Array.from({ length: 9 }, (_, i) => server.url(`/ok/${n}-${i}`)), { concurrency: 3, retries: 0 }),
          drainAll
        ))
      const first = yield* LeakCheck.verifyNone(batch(1))
      const opened = server.connections()
      expect(first.filter((o) => o._tag === "Fetched")).toHaveLength(9)
      expect(opened).toBeGreaterThan(0)
      expect(opened).toBeLessThanOrEqual(3) // the batch's bound: at most one connection per request in flight
      for (let n = 2; n <= 4; n++) {
        const again = yield* LeakCheck.verifyNone(batch(n))
        expect(again.filter((o) => o._tag === "Fetched")).toHaveLength(9)
      }
      expect(server.connections()).toBe(opened)
    }).pipe(Effect.provide(UrlFetcher.layer)))

  it.scopedLive("a batch on reused connections, cancelled with every request in flight, closes every socket at once", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.start
      const fetcher = yield* UrlFetcher.UrlFetcher
      yield* Effect.scoped(Effect.flatMap(fetcher.fetch([1, 2, 3, 4].map((i) => server.url(`/ok/${i}`)), { concurrency: 4 }), drainAll))
      const opened = server.connections()
      yield* LeakCheck.verifyNone(Effect.gen(function*() {
        const scope = yield* Scope.make()
        yield* fetcher.fetch([1, 2, 3, 4].map(() => server.url("/hang")), { concurrency: 4, timeout: "20 seconds" }).pipe(Scope.extend(scope))
        yield* eventually(() => server.inFlight() === 4)
        expect(server.connections()).toBe(opened) // the hanging requests went out on the kept connections
        yield* Scope.close(scope, Exit.void)
      }))
      yield* eventually(() => server.inFlight() === 0 && server.openSockets() === 0 && server.aborted.filter((p) => p === "/hang").length === 4)
      // and the fetcher goes on: the next batch opens fresh connections
      const after = yield* Effect.scoped(Effect.flatMap(fetcher.fetch([server.url("/ok/5")]), drainAll))
      expect(after.map((o) => o._tag)).toEqual(["Fetched"])
    }).pipe(Effect.provide(UrlFetcher.layer)))
})

describe("this file's tests are leak-checked", () => {
  it.effect("(sentinel) an Effect test here runs inside LeakCheck.verifyNone (leakproof/vitest's it)", () =>
    Effect.map(LeakCheck.isChecked, (checked) => expect(checked).toBe(true)))
})
