/**
 * UrlFetcher against plain Node baselines, on a loopback server in its own process (its CPU is not
 * counted). Built for a noisy 2-core machine: every case runs in a fresh process (the bundled
 * benchmark, `node --expose-gc`, never tsx), cases are interleaved in rounds (A B C ... A B C ...,
 * each round starting one case later), and each figure is a ratio to undici `Pool` + p-map of the
 * same round, reported as the median over the rounds with its spread (min-max).
 * - throughput: N URLs (1 KiB each) at concurrency 64 and 256: requests/s and CPU per request
 *   (`process.cpuUsage` of the case's process, user + system, measured run only) for undici
 *   `Pool` + p-map (the baseline), undici's callback `dispatch` + p-map with no Effect (the floor:
 *   its column says where each case sits against it), leakproof `fetch` (one batch), leakproof
 *   `fetch` as sequential batches (an embedder calling `fetch` repeatedly: connection reuse),
 *   leakproof `get` from `c` fibers, the `fetchAll` program over `get` (what `fetch-all` runs), and
 *   global `fetch` + p-map. Each process first warms up (JIT, connections) on WARM URLs with its
 *   long-lived client (the Pool, or the leakproof layer), as an application would keep it; `conns`
 *   is how many connections the server accepted during the measured run.
 * - cancel: IN_FLIGHT requests in flight on a server that never answers, then leave the scope:
 *   time until no tracked fiber is alive and until the server has seen every socket close; one
 *   fresh process per round.
 * - peak RSS (child processes, `maxRSS`): the bundled CLI fetching 100k URLs read from a file;
 *   1,000 bodies of 1 MiB through the CLI (bodies counted and dropped) and with `--output DIR`
 *   (streamed to files); and the library's `fetch` in `body: "memory"` mode, consumer dropping each.
 * `BENCH_QUICK=1`: 2,000 URLs, 2 rounds, 1,000 in flight, 20k URLs from a file, 200 bodies.
 * `BENCH_ONLY=throughput,cancel,rss` runs only the named parts; `BENCH_ROUNDS=n` sets the rounds;
 * `BENCH_CASES=pool,floor,fetch` runs only those throughput cases (the baseline always runs).
 * Run by `npm run bench fetch`.
 */
import { Effect, Exit, Layer, ManagedRuntime, Scope } from "effect"
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
import { fetchAll } from "../src/programs/fetchAll.js"
import * as UrlFetcher from "../src/services/UrlFetcher.js"

const quick = process.env["BENCH_QUICK"] === "1"
const N = quick ? 2_000 : 10_000
const WARM = quick ? 1_000 : 3_000
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? (quick ? 2 : 5))
const CANCEL_ROUNDS = quick ? 1 : 3
const IN_FLIGHT = quick ? 1_000 : 10_000
const FILE_URLS = quick ? 20_000 : 100_000
const BODIES = quick ? 200 : 1_000
const BATCH = 500
const MIB = 1024 * 1024
const only = (process.env["BENCH_ONLY"] ?? "throughput,cancel,rss").split(",")
const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, "..")

// ---------------------------------------------------------------------------------------------
// The cases (each runs in a process of its own: `case NAME ORIGIN CONCURRENCY N WARM`)
// ---------------------------------------------------------------------------------------------

type Run = (urls: ReadonlyArray<string>, concurrency: number) => Promise<void>
interface Case {
  readonly key: string
  readonly name: string
  /** Builds the long-lived client (once per process) and returns one run over `urls`. */
  readonly make: (origin: string, concurrency: number) => Run
}

const pathOf = (u: string) => u.slice(u.indexOf("/", 8))

const leakproof = () => {
  const runtime = ManagedRuntime.make(UrlFetcher.layer as Layer.Layer<UrlFetcher.UrlFetcher>)
  return <A>(program: Effect.Effect<A, unknown, UrlFetcher.UrlFetcher | Scope.Scope>) => runtime.runPromise(Effect.scoped(program))
}

