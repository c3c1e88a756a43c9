/**
 * UrlFetcher against plain Node baselines, on a loopback server in another process (its CPU is not
 * counted), all in one run:
 * - N URLs (1 KiB each) at concurrency 64 and 256: requests/s and CPU per request
 *   (`process.cpuUsage`, user + system) for undici `Pool` + p-map (the baseline), undici's callback
 *   `dispatch` + p-map with no Effect (the floor), leakproof `fetch` (a batch: one driver fiber),
 *   leakproof `get` from `c` worker fibers, and global `fetch` + p-map; each as a ratio to the
 *   baseline. Every path is warmed up first; rounds are interleaved and the median is reported.
 * - cancel: IN_FLIGHT requests in flight on a server that never answers, then leave the scope:
 *   time until no tracked fiber is alive and until the server has seen every socket close.
 * - peak RSS (child processes, `maxRSS`): the bundled CLI fetching 100k URLs read from a file;
 *   1,000 bodies of 1 MiB through the CLI (bodies counted and dropped) and with `--output DIR`
 *   (streamed to files); and the library's `fetch` in `body: "memory"` mode, consumer dropping each.
 * `BENCH_QUICK=1`: 2,000 URLs, 1,000 in flight, 20k URLs from a file, 200 bodies, one round.
 * `BENCH_ONLY=throughput,cancel,rss` runs only the named parts.
 * Run by `npm run bench fetch` (tsx; the RSS children run the esbuild bundle `dist/leakproof.mjs`,
 * built first if missing, and tsx for the library case).
 */
import { Effect, Exit, Layer, Scope } from "effect"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import pMap from "p-map"
import { Pool } from "undici"
import * as Chan from "../src/domain/Chan.js"
import * as LeakCheck from "../src/domain/LeakCheck.js"
import * as UrlFetcher from "../src/services/UrlFetcher.js"

const quick = process.env["BENCH_QUICK"] === "1"
const N = quick ? 2_000 : 10_000
const ROUNDS = quick ? 1 : 3
const IN_FLIGHT = quick ? 1_000 : 10_000
const FILE_URLS = quick ? 20_000 : 100_000
const BODIES = quick ? 200 : 1_000
const MIB = 1024 * 1024
const only = (process.env["BENCH_ONLY"] ?? "throughput,cancel,rss").split(",")
const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, "..")

// ---- child mode: the library over N URLs from a generator, bodies discarded ----------------
if (process.argv[2] === "library-urls") {
  const origin = process.argv[3]!
  const count = Number(process.argv[4])
  const urls = (function*() {
    for (let i = 0; i < count; i++) yield `${origin}/data/${i}`
  })()
  await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const fetcher = yield* UrlFetcher.UrlFetcher
    const out = yield* fetcher.fetch(urls, { concurrency: 64, retries: 0, body: "discard" })
    let ok = 0
    yield* Chan.forEach(out, (o) => Effect.sync(() => o._tag === "Fetched" && ok++))
    if (ok !== count) throw new Error(`only ${ok} of ${count}`)
  })).pipe(Effect.provide(UrlFetcher.layer)))
  process.exit(0)
}

// ---- child mode: the library in body "memory" mode (peak RSS measured by the parent) ---------
if (process.argv[2] === "library-memory") {
  const origin = process.argv[3]!
  const count = Number(process.argv[4])
  const urls = (function*() {
    for (let i = 0; i < count; i++) yield `${origin}/bytes/${MIB}/${i}`
  })()
  await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const fetcher = yield* UrlFetcher.UrlFetcher
    const out = yield* fetcher.fetch(urls, { concurrency: 16, retries: 0, maxBodyBytes: 2 * MIB, body: "memory" })
    let bytes = 0
    yield* Chan.forEach(out, (o) => Effect.sync(() => (bytes += o._tag === "Fetched" ? o.body.length : 0)))
    if (bytes !== count * MIB) throw new Error(`got ${bytes} bytes, expected ${count * MIB}`)
  })).pipe(Effect.provide(UrlFetcher.layer)))
  process.exit(0)
}

