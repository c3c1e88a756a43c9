import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import * as Chan from "../../src/domain/Chan.js"
import type { FetchError, FetchOutcome } from "../../src/domain/FetchOutcome.js"
import * as LeakCheck from "../../src/domain/LeakCheck.js"
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