const fetchBatch = (fetcher: UrlFetcher.UrlFetcher, urls: ReadonlyArray<string>, concurrency: number) =>
  Effect.scoped(Effect.gen(function*() {
    const out = yield* fetcher.fetch(urls, { concurrency, retries: 0 })
    let ok = 0
    yield* Chan.forEach(out, (o) => Effect.sync(() => o._tag === "Fetched" && o.body.length === 1024 && ok++))
    if (ok !== urls.length) throw new Error(`only ${ok} of ${urls.length} succeeded`)
  }))

// One options object for every call, as `fetch-all` does (validated once per object).
const getOptions = { retries: 0 }

const CASES: ReadonlyArray<Case> = [
  {
    key: "pool",
    name: "undici Pool + p-map (baseline)",
    make: (origin, concurrency) => {
      const pool = new Pool(origin, { connections: concurrency })
      return (urls) =>
        pMap(urls, async (u) => {
          const { body, statusCode } = await pool.request({ path: pathOf(u), method: "GET" })
          await body.arrayBuffer()
          if (statusCode !== 200) throw new Error(String(statusCode))
        }, { concurrency }).then(() => undefined)
    }
  },
  {
    key: "floor",
    name: "undici dispatch + p-map (floor)",
    make: (origin, concurrency) => {
      const pool = new Pool(origin, { connections: concurrency })
      return (urls) =>
        pMap(urls, (u) =>
          new Promise<void>((resolve, reject) => {
            const chunks: Array<Buffer> = []
            let status = 0
            pool.dispatch({ origin, path: pathOf(u), method: "GET" }, {
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
          }), { concurrency }).then(() => undefined)
    }
  },
  {
    key: "fetch",
    name: "leakproof fetch (one batch)",
    make: () => {
      const run = leakproof()
      return (urls, concurrency) => run(Effect.flatMap(UrlFetcher.UrlFetcher, (f) => fetchBatch(f, urls, concurrency)))
    }
  },
  {
    key: "batches",
    name: `leakproof fetch, batches of ${BATCH}`,
    make: () => {
      const run = leakproof()
      return (urls, concurrency) =>
        run(Effect.gen(function*() {
          const fetcher = yield* UrlFetcher.UrlFetcher
          for (let i = 0; i < urls.length; i += BATCH) yield* fetchBatch(fetcher, urls.slice(i, i + BATCH), concurrency)
        }))
    }
  },
  {
    key: "get",
    name: "leakproof get x c fibers",
    make: () => {
      const run = leakproof()
      return (urls, concurrency) =>
        run(Effect.gen(function*() {
          const fetcher = yield* UrlFetcher.UrlFetcher
          let next = 0
          let ok = 0
          const worker = Effect.gen(function*() {
            while (next < urls.length) {
              const f = yield* fetcher.get(urls[next++]!, getOptions)
              if (f.body.length === 1024) ok++
            }
          })
          yield* Effect.all(Array.from({ length: concurrency }, () => worker), { concurrency: "unbounded", discard: true })
          if (ok !== urls.length) throw new Error(`only ${ok} of ${urls.length} succeeded`)
        }))
    }
  },
  {
    key: "fetchAll",
    name: "leakproof fetchAll(get) (fetch-all)",
    make: () => {
      const run = leakproof()
      return (urls, concurrency) =>
        run(Effect.gen(function*() {
          const fetcher = yield* UrlFetcher.UrlFetcher
          const all = yield* fetchAll(urls.map((u) => fetcher.get(u, getOptions)), { concurrency })
          if (all.length !== urls.length) throw new Error(`only ${all.length} of ${urls.length}`)
        }))
    }
  },
  {
    key: "global",
    name: "global fetch + p-map",
    make: () => (urls, concurrency) =>
      pMap(urls, async (u) => {
        const res = await fetch(u)
        await res.arrayBuffer()
      }, { concurrency }).then(() => undefined)
  }
]

interface Sample {
  readonly rate: number
  readonly cpuUs: number
  readonly conns: number
}

const stats = (origin: string) =>
  new Promise<{ open: number; sockets: number; accepted: number }>((resolve, reject) =>
    http.get(`${origin}/stats`, { agent: false }, (res) => {
      let text = ""
      res.on("data", (d) => (text += d))
      res.on("end", () => resolve(JSON.parse(text)))
    }).on("error", reject)
  )

const caseChild = async (key: string, origin: string, concurrency: number, n: number, warm: number): Promise<Sample> => {
  const c = CASES.find((c) => c.key === key)
  if (c === undefined) throw new Error(`no case ${key}`)
  const run = c.make(origin, concurrency)
  await run(Array.from({ length: warm }, (_, i) => `${origin}/data/w${i}`), concurrency)
  const urls = Array.from({ length: n }, (_, i) => `${origin}/data/${i}`)
  const before = (await stats(origin)).accepted
  ;(globalThis as { gc?: () => void }).gc?.()
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  await run(urls, concurrency)
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(c0)
  const conns = (await stats(origin)).accepted - before
  return { rate: n / seconds, cpuUs: (cpu.user + cpu.system) / n, conns }
}

// ---------------------------------------------------------------------------------------------
// Cancel: IN_FLIGHT requests on a server that never answers, then leave the scope
// ---------------------------------------------------------------------------------------------

interface CancelSample {
  readonly reached: number
  readonly closeMs: number
  readonly fibersMs: number
  readonly socketsMs: number
  readonly cpuMs: number
}

const cancelChild = (origin: string, inFlight: number): Promise<CancelSample> => {
  const hang = Array.from({ length: inFlight }, (_, i) => `${origin}/hang/${i}`)
  return Effect.runPromise(LeakCheck.track((tracker) =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const fetcher = yield* UrlFetcher.UrlFetcher
      yield* fetcher.fetch(hang, { concurrency: inFlight, retries: 0, timeout: "10 minutes" }).pipe(Scope.extend(scope))
      const t0 = performance.now()
      while ((yield* Effect.promise(() => stats(origin))).open < inFlight && performance.now() - t0 < 60_000) yield* Effect.sleep("20 millis")
      const reached = (yield* Effect.promise(() => stats(origin))).open
      const c0 = process.cpuUsage()
      const t1 = performance.now()
      yield* Scope.close(scope, Exit.void)
      const closeMs = performance.now() - t1
      yield* tracker.settle({ within: "60 seconds" })
      const fibersMs = performance.now() - t1
      while ((yield* Effect.promise(() => stats(origin))).open > 0 && performance.now() - t1 < 60_000) yield* Effect.sleep("5 millis")
      const socketsMs = performance.now() - t1
      const cpu = process.cpuUsage(c0)
      return { reached, closeMs, fibersMs, socketsMs, cpuMs: (cpu.user + cpu.system) / 1000 }
    })
  ).pipe(Effect.provide(UrlFetcher.layer)))
}