const server = spawn(process.execPath, [path.join(here, "loopbackServer.mjs")], { stdio: ["ignore", "pipe", "inherit"] })
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

// ---- the cases -----------------------------------------------------------------------------

const undiciPool = async (concurrency: number) => {
  const pool = new Pool(origin, { connections: concurrency })
  await pMap(urls, async (u) => {
    const { body, statusCode } = await pool.request({ path: new URL(u).pathname, method: "GET" })
    await body.arrayBuffer()
    if (statusCode !== 200) throw new Error(String(statusCode))
  }, { concurrency })
  await pool.close()
}

const undiciDispatch = async (concurrency: number) => {
  const pool = new Pool(origin, { connections: concurrency })
  await pMap(urls, (u) =>
    new Promise<void>((resolve, reject) => {
      const chunks: Array<Buffer> = []
      let status = 0
      pool.dispatch({ origin, path: new URL(u).pathname, method: "GET" }, {
        onConnect: () => {},
        onHeaders: (s: number) => ((status = s), true),
        onData: (c: Buffer) => (chunks.push(c), true),
        onComplete: () => {
          Buffer.concat(chunks)
          if (status === 200) resolve()
          else reject(new Error(String(status)))
        },
        onError: reject
      })
    }), { concurrency })
  await pool.close()
}

const globalFetch = async (concurrency: number) => {
  await pMap(urls, async (u) => {
    const res = await fetch(u)
    await res.arrayBuffer()
  }, { concurrency })
}

const runLeakproof = <A>(program: Effect.Effect<A, unknown, UrlFetcher.UrlFetcher | Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(program).pipe(Effect.provide(UrlFetcher.layer as Layer.Layer<UrlFetcher.UrlFetcher>)))

const leakproofFetch = (concurrency: number) =>
  runLeakproof(Effect.gen(function*() {
    const fetcher = yield* UrlFetcher.UrlFetcher
    const out = yield* fetcher.fetch(urls, { concurrency, retries: 0 })
    let ok = 0
    yield* Chan.forEach(out, (o) => Effect.sync(() => o._tag === "Fetched" && o.body.length === 1024 && ok++))
    if (ok !== N) throw new Error(`only ${ok} of ${N} succeeded`)
  }))

// One options object for every call, as `fetch-all` does (validated once per object).
const getOptions = { retries: 0 }
const leakproofGet = (concurrency: number) =>
  runLeakproof(Effect.gen(function*() {
    const fetcher = yield* UrlFetcher.UrlFetcher
    let next = 0
    let ok = 0
    const worker = Effect.gen(function*() {
      while (next < N) {
        const f = yield* fetcher.get(urls[next++]!, getOptions)
        if (f.body.length === 1024) ok++
      }
    })
    yield* Effect.all(Array.from({ length: concurrency }, () => worker), { concurrency: "unbounded", discard: true })
    if (ok !== N) throw new Error(`only ${ok} of ${N} succeeded`)
  }))

const BASE = "undici Pool + p-map (baseline)"
const cases: Array<[string, (c: number) => Promise<unknown>]> = [
  [BASE, undiciPool],
  ["undici dispatch + p-map (floor)", undiciDispatch],
  ["leakproof fetch (one batch)", leakproofFetch],
  ["leakproof get x c fibers", leakproofGet],
  ["global fetch + p-map", globalFetch]
]

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

