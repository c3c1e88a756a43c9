/**
 * The scale-out fetch for real: PostgreSQL, two runner processes of the bundled CLI started at
 * the same moment on a fresh database, a client, and a runner killed with SIGKILL mid-job.
 *
 * PostgreSQL comes from scripts/cluster-pg.sh (installed by .ci/run where missing). If it cannot be
 * started, these tests fail with the script's message: they never pass without a database.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { spawn } from "node:child_process"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as Chan from "../../src/domain/Chan.js"
import type { FetchOutcome } from "../../src/domain/FetchOutcome.js"
import * as LeakCheck from "../../src/domain/LeakCheck.js"
import * as FetchClusterClient from "../../src/services/FetchClusterClient.js"
import * as UrlFetcher from "../../src/services/UrlFetcher.js"
import * as Harness from "../support/ClusterHarness.js"
import { bundle, runCli } from "../support/cli.js"

interface CountingServer {
  readonly url: (path: string) => string
  /** Requests received per path. */
  readonly hits: Map<string, number>
  /** Paths whose client went away before the answer. */
  readonly aborted: Array<string>
  readonly close: () => Promise<void>
}

/**
 * A loopback server that counts requests per path: `/ok/*` answers 200 after `?ms=` milliseconds,
 * `/fail/*` 500, `/hang/*` never.
 */
