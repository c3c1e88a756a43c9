/**
 * `leakproof serve`'s cost per request, three servers in this process, on loopback:
 * - a hand-written `node:http` server doing the same validation, deadline timer, work timer and
 *   JSON reply (the baseline);
 * - the bare `@effect/platform` Node server answering a constant JSON body (the platform's floor);
 * - WorkServer.
 * The load comes from another process (bench/serveLoad.mjs: undici Pool, keep-alive, concurrency
 * 64), so the CPU time measured here (process.cpuUsage) is the servers' alone. `/work?ms=0`
 * measures the per-request overhead; `/work?ms=20` with a 100 ms deadline the cost when each
 * request holds a timer. Runs are interleaved (every server sees the same machine load), each
 * figure is the median of the rounds, and the table gives ratios against node:http in this run.
 * "GC pause" is the main thread's time in garbage collection per request (PerformanceObserver);
 * the CPU column includes it, and the GC helper threads too.
 * BENCH_QUICK=1 for a smaller run. For `node --cpu-prof`: BENCH_ONLY=workserver|node|platform loads
 * one server, BENCH_PATH=/work?ms=0 measures one path, BENCH_N sets the requests per run.
 */
import { HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Exit, Scope } from "effect"
import { fork } from "node:child_process"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import { PerformanceObserver } from "node:perf_hooks"
import * as WorkServer from "../src/services/WorkServer.js"

const quick = process.env["BENCH_QUICK"] === "1"
const only = process.env["BENCH_ONLY"]
const N = Number(process.env["BENCH_N"] ?? (quick ? 3_000 : 20_000))
const CONCURRENCY = 64
const ROUNDS = quick ? 3 : 5

const plainServer = (): Promise<{ port: number; close: () => Promise<void> }> =>
  new Promise((resolve) => {
    const server = Http.createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x")
      const text = url.searchParams.get("ms")
      if (url.pathname !== "/work" || text === null || !/^\d+$/.test(text) || Number(text) > 600_000) {
        res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: "bad" }))
        return
      }
      const ms = Number(text)
      const start = Date.now()
      const deadline = setTimeout(() => {
        clearTimeout(work)
        res.writeHead(504, { "content-type": "application/json" }).end(JSON.stringify({ error: "deadline" }))
      }, 100)
      const work = setTimeout(() => {
        clearTimeout(deadline)
        res.writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ ms, result: `worked ${Date.now() - start}ms` }))
      }, ms)
      res.on("close", () => {
        clearTimeout(work)
        clearTimeout(deadline)
      })
    })
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections()
            server.close(() => r())
          })
      })
    )
  })

const bareServer = Effect.gen(function*() {
  const server = yield* NodeHttpServer.make(() => Http.createServer(), { port: 0, host: "127.0.0.1" })
  yield* server.serve(Effect.succeed(HttpServerResponse.unsafeJson({ ms: 0, result: "worked 0ms" })))
  return server.address._tag === "TcpAddress" ? server.address.port : 0
})

const client = fork(new URL("./serveLoad.mjs", import.meta.url).pathname, [], { stdio: "inherit", execArgv: [] })

interface Run {
  readonly rps: number
  /** server-process CPU microseconds per request */
  readonly cpu: number
  /** microseconds per request the main thread spent paused in garbage collection */
  readonly gc: number
  readonly statuses: Record<string, number>
}

let gcMs = 0
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration
}).observe({ entryTypes: ["gc"] })

const load = (port: number, path: string, n = N): Promise<Run> =>
  new Promise((resolve, reject) => {
    const cpu0 = process.cpuUsage()
    const gc0 = gcMs
    client.once("message", (m: { error?: string; seconds: number; statuses: Record<string, number> }) => {
      const cpu = process.cpuUsage(cpu0)
      if (m.error !== undefined) return reject(new Error(m.error))
      // gc entries arrive after the pause: let the observer catch up before reading them
      setImmediate(() =>
        resolve({ rps: n / m.seconds, cpu: (cpu.user + cpu.system) / n, gc: ((gcMs - gc0) * 1000) / n, statuses: m.statuses })
      )
    })
    client.send({ port, path, n, concurrency: CONCURRENCY })
  })

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const main = async () => {
  const scope = Effect.runSync(Scope.make())
  const servers: Array<[string, number]> = []
  const plain = only === undefined || only === "node" ? await plainServer() : undefined
  if (plain) servers.push(["node:http", plain.port])
  if (only === undefined || only === "platform") {
    servers.push(["bare platform", await Effect.runPromise(Scope.extend(bareServer, scope))])
  }
  if (only === undefined || only === "workserver") {
    const ws = await Effect.runPromise(Scope.extend(WorkServer.make({ port: 0, timeout: "100 millis" }), scope))
    servers.push(["WorkServer", ws.port])
  }
  // warm-up: JIT and connection set-up out of the measured runs
  for (const [, port] of servers) await load(port, "/work?ms=0", Math.min(N, 3_000))

  const load0 = Os.loadavg()
  const table: Array<{ path: string; name: string; rps: number; cpu: number; gc: number; non200: number }> = []
  for (const path of process.env["BENCH_PATH"] !== undefined ? [process.env["BENCH_PATH"]] : ["/work?ms=0", "/work?ms=20"]) {
    const runs = new Map<string, Array<Run>>(servers.map(([name]) => [name, []]))
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, port] of servers) {
        if (name === "bare platform" && !path.endsWith("=0")) continue
        runs.get(name)!.push(await load(port, path))
      }
    }
    for (const [name, rs] of runs) {
      if (rs.length === 0) continue
      const non200 = rs.reduce((n, r) => n + Object.entries(r.statuses).reduce((m, [s, c]) => m + (s === "200" ? 0 : c), 0), 0)
      table.push({
        path,
        name,
        rps: median(rs.map((r) => r.rps)),
        cpu: median(rs.map((r) => r.cpu)),
        gc: median(rs.map((r) => r.gc)),
        non200
      })
    }
  }
  const load1 = Os.loadavg()
  client.disconnect()
  if (plain) await plain.close()
  await Effect.runPromise(Scope.close(scope, Exit.void))

  console.log(
    `GET over loopback from another process (undici Pool), ${N} requests per run, concurrency ${CONCURRENCY}, ` +
      `median of ${ROUNDS} interleaved runs; load average ${load0[0]!.toFixed(1)} -> ${load1[0]!.toFixed(1)}`
  )
  console.log(
    "path           server           req/s   vs node:http   server CPU us/req   vs node:http   GC pause us/req   non-200 replies"
  )
  for (const row of table) {
    const base = table.find((r) => r.path === row.path && r.name === "node:http")
    console.log(
      `${row.path.padEnd(14)} ${row.name.padEnd(14)} ${row.rps.toFixed(0).padStart(7)}   ` +
        `${(base ? (row.rps / base.rps).toFixed(2) + "x" : "-").padStart(12)}   ${row.cpu.toFixed(1).padStart(17)}   ` +
        `${(base ? (row.cpu / base.cpu).toFixed(2) + "x" : "-").padStart(12)}   ${row.gc.toFixed(1).padStart(15)}   ` +
        `${String(row.non200).padStart(15)}`
    )
  }
  console.log(
    "(non-200 replies are 504s: the event loop stalled past the 100 ms deadline; WorkServer also answers 504 for a\n" +
      " result that is ready only after the deadline, the raw server sends it)"
  )
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