console.log(`load average: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}; ${os.cpus().length} cores; node ${process.version}`)
// Warm up every path first (JIT, connection pools): cold Effect code measures several times slower.
if (only.includes("throughput")) for (const [, run] of cases) {
  await run(64)
  await run(64)
}
for (const concurrency of only.includes("throughput") ? [64, 256] : []) {
  const rates: Record<string, Array<number>> = {}
  const cpus: Record<string, Array<number>> = {}
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of cases) {
      global.gc?.()
      const c0 = process.cpuUsage()
      const t0 = performance.now()
      await run(concurrency)
      const seconds = (performance.now() - t0) / 1000
      const cpu = process.cpuUsage(c0)
      ;(rates[name] ??= []).push(N / seconds)
      ;(cpus[name] ??= []).push((cpu.user + cpu.system) / N)
    }
  }
  const baseRate = median(rates[BASE]!)
  const baseCpu = median(cpus[BASE]!)
  console.log(`\n${fmt(N)} GETs of 1 KiB, concurrency ${concurrency} (median of ${ROUNDS}; load ${os.loadavg()[0]!.toFixed(2)})`)
  console.log(`  ${"case".padEnd(34)} ${"req/s".padStart(7)} ${"ratio".padStart(6)} ${"CPU us/req".padStart(11)} ${"CPU ratio".padStart(9)}`)
  for (const [name] of cases) {
    const rate = median(rates[name]!)
    const cpu = median(cpus[name]!)
    console.log(
      `  ${name.padEnd(34)} ${fmt(rate).padStart(7)} ${`${fmt(rate / baseRate, 2)}x`.padStart(6)} ${fmt(cpu, 1).padStart(11)} ${`${fmt(cpu / baseCpu, 2)}x`.padStart(9)}`
    )
  }
}

// ---- cancel latency ------------------------------------------------------------------------
if (only.includes("cancel")) {
console.log(`\ncancel: ${fmt(IN_FLIGHT)} requests in flight (a server that never answers), then leave the scope`)
const hang = Array.from({ length: IN_FLIGHT }, (_, i) => `${origin}/hang/${i}`)
await Effect.runPromise(LeakCheck.track((tracker) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const fetcher = yield* UrlFetcher.UrlFetcher
    yield* fetcher.fetch(hang, { concurrency: IN_FLIGHT, retries: 0, timeout: "10 minutes" }).pipe(Scope.extend(scope))
    const t0 = performance.now()
    while ((yield* Effect.promise(stats)).open < IN_FLIGHT && performance.now() - t0 < 60_000) yield* Effect.sleep("20 millis")
    const before = yield* tracker.live
    console.log(`  in flight at the server: ${(yield* Effect.promise(stats)).open} (after ${fmt(performance.now() - t0)} ms); live fibers ${before}`)
    const c0 = process.cpuUsage()
    const t1 = performance.now()
    yield* Scope.close(scope, Exit.void)
    const closeMs = performance.now() - t1
    yield* tracker.settle({ within: "60 seconds" })
    const fibersMs = performance.now() - t1
    while ((yield* Effect.promise(stats)).open > 0 && performance.now() - t1 < 60_000) yield* Effect.sleep("5 millis")
    const socketsMs = performance.now() - t1
    const cpu = process.cpuUsage(c0)
    console.log(
      `  scope closed after ${fmt(closeMs)} ms; live fibers back to 0 after ${fmt(fibersMs)} ms; server saw every socket close after ${fmt(socketsMs)} ms (CPU ${fmt((cpu.user + cpu.system) / 1000)} ms)`
    )
  })
).pipe(Effect.provide(UrlFetcher.layer)))
}

// ---- peak RSS --------------------------------------------------------------------------------
const bundle = path.join(root, "dist/leakproof.mjs")
if (!fs.existsSync(bundle)) spawnSync(process.execPath, [path.join(root, "scripts/bundle.mjs")], { stdio: "inherit" })
const maxrss = path.join(here, "maxrss.mjs")

