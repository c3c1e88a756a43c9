/**
 * The scale-out fetch for real: PostgreSQL, two runner processes of the bundled CLI started at
 * the same moment on a fresh database, a client, and a runner killed with SIGKILL mid-job.
 *
 * PostgreSQL comes from scripts/cluster-pg.sh (installed by .ci/run where missing). If it cannot be
 * started, these tests fail with the script's message: they never pass without a database.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as Chan from "../../src/domain/Chan.js"
import type { FetchOutcome } from "../../src/domain/FetchOutcome.js"
import * as LeakCheck from "../../src/domain/LeakCheck.js"
import * as FetchClusterClient from "../../src/services/FetchClusterClient.js"
import * as UrlFetcher from "../../src/services/UrlFetcher.js"
import * as Harness from "../support/ClusterHarness.js"

/** A loopback server that counts requests per path and answers after `?ms=` milliseconds. */
const countingServer = () =>
  new Promise<{ url: (path: string) => string; hits: Map<string, number>; close: () => Promise<void> }>((resolve) => {
    const hits = new Map<string, number>()
    const server = http.createServer((req, res) => {
      const u = new URL(req.url ?? "/", "http://x")
      hits.set(u.pathname, (hits.get(u.pathname) ?? 0) + 1)
      const status = u.pathname.startsWith("/fail/") ? 500 : 200
      setTimeout(() => res.writeHead(status).end(`${u.pathname}\n`), Number(u.searchParams.get("ms") ?? "0"))
    })
    server.keepAliveTimeout = 60_000
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resolve({
        url: (path) => `http://127.0.0.1:${port}${path}`,
        hits,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })

const dbName = `leakproof_it_${process.pid}`
let pg: Harness.Postgres | undefined
let db = ""
let runners: Array<Harness.Proc> = []

beforeAll(async () => {
  pg = await Harness.startPostgres()
  db = await Harness.createDatabase(pg.adminUrl, dbName)
  // Both at once on a fresh database: creating the cluster's tables must not race.
  const ports = [await Harness.freePort(), await Harness.freePort()]
  runners = await Promise.all(ports.map((port) => Harness.startRunner(port, db)))
  await Harness.waitForShards(db, 2)
}, 180_000)

afterAll(async () => {
  await Promise.all(runners.map((r) => Harness.stop(r, "SIGKILL")))
  if (pg !== undefined) {
    await Harness.dropDatabase(pg.adminUrl, dbName).catch(() => undefined)
    if (pg.startedHere) await Harness.stopPostgres()
  }
}, 60_000)

describe("fetch on two runner processes over PostgreSQL", () => {
  it.live("a runner killed mid-job: every URL has exactly one outcome, none lost, duplicates bounded, shards move within 10 s, no fiber left", () =>
    Effect.gen(function*() {
      const server = yield* Effect.promise(countingServer)
      const n = 1200
      const batchSize = 40
      const batches = 6
      const urls = Array.from({ length: n }, (_, i) => server.url(i % 50 === 7 ? `/fail/${i}` : `/ok/${i}?ms=${10 + (i % 5) * 10}`))
      const [victim, survivor] = runners as [Harness.Proc, Harness.Proc]
      const client = FetchClusterClient.layer(db, { batchSize, batches })

      // Every fiber the client starts (its job, its cluster member, its connections to the runners)
      // must be gone once the client is released: nothing outlives it.
      const result = yield* LeakCheck.verifyNone(Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(client)
        const fetcher = (yield* Effect.provide(UrlFetcher.UrlFetcher, context))
        const received: Array<FetchOutcome> = []
        let killedAt = 0
        let failoverMs = Number.NaN
        const job = Effect.scoped(Effect.gen(function*() {
          const out = yield* fetcher.fetch(urls, { retries: 0, concurrency: 8, timeout: "10 seconds" })
          yield* Chan.forEach(out, (o) =>
            Effect.gen(function*() {
              received.push(o)
              if (received.length === Math.floor(n / 4)) {
                victim.child.kill("SIGKILL")
                killedAt = performance.now()
                // measured from outside the job, so it does not hold the job back
                yield* Effect.forkDaemon(Effect.promise(async () => {
                  await Harness.waitForShards(db, 1, 20_000)
                  failoverMs = performance.now() - killedAt
                }))
              }
            }))
        }))
        yield* job
        // the shards have moved once the survivor holds all 300
        const until = performance.now() + 20_000
        while (Number.isNaN(failoverMs) && performance.now() < until) yield* Effect.sleep("50 millis")
        return { received, failoverMs }
      })), { within: "10 seconds" })

      const { failoverMs, received } = result
      const perUrl = new Map<string, number>()
      for (const o of received) perUrl.set(o.url, (perUrl.get(o.url) ?? 0) + 1)
      const lost = urls.filter((u) => !perUrl.has(u))
      expect(lost).toEqual([])
      expect([...perUrl.values()].every((c) => c === 1)).toBe(true)
      expect(received).toHaveLength(n)
      expect(received.filter((o) => o._tag === "FetchError").map((o) => o.url).sort()).toEqual(
        urls.filter((u) => u.includes("/fail/")).sort()
      )
      // every URL reached the server; the ones reached twice were in flight on the killed runner
      const paths = urls.map((u) => new URL(u).pathname)
      expect(paths.every((p) => (server.hits.get(p) ?? 0) >= 1)).toBe(true)
      const twice = paths.filter((p) => (server.hits.get(p) ?? 0) > 1).length
      expect(twice).toBeLessThanOrEqual(batches * batchSize)
      expect(failoverMs).toBeLessThan(10_000)
      yield* Effect.promise(server.close)

      // the survivor shuts down gracefully; the killed one died by SIGKILL
      expect(yield* Effect.promise(() => Harness.stop(survivor, "SIGTERM"))).toBe(0)
      expect(survivor.stdout()).toMatch(/stopped after \d+ batches/)
      expect(yield* Effect.promise(() => victim.exited)).toBe(128 + 9)
      console.log(`cluster kill test: ${n} URLs, ${twice} fetched twice, 0 lost, failover ${Math.round(failoverMs)} ms`)
    }), 120_000)
})