// ---- child mode: the library over N URLs from a generator, bodies discarded ----------------
const libraryUrls = (origin: string, count: number) => {
  const urls = (function*() {
    for (let i = 0; i < count; i++) yield `${origin}/data/${i}`
  })()
  return Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const fetcher = yield* UrlFetcher.UrlFetcher
    const out = yield* fetcher.fetch(urls, { concurrency: 64, retries: 0, body: "discard" })
    let ok = 0
    yield* Chan.forEach(out, (o) => Effect.sync(() => o._tag === "Fetched" && ok++))
    if (ok !== count) throw new Error(`only ${ok} of ${count}`)
  })).pipe(Effect.provide(UrlFetcher.layer)))
}

// ---- child mode: the library in body "memory" mode (peak RSS measured by the parent) ---------
const libraryMemory = (origin: string, count: number) => {
  const urls = (function*() {
    for (let i = 0; i < count; i++) yield `${origin}/bytes/${MIB}/${i}`
  })()
  return Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const fetcher = yield* UrlFetcher.UrlFetcher
    const out = yield* fetcher.fetch(urls, { concurrency: 16, retries: 0, maxBodyBytes: 2 * MIB, body: "memory" })
    let bytes = 0
    yield* Chan.forEach(out, (o) => Effect.sync(() => (bytes += o._tag === "Fetched" ? o.body.length : 0)))
    if (bytes !== count * MIB) throw new Error(`got ${bytes} bytes, expected ${count * MIB}`)
  })).pipe(Effect.provide(UrlFetcher.layer)))
}