const peak = (args: ReadonlyArray<string>): Promise<{ mb: number; heapMb: number; code: number | null; seconds: number }> =>
  new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(process.execPath, ["--expose-gc", "--import", maxrss, ...args], { stdio: ["ignore", "ignore", "pipe"] })
    let err = ""
    child.stderr.on("data", (d: Buffer) => (err += d.toString()))
    child.on("error", reject)
    child.on("close", (code) => {
      const m = /maxrss-kb (\d+) heap-after-gc-kb (\d+)/.exec(err)
      if (m === null) return reject(new Error(`no maxrss from ${args.join(" ")}: ${err.slice(-500)}`))
      resolve({ mb: Number(m[1]) / 1024, heapMb: Number(m[2]) / 1024, code, seconds: (performance.now() - t0) / 1000 })
    })
  })

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "leakproof-bench-"))
try {
  if (only.includes("rss")) {
  console.log("\npeak RSS (child processes; bound: 200 MB each)")
  const idle = await peak([bundle, "--version"])
  console.log(`  CLI bundle start-up alone (--version): ${fmt(idle.mb)} MB`)
  const list = path.join(tmp, "urls.txt")
  fs.writeFileSync(list, Array.from({ length: FILE_URLS }, (_, i) => `${origin}/data/${i}`).join("\n") + "\n")
  const quarter = path.join(tmp, "urls-quarter.txt")
  fs.writeFileSync(quarter, Array.from({ length: FILE_URLS / 4 }, (_, i) => `${origin}/data/${i}`).join("\n") + "\n")
  const fromFile = await peak([bundle, "fetch", "--file", list, "--concurrency", "64", "--retries", "0", "--format", "ndjson"])
  const fromQuarter = await peak([bundle, "fetch", "--file", quarter, "--concurrency", "64", "--retries", "0", "--format", "ndjson"])
  console.log(
    `  CLI: URLs from a file (1 KiB each): ${fmt(FILE_URLS)} URLs ${fmt(fromFile.mb)} MB (exit ${fromFile.code}, ${fmt(fromFile.seconds, 1)} s); ${fmt(FILE_URLS / 4)} URLs ${fmt(fromQuarter.mb)} MB; live heap after a full GC at exit: ${fmt(fromFile.heapMb, 1)} / ${fmt(fromQuarter.heapMb, 1)} MB`
  )
  const bodies = path.join(tmp, "bodies.txt")
  fs.writeFileSync(bodies, Array.from({ length: BODIES }, (_, i) => `${origin}/bytes/${MIB}/${i}`).join("\n") + "\n")
  const counted = await peak([bundle, "fetch", "--file", bodies, "--concurrency", "16", "--retries", "0", "--format", "ndjson"])
  console.log(`  CLI: ${fmt(BODIES)} bodies of 1 MiB, counted and dropped: ${fmt(counted.mb)} MB (exit ${counted.code}, ${fmt(counted.seconds, 1)} s)`)
  const dir = path.join(tmp, "out")
  const toFiles = await peak([bundle, "fetch", "--file", bodies, "--concurrency", "16", "--retries", "0", "--format", "ndjson", "--output", dir])
  const written = fs.existsSync(dir) ? fs.readdirSync(dir).length : 0
  console.log(`  CLI: ${fmt(BODIES)} bodies of 1 MiB --output DIR: ${fmt(toFiles.mb)} MB (exit ${toFiles.code}, ${written} files, ${fmt(toFiles.seconds, 1)} s)`)
  // The library case runs this file bundled (esbuild), like an app would ship, not under tsx.
  const child = path.join(tmp, "fetch-bench.mjs")
  const { build } = await import("esbuild")
  await build({
    entryPoints: [fileURLToPath(import.meta.url)],
    outfile: child,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }
  })
  const libUrls = await peak([child, "library-urls", origin, String(FILE_URLS)])
  const libQuarter = await peak([child, "library-urls", origin, String(FILE_URLS / 4)])
  console.log(
    `  library fetch, URLs from a generator, bodies discarded, concurrency 64: ${fmt(FILE_URLS)} URLs ${fmt(libUrls.mb)} MB, ${fmt(FILE_URLS / 4)} URLs ${fmt(libQuarter.mb)} MB; heap after GC ${fmt(libUrls.heapMb, 1)} / ${fmt(libQuarter.heapMb, 1)} MB (exit ${libUrls.code}, ${libQuarter.code})`
  )
  const memory = await peak([child, "library-memory", origin, String(BODIES)])
  const memoryHalf = await peak([child, "library-memory", origin, String(BODIES / 4)])
  console.log(
    `  library fetch, body "memory", 1 MiB bodies, concurrency 16, consumer drops each: ${fmt(BODIES)} bodies ${fmt(memory.mb)} MB, ${fmt(BODIES / 4)} bodies ${fmt(memoryHalf.mb)} MB (exit ${memory.code}, ${memoryHalf.code})`
  )
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true })
  server.kill("SIGTERM")
}
