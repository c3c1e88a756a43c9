/**
 * UrlFetcher against plain Node baselines, on a loopback server in another process:
 * - 10,000 URLs (1 KiB each) at concurrency 64 and 256: requests/s for leakproof (undici and
 *   node:http layers) next to undici `Pool` + p-map and global `fetch` + p-map, in one run;
 * - cancel latency: 10,000 requests in flight, leave the scope, time until no tracked fiber is
 *   alive and until the server has seen every socket close.
 * `BENCH_QUICK=1`: 2,000 URLs and 1,000 in flight.
 */
import { Effect, Exit, Layer, Scope } from "effect"
import { spawn } from "node:child_process"
import * as http from "node:http"
import pMap from "p-map"
import { Pool } from "undici"
import * as Chan from "../src/domain/Chan.js"
import * as LeakCheck from "../src/domain/LeakCheck.js"
import * as UrlFetcher from "../src/services/UrlFetcher.js"

const quick = process.env["BENCH_QUICK"] === "1"
const N = quick ? 2_000 : 10_000
const IN_FLIGHT = quick ? 1_000 : 10_000

const server = spawn(process.execPath, [new URL("./loopbackServer.mjs", import.meta.url).pathname], { stdio: ["ignore", "pipe", "inherit"] })
const port = await new Promise<number>((resolve) => server.stdout.once("data", (d: Buffer) => resolve(Number(String(d).trim()))))
const origin = `http://127.0.0.1:${port}`
const urls = Array.from({ length: N }, (_, i) => `${origin}/data/${i}`)

const stats = () =>
  new Promise<{ open: number }>((resolve, reject) =>
    http.get(`${origin}/stats`, { agent: false }, (res) => {
      let text = ""
      res.on("data", (d) => (text += d))
      res.on("end", () => resolve(JSON.parse(text)))
    }).on("error", reject)
  )

const leakproof = (layer: Layer.Layer<UrlFetcher.UrlFetcher>, concurrency: number) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const fetcher = yield* UrlFetcher.UrlFetcher
    const out = yield* fetcher.fetch(urls, { concurrency, retries: 0 })
    let ok = 0
    yield* Chan.forEach(out, (o) => Effect.sync(() => o._tag === "Fetched" && ok++))
    if (ok !== N) throw new Error(`only ${ok} of ${N} succeeded`)
  })).pipe(Effect.provide(layer)))

const undiciPool = async (concurrency: number) => {
  const pool = new Pool(origin, { connections: concurrency })
  await pMap(urls, async (u) => {
    const { body, statusCode } = await pool.request({ path: new URL(u).pathname, method: "GET" })
    await body.arrayBuffer()
    if (statusCode !== 200) throw new Error(String(statusCode))
  }, { concurrency })
  await pool.close()
}

const globalFetch = async (concurrency: number) => {
  await pMap(urls, async (u) => {
    const res = await fetch(u)
    await res.arrayBuffer()
  }, { concurrency })
}

const cases: Array<[string, (c: number) => Promise<unknown>]> = [
  ["undici Pool + p-map (baseline)", undiciPool],
  ["leakproof, undici layer", (c) => leakproof(UrlFetcher.layer, c)],
  ["global fetch + p-map", globalFetch]
]

const fmt = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 0 })
// Warm up every path first (JIT, connection pools): cold Effect code measures several times slower.
for (const [, run] of cases) await run(64)
for (const concurrency of [64, 256]) {
  console.log(`${fmt(N)} GETs of 1 KiB, concurrency ${concurrency}`)
  const rates: Record<string, number> = {}
  for (const [name, run] of cases) {
    const t0 = performance.now()
    await run(concurrency)
    const rate = N / ((performance.now() - t0) / 1000)
    rates[name] = rate
    console.log(`  ${name.padEnd(32)} ${fmt(rate).padStart(7)} req/s`)
  }
  const base = rates["undici Pool + p-map (baseline)"]!
  console.log(`  ratio leakproof(undici) / undici Pool: ${(rates["leakproof, undici layer"]! / base).toFixed(2)}x; node:http layer: ${(rates["leakproof, node:http layer"]! / base).toFixed(2)}x`)
}

// ---- cancel latency ------------------------------------------------------------------------
console.log(`\ncancel: ${fmt(IN_FLIGHT)} requests in flight (a server that never answers), then leave the scope`)
const hang = Array.from({ length: IN_FLIGHT }, (_, i) => `${origin}/hang/${i}`)
await Effect.runPromise(LeakCheck.track((tracker) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const fetcher = yield* UrlFetcher.UrlFetcher
    yield* fetcher.fetch(hang, { concurrency: IN_FLIGHT, retries: 0, timeout: "10 minutes" }).pipe(Scope.extend(scope))
    const t0 = performance.now()
    while ((yield* Effect.promise(stats)).open < IN_FLIGHT && performance.now() - t0 < 60_000) yield* Effect.sleep("20 millis")
    console.log(`  in flight at the server: ${(yield* Effect.promise(stats)).open} (after ${fmt(performance.now() - t0)} ms)`)
    const t1 = performance.now()
    yield* Scope.close(scope, Exit.void)
    yield* tracker.settle({ within: "60 seconds" })
    const fibersMs = performance.now() - t1
    while ((yield* Effect.promise(stats)).open > 0 && performance.now() - t1 < 60_000) yield* Effect.sleep("5 millis")
    const socketsMs = performance.now() - t1
    console.log(`  live fibers back to baseline after ${fmt(fibersMs)} ms; server saw every socket close after ${fmt(socketsMs)} ms`)
  })
).pipe(Effect.provide(UrlFetcher.layer)))

server.kill("SIGTERM")