const countingServer = () =>
  new Promise<CountingServer>((resolve) => {
    const hits = new Map<string, number>()
    const aborted: Array<string> = []
    const server = http.createServer((req, res) => {
      const u = new URL(req.url ?? "/", "http://x")
      hits.set(u.pathname, (hits.get(u.pathname) ?? 0) + 1)
      res.on("close", () => {
        if (!res.writableFinished) aborted.push(u.pathname)
      })
      if (u.pathname.startsWith("/hang/")) return
      const status = u.pathname.startsWith("/fail/") ? 500 : 200
      setTimeout(() => res.writeHead(status).end(`${u.pathname}\n`), Number(u.searchParams.get("ms") ?? "0"))
    })
    server.keepAliveTimeout = 60_000
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resolve({
        url: (path) => `http://127.0.0.1:${port}${path}`,
        hits,
        aborted,
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

/** NDJSON lines as objects without the timing, sorted by URL; the summary's counts. */
const normalize = (r: { stdout: string; stderr: string }) => ({
  lines: r.stdout.trim().split("\n").filter((l) => l.length > 0).map((l) => {
    const { ms: _ms, ...rest } = JSON.parse(l) as Record<string, unknown>
    return rest
  }).sort((a, b) => String(a["url"]).localeCompare(String(b["url"]))),
  summary: (r.stderr.match(/summary: .*/)?.[0] ?? "").replace(/\(([^)]*)\)/, (_, inner: string) => `(${inner.split(", ").sort().join(", ")})`)
})

describe("leakproof fetch --cluster against runner processes", () => {
  it("prints what the local fetch prints (NDJSON lines, summary, exit code 1 for a failed URL)", async () => {
    const server = await countingServer()
    try {
      const urls = [...Array.from({ length: 6 }, (_, i) => server.url(`/ok/${i}`)), server.url("/fail/1"), "not-a-url"]
      const flags = ["--format", "ndjson", "--retries", "1"]
      const local = await Promise.all([runCli(["fetch", ...flags, ...urls]), runCli(["fetch", "--cluster", "--db", db, "--batch-size", "3", ...flags, ...urls], { timeoutMs: 30_000 })])
      const [l, c] = local
      expect(l.code).toBe(1)
      expect(c.code).toBe(1)
      expect(normalize(c)).toEqual(normalize(l))
      expect(normalize(c).lines).toHaveLength(8)
      expect(normalize(c).summary).toBe("summary: 8 URLs: 6 succeeded, 2 failed (InvalidUrl 1, Status 1), 0 cancelled")
      // the 500 was retried on the runner as it is locally: 2 tries each
      expect(server.hits.get("/fail/1")).toBe(4)
    } finally {
      await server.close()
    }
  }, 60_000)

  it("resubmitting the same job is answered from storage: same output, no request made again", async () => {
    const server = await countingServer()
    try {
      const urls = Array.from({ length: 30 }, (_, i) => server.url(`/ok/${i}`))
      const args = ["fetch", "--cluster", "--db", db, "--batch-size", "7", "--format", "ndjson", ...urls]
      const first = await runCli(args, { timeoutMs: 30_000 })
      expect(first.code).toBe(0)
      const hits = [...server.hits.values()].reduce((a, b) => a + b, 0)
      expect(hits).toBe(30)
      const second = await runCli(args, { timeoutMs: 30_000 })
      expect(second.code).toBe(0)
      expect(normalize(second)).toEqual(normalize(first))
      expect([...server.hits.values()].reduce((a, b) => a + b, 0)).toBe(hits)
    } finally {
      await server.close()
    }
  }, 60_000)

  it("--take 2: two results, exit code 0, the rest cancelled", async () => {
    const server = await countingServer()
    try {
      const urls = Array.from({ length: 40 }, (_, i) => server.url(`/ok/${i}?ms=50`))
      const r = await runCli(["fetch", "--cluster", "--db", db, "--batch-size", "1", "--take", "2", "--format", "ndjson", ...urls], { timeoutMs: 30_000 })
      expect(r.code).toBe(0)
      expect(r.stdout.trim().split("\n")).toHaveLength(2)
      expect(r.stderr).toMatch(/summary: 40 URLs: 2 succeeded, 0 failed, 38 cancelled/)
    } finally {
      await server.close()
    }
  }, 60_000)

  it.each([["SIGINT", 130], ["SIGTERM", 143]] as const)("%s: output so far kept, the summary printed, exit code %i, and the runners abort their requests", async (signal, exitCode) => {
    const server = await countingServer()
    try {
      // batch 0 completes, batch 1 hangs on the runner until the client is interrupted
      const urls = [server.url("/ok/1"), server.url("/ok/4"), server.url("/hang/2"), server.url("/hang/3")]
      const flags = ["--batch-size", "2", "--retries", "0", "--timeout", "60s", "--format", "ndjson"]
      const client = Harness.spawnCli(["fetch", "--cluster", "--db", db, ...flags, ...urls])
      const until0 = Date.now() + 20_000
      while (!(client.stdout().split("\n").length > 2 && server.hits.has("/hang/2") && server.hits.has("/hang/3"))) {
        if (Date.now() > until0) throw new Error(`the job never got under way: ${client.stderr()}`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      const code = await Harness.stop(client, signal)
      const r = { code, stdout: client.stdout(), stderr: client.stderr() }
      expect(r.code).toBe(exitCode)
      expect(normalize(r).lines.map((l) => l["url"])).toEqual([server.url("/ok/1"), server.url("/ok/4")])
      expect(r.stderr).toMatch(/summary: 4 URLs: 2 succeeded, 0 failed, 2 cancelled/)
      const until = Date.now() + 10_000
      while (server.aborted.length < 2 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20))
      expect(server.aborted.sort()).toEqual(["/hang/2", "/hang/3"])
    } finally {
      await server.close()
    }
  }, 60_000)

  it("--deadline cuts the job on the runners: what finished is printed, the rest cancelled, exit code 124", async () => {
    const server = await countingServer()
    try {
      const urls = [server.url("/ok/d1"), server.url("/ok/d2"), server.url("/hang/d3"), server.url("/ok/d4"), server.url("/hang/d5")]
      const r = await runCli(
        ["fetch", "--cluster", "--db", db, "--batch-size", "2", "--deadline", "1500ms", "--timeout", "60s", "--retries", "0", "--format", "ndjson", ...urls],
        { timeoutMs: 30_000 }
      )
      expect(r.code).toBe(124)
      expect(normalize(r).lines.map((l) => l["url"])).toEqual([server.url("/ok/d1"), server.url("/ok/d2"), server.url("/ok/d4")])
      expect(r.stderr).toMatch(/summary: 5 URLs: 3 succeeded, 0 failed, 2 cancelled/)
      // the runners gave up on the hanging requests at the deadline
      const until = Date.now() + 10_000
      while (server.aborted.length < 2 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20))
      expect(server.aborted.sort()).toEqual(["/hang/d3", "/hang/d5"])
    } finally {
      await server.close()
    }
  }, 60_000)

  it("--file - on a stdin that stays open: --deadline still ends the job (124), and so does Ctrl-C (130)", async () => {
    const server = await countingServer()
    try {
      for (const [flags, signal, expected] of [[["--deadline", "1500ms"], undefined, 124], [[], "SIGINT", 130]] as const) {
        const child = spawn(process.execPath, [bundle, "fetch", "--cluster", "--db", db, "--batch-size", "2", "--format", "ndjson", ...flags, "--file", "-"], {
          stdio: ["pipe", "pipe", "pipe"],
          env: { ...process.env, NO_COLOR: "1" }
        })
        let out = ""
        let err = ""
        child.stdout!.on("data", (d: Buffer) => (out += d.toString()))
        child.stderr!.on("data", (d: Buffer) => (err += d.toString()))
        const exited = new Promise<number>((resolve) => child.on("close", (code, sig) => resolve(code ?? (sig === "SIGINT" ? 130 : -2))))
        child.stdin!.on("error", () => {})
        // a full batch and one URL more; stdin is never ended
        child.stdin!.write(`${server.url("/ok/s1")}\n${server.url("/ok/s2")}\n${server.url("/ok/s3")}\n`)
        const until = Date.now() + 20_000
        while (out.split("\n").length < 3 && child.exitCode === null && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20))
        const start = Date.now()
        if (signal !== undefined) child.kill(signal)
        const code = await Promise.race([exited, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 15_000))])
        const took = Date.now() - start
        if (code === -1) child.kill("SIGKILL")
        child.stdin!.destroy()
        expect({ code, err: code === expected ? "" : err }).toEqual({ code: expected, err: "" })
        expect(took).toBeLessThan(8_000) // not held open by the stdin reader
        expect(out.trim().split("\n").map((l) => (JSON.parse(l) as { url: string }).url).sort()).toEqual([server.url("/ok/s1"), server.url("/ok/s2")])
        expect(err).toMatch(/summary: 3 URLs: 2 succeeded, 0 failed, 1 cancelled/)
      }
    } finally {
      await server.close()
    }
  }, 60_000)

  it("fetch --cluster … | head -1: one line, no stack trace, exit code 141", async () => {
    const server = await countingServer()
    try {
      // /hang never answers: the job can only end because the closed pipe cancelled it
      // later batches keep writing after the reader left (the write that meets EPIPE)
      const urls = [...Array.from({ length: 40 }, (_, i) => server.url(`/ok/p${i}?ms=30`)), ...Array.from({ length: 4 }, (_, i) => server.url(`/hang/p${i}`))]
      const client = Harness.spawnCli(["fetch", "--cluster", "--db", db, "--batch-size", "4", "--timeout", "60s", "--format", "ndjson", ...urls])
      await client.waitFor("\n", 20_000)
      client.child.stdout!.destroy() // the reader exits: the next write gets EPIPE
      const code = await Promise.race([client.exited, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 20_000))])
      if (code === -1) await Harness.stop(client, "SIGKILL")
      expect(JSON.parse(client.stdout().split("\n")[0]!)).toMatchObject({ ok: true })
      expect(client.stderr()).toBe("")
      expect(code).toBe(141)
    } finally {
      await server.close()
    }
  }, 60_000)

  it("with no runner up, the client says so, and a deadline still ends the job", async () => {
    const empty = await Harness.createDatabase(pg!.adminUrl, `${dbName}_empty`)
    try {
      const r = await runCli(["fetch", "--cluster", "--db", empty, "--deadline", "1s", "--format", "ndjson", "http://127.0.0.1:1/a", "http://127.0.0.1:1/b"], { timeoutMs: 30_000 })
      expect(r.stderr).toContain("leakproof: cluster: no runner is up; the job waits for one ('leakproof runner --port P --db URL')")
      expect(r.stderr).toMatch(/summary: 2 URLs: 0 succeeded, 0 failed, 2 cancelled/)
      expect(r.stdout).toBe("")
      expect(r.code).toBe(124)
    } finally {
      await Harness.dropDatabase(pg!.adminUrl, `${dbName}_empty`)
    }
  }, 60_000)

  it("a runner that cannot listen: one line, exit code 1", async () => {
    const port = await Harness.freePort()
    const blocker = http.createServer()
    await new Promise<void>((resolve) => blocker.listen(port, "127.0.0.1", () => resolve()))
    try {
      const r = await runCli(["runner", "--port", String(port), "--db", db], { timeoutMs: 30_000 })
      expect(r.code).toBe(1)
      expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(new RegExp(`^leakproof: runner: cannot listen on 127\\.0\\.0\\.1:${port}: `))])
    } finally {
      blocker.close()
    }
  }, 60_000)
})

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
      // stdout is the runner's own lines only; the library's logs (the peer's death) go to stderr
      expect(survivor.stdout().trim().split("\n").filter((l) => !/^leakproof runner 127\.0\.0\.1:\d+: (ready|SIGTERM|stopped)/.test(l))).toEqual([])
      expect(survivor.stderr()).toMatch(/warn: runner 127\.0\.0\.1:\d+ does not answer: marked unhealthy, its shards move/)
      expect(yield* Effect.promise(() => victim.exited)).toBe(128 + 9)
      console.log(`cluster kill test: ${n} URLs, ${twice} fetched twice, 0 lost, failover ${Math.round(failoverMs)} ms; ${survivor.stdout().split("\n").filter((l) => l.includes("stopped")).join("")}`)
    }), 120_000)
})