// ---------------------------------------------------------------------------------------------
// The parent
// ---------------------------------------------------------------------------------------------

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const load = () => os.loadavg()[0]!.toFixed(2)
/** "0.97x (0.91-1.04)": the median ratio and its spread over the rounds. */
const ratio = (xs: ReadonlyArray<number>) =>
  `${fmt(median(xs), 2)}x (${fmt(Math.min(...xs), 2)}-${fmt(Math.max(...xs), 2)})`

/** Runs `node --expose-gc script args` and parses the JSON it prints last. */
const child = <A>(script: string, args: ReadonlyArray<string>): Promise<A> =>
  new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--expose-gc", script, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    let err = ""
    p.stdout.on("data", (d: Buffer) => (out += d.toString()))
    p.stderr.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-2000)))
    p.on("error", reject)
    p.on("close", (code) => {
      const line = out.trim().split("\n").pop() ?? ""
      if (code !== 0 || !line.startsWith("{")) return reject(new Error(`${args.join(" ")} exited ${code}: ${err.slice(0, 1000)}`))
      resolve(JSON.parse(line) as A)
    })
  })

const parent = async () => {
  const server = spawn(process.execPath, [path.join(here, "loopbackServer.mjs")], { stdio: ["ignore", "pipe", "inherit"] })
  const port = await new Promise<number>((resolve) => server.stdout.once("data", (d: Buffer) => resolve(Number(String(d).trim()))))
  const origin = `http://127.0.0.1:${port}`
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "leakproof-bench-"))
  try {
    // Every child runs this file bundled (esbuild), like an application would ship, not under tsx.
    const bundled = path.join(tmp, "fetch-bench.mjs")
    const { build } = await import("esbuild")
    await build({
      entryPoints: [fileURLToPath(import.meta.url)],
      outfile: bundled,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      logLevel: "warning",
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }
    })
    console.log(`load average: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}; ${os.cpus().length} cores; node ${process.version}`)

    if (only.includes("throughput")) {
      const wanted = process.env["BENCH_CASES"]?.split(",")
      const cases = CASES.filter((c) => c.key === "pool" || wanted === undefined || wanted.includes(c.key))
      for (const concurrency of [64, 256]) {
        const samples = new Map<string, Array<Sample>>(cases.map((c) => [c.key, []]))
        const loadBefore = load()
        for (let round = 0; round < ROUNDS; round++) {
          for (let i = 0; i < cases.length; i++) {
            const c = cases[(i + round) % cases.length]!
            samples.get(c.key)!.push(await child<Sample>(bundled, ["case", c.key, origin, String(concurrency), String(N), String(WARM)]))
          }
        }
        const base = samples.get("pool")!
        const floor = samples.get("floor")
        console.log(
          `\n${fmt(N)} GETs of 1 KiB, concurrency ${concurrency}: ${ROUNDS} rounds, each case in a fresh process after ${fmt(WARM)} warm-up requests; ` +
            `ratios to the baseline of the same round, median (min-max); load ${loadBefore} -> ${load()}`
        )
        console.log(
          `  ${"case".padEnd(36)} ${"req/s".padStart(7)} ${"req/s ratio".padStart(18)} ${"vs floor".padStart(8)} ${"CPU us/req".padStart(10)} ${"CPU ratio".padStart(18)} ${"conns".padStart(6)}`
        )
        for (const c of cases) {
          const s = samples.get(c.key)!
          const rates = s.map((x, r) => x.rate / base[r]!.rate)
          const cpus = s.map((x, r) => x.cpuUs / base[r]!.cpuUs)
          const vsFloor = floor === undefined ? "-" : `${fmt(median(s.map((x, r) => x.rate / floor[r]!.rate)), 2)}x`
          console.log(
            `  ${c.name.padEnd(36)} ${fmt(median(s.map((x) => x.rate))).padStart(7)} ${ratio(rates).padStart(18)} ${vsFloor.padStart(8)} ${fmt(median(s.map((x) => x.cpuUs)), 1).padStart(10)} ${ratio(cpus).padStart(18)} ${fmt(median(s.map((x) => x.conns))).padStart(6)}`
          )
        }
      }
    }

    if (only.includes("cancel")) {
      const runs: Array<CancelSample> = []
      for (let round = 0; round < CANCEL_ROUNDS; round++) {
        runs.push(await child<CancelSample>(bundled, ["cancel", origin, String(IN_FLIGHT)]))
        // the next round starts on a quiet server
        const t0 = performance.now()
        while ((await stats(origin)).open > 0 && performance.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 20))
      }
      const spread = (f: (s: CancelSample) => number) =>
        `${fmt(median(runs.map(f)))} ms (${fmt(Math.min(...runs.map(f)))}-${fmt(Math.max(...runs.map(f)))})`
      console.log(
        `\ncancel: ${fmt(IN_FLIGHT)} requests in flight (server saw ${runs.map((r) => r.reached).join(", ")}), a server that never answers, then leave the scope; ` +
          `${CANCEL_ROUNDS} fresh processes, median (min-max); load ${load()}`
      )
      console.log(`  scope closed after ${spread((s) => s.closeMs)}`)
      console.log(`  live fibers back to baseline after ${spread((s) => s.fibersMs)}`)
      console.log(`  server saw every socket close after ${spread((s) => s.socketsMs)}`)
      console.log(`  CPU ${spread((s) => s.cpuMs)}`)
    }

    if (only.includes("rss")) await rss(origin, tmp, bundled)
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
    server.kill("SIGTERM")
  }
}

