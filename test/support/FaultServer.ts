/**
 * A loopback HTTP server that misbehaves on purpose, started and stopped by the tests (a scoped
 * resource). It records which requests the client aborted, so tests can prove sockets are closed
 * on cancel.
 *
 *   /ok/:id           200, a small body
 *   /status/:code     that status, a small body
 *   /reset            destroys the socket before answering (connection reset)
 *   /hang             never answers
 *   /drip?ms=N        200, one byte every N ms, forever
 *   /big?bytes=N      200, N bytes streamed (no content-length)
 *   /declared-big     200 with content-length 1 GiB, body never sent
 *   /redirect-loop    302 to itself
 *   /flaky/:id?fail=N 503 the first N times for this id, then 200
 *   /location?status=S&to=L         status S (default 302) with Location L (none if absent)
 *   /declared-status/:code           that status with content-length 1 GiB, one byte sent
 *   /bytes/:n         200, n bytes with content-length, written with back-pressure
 *   /hops/:n          302 to /hops/n-1 ... /hops/0 is 200 "hops"
 */
import { Effect, Scope } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

export interface FaultServer {
  readonly url: (path: string) => string
  /** Paths of requests whose client went away before the response finished. */
  readonly aborted: Array<string>
  /** Paths of requests received, in arrival order. */
  readonly received: Array<string>
  /** Requests being handled right now. */
  readonly inFlight: () => number
  /** Connections accepted so far (a client that reuses keep-alive connections opens no more). */
  readonly connections: () => number
  /** Connections open right now. */
  readonly openSockets: () => number
}

/** Writes `bytes` bytes of `fill` in 64 KiB chunks, waiting for "drain" when the socket is behind, then ends. */
const writeBytes = (res: http.ServerResponse, bytes: number, fill: number): void => {
  let left = bytes
  const chunk = Buffer.alloc(64 * 1024, fill)
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length)
      left -= n
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once("drain", pump)
    }
    res.end()
  }
  pump()
}

export const start: Effect.Effect<FaultServer, never, Scope.Scope> = Effect.acquireRelease(
  Effect.async<{ server: http.Server; state: FaultServer }>((resume) => {
    const aborted: Array<string> = []
    const received: Array<string> = []
    const flaky = new Map<string, number>()
    let inFlight = 0
    let connections = 0
    let openSockets = 0
    const timers = new Set<NodeJS.Timeout>()
    const server = http.createServer((req, res) => {
      const u = new URL(req.url ?? "/", "http://x")
      const path = u.pathname
      received.push(path)
      inFlight++
      let finished = false
      res.on("finish", () => (finished = true))
      res.on("close", () => {
        inFlight--
        if (!finished) aborted.push(path)
      })
      const [, route, arg] = path.split("/")
      switch (route) {
        case "ok":
          res.end(`ok ${arg}`)
          return
        case "status":
          res.writeHead(Number(arg))
          res.end(`status ${arg}`)
          return
        case "reset":
          req.socket.destroy()
          return
        case "hang":
          return
        case "drip": {
          res.writeHead(200)
          const t = setInterval(() => res.write("."), Number(u.searchParams.get("ms") ?? "10"))
          timers.add(t)
          res.on("close", () => clearInterval(t))
          return
        }
        case "big": {
          res.writeHead(200)
          return writeBytes(res, Number(u.searchParams.get("bytes") ?? "1048576"), 97)
        }
        case "declared-big":
          res.writeHead(200, { "content-length": String(1024 ** 3) })
          res.write("x")
          return
        case "location": {
          const to = u.searchParams.get("to")
          res.writeHead(Number(u.searchParams.get("status") ?? "302"), to === null ? {} : { location: to })
          res.end()
          return
        }
        case "declared-status":
          res.writeHead(Number(arg), { "content-length": String(1024 ** 3) })
          res.write("x")
          return
        case "bytes": {
          res.writeHead(200, { "content-length": String(Number(arg)) })
          return writeBytes(res, Number(arg), 98)
        }
        case "hops": {
          const n = Number(arg)
          if (n <= 0) res.end("hops")
          else {
            res.writeHead(302, { location: `/hops/${n - 1}` })
            res.end()
          }
          return
        }
        case "redirect-loop":
          res.writeHead(302, { location: "/redirect-loop" })
          res.end()
          return
        case "flaky": {
          const failures = flaky.get(arg ?? "") ?? 0
          if (failures < Number(u.searchParams.get("fail") ?? "1")) {
            flaky.set(arg ?? "", failures + 1)
            res.writeHead(503)
            res.end("try again")
          } else {
            res.end(`ok ${arg} after ${failures}`)
          }
          return
        }
        default:
          res.writeHead(404)
          res.end("not found")
      }
    })
    server.on("connection", (socket) => {
      connections++
      openSockets++
      socket.on("close", () => openSockets--)
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resume(Effect.succeed({
        server,
        state: {
          url: (p: string) => `http://127.0.0.1:${port}${p}`,
          aborted,
          received,
          inFlight: () => inFlight,
          connections: () => connections,
          openSockets: () => openSockets
        }
      }))
    })
    server.on("close", () => timers.forEach(clearInterval))
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
).pipe(Effect.map(({ state }) => state))

/** A loopback URL nothing listens on (a port that was free a moment ago). */
export const closedPortUrl: Effect.Effect<string> = Effect.async<string>((resume) => {
  const s = http.createServer()
  s.listen(0, "127.0.0.1", () => {
    const { port } = s.address() as AddressInfo
    s.close(() => resume(Effect.succeed(`http://127.0.0.1:${port}/`)))
  })
})
