/**
 * `leakproof serve`'s cost per request: the Effect WorkServer (router, deadline, in-flight
 * tracking) against a hand-written `node:http` server doing the same validation and JSON reply,
 * both on loopback in this process, driven by the same keep-alive client at the same concurrency.
 * `/work?ms=0` measures the per-request overhead; `/work?ms=20` with a 100 ms deadline the cost
 * when each request holds a timer. A third server, the bare `@effect/platform` Node server
 * answering a constant JSON body, separates the platform's own cost from WorkServer's.
 * BENCH_QUICK=1 for a smaller run.
 */
import { HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Exit, Scope } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as WorkServer from "../src/services/WorkServer.js"

const quick = process.env["BENCH_QUICK"] === "1"
const N = quick ? 2_000 : 20_000
const CONCURRENCY = 64
const ROUNDS = quick ? 1 : 3

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
      req.on("close", () => {
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

const load = async (port: number, path: string): Promise<number> => {
  const agent = new Http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  let next = 0
  const one = () =>
    new Promise<void>((resolve, reject) => {
      Http.get({ host: "127.0.0.1", port, path, agent }, (res) => {
        if (res.statusCode === 504) late++
        else if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`))
        res.resume()
        res.on("end", () => resolve())
      }).on("error", reject)
    })
  const worker = async () => {
    while (next < N) {
      next++
      await one()
    }
  }
  const t0 = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const seconds = (performance.now() - t0) / 1000
  agent.destroy()
  return N / seconds
}

/** Replies that missed the 100 ms deadline (event-loop stalls under load); reported, not fatal. */
let late = 0

const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const bareServer = Effect.gen(function*() {
  const server = yield* NodeHttpServer.make(() => Http.createServer(), { port: 0, host: "127.0.0.1" })
  yield* server.serve(Effect.succeed(HttpServerResponse.unsafeJson({ ms: 0, result: "worked 0ms" })))
  return server.address._tag === "TcpAddress" ? server.address.port : 0
})

const main = async () => {
  const plain = await plainServer()
  const scope = Effect.runSync(Scope.make())
  const effect = await Effect.runPromise(Scope.extend(WorkServer.make({ port: 0, timeout: "100 millis" }), scope))
  const barePort = await Effect.runPromise(Scope.extend(bareServer, scope))
  const rows: Array<[string, number, number, number | undefined]> = []
  for (const path of ["/work?ms=0", "/work?ms=20"]) {
    const p: Array<number> = []
    const e: Array<number> = []
    const b: Array<number> = []
    for (let r = 0; r < ROUNDS; r++) {
      // interleaved, so all see the same machine load
      p.push(await load(plain.port, path))
      e.push(await load(effect.port, path))
      if (path.endsWith("=0")) b.push(await load(barePort, path))
    }
    rows.push([path, median(p), median(e), b.length > 0 ? median(b) : undefined])
  }
  await plain.close()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  console.log(`GET over loopback, ${N} requests per run, concurrency ${CONCURRENCY}, median of ${ROUNDS} interleaved runs`)
  console.log("path           node:http req/s   bare platform req/s   WorkServer req/s   WorkServer / node:http   WorkServer / bare platform")
  if (late > 0) console.log(`(${late} of the /work?ms=20 replies were 504: the event loop stalled past the 100 ms deadline)`)
  for (const [path, p, e, b] of rows) {
    console.log(
      `${path.padEnd(14)} ${p.toFixed(0).padStart(15)}   ${(b === undefined ? "-" : b.toFixed(0)).padStart(19)}   ` +
        `${e.toFixed(0).padStart(16)}   ${(e / p).toFixed(2).padStart(22)}   ${(b === undefined ? "-" : (e / b).toFixed(2)).padStart(26)}`
    )
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