// ---- peak RSS --------------------------------------------------------------------------------
const rss = async (origin: string, tmp: string, bundled: string) => {
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
  const libUrls = await peak([bundled, "library-urls", origin, String(FILE_URLS)])
  const libQuarter = await peak([bundled, "library-urls", origin, String(FILE_URLS / 4)])
  console.log(
    `  library fetch, URLs from a generator, bodies discarded, concurrency 64: ${fmt(FILE_URLS)} URLs ${fmt(libUrls.mb)} MB, ${fmt(FILE_URLS / 4)} URLs ${fmt(libQuarter.mb)} MB; heap after GC ${fmt(libUrls.heapMb, 1)} / ${fmt(libQuarter.heapMb, 1)} MB (exit ${libUrls.code}, ${libQuarter.code})`
  )
  const memory = await peak([bundled, "library-memory", origin, String(BODIES)])
  const memoryQuarter = await peak([bundled, "library-memory", origin, String(BODIES / 4)])
  console.log(
    `  library fetch, body "memory", 1 MiB bodies, concurrency 16, consumer drops each: ${fmt(BODIES)} bodies ${fmt(memory.mb)} MB, ${fmt(BODIES / 4)} bodies ${fmt(memoryQuarter.mb)} MB (exit ${memory.code}, ${memoryQuarter.code})`
  )
}

// ---------------------------------------------------------------------------------------------

const [mode, ...args] = process.argv.slice(2)
switch (mode) {
  case "case": {
    const [key, origin, concurrency, n, warm] = args
    console.log(JSON.stringify(await caseChild(key!, origin!, Number(concurrency), Number(n), Number(warm))))
    process.exit(0)
    break
  }
  case "cancel":
    console.log(JSON.stringify(await cancelChild(args[0]!, Number(args[1]))))
    process.exit(0)
    break
  case "library-urls":
    await libraryUrls(args[0]!, Number(args[1]))
    process.exit(0)
    break
  case "library-memory":
    await libraryMemory(args[0]!, Number(args[1]))
    process.exit(0)
    break
  default:
    await parent()
}
