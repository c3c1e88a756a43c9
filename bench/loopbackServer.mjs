// The benchmark's target, run in its own process: `/data/:n` answers 1 KiB, `/bytes/:size/:n`
// answers `size` bytes (with content-length), `/hang/:n` never answers, `/stats` reports how many
// requests are open, how many sockets are open and how many were ever accepted (besides the ones
// asking for stats). Prints its port on stdout.
import * as http from "node:http"

const body = Buffer.alloc(1024, 120)
const big = new Map()
let open = 0
let sockets = 0
let accepted = 0
let statsSockets = 0
const server = http.createServer((req, res) => {
  if (req.url === "/stats") {
    // the asker opens a socket per stats request (no keep-alive): counted in neither figure
    statsSockets++
    res.end(JSON.stringify({ open, sockets: sockets - 1, accepted: accepted - statsSockets }))
    return
  }
  open++
  res.on("close", () => open--)
  if (req.url.startsWith("/hang")) return
  if (req.url.startsWith("/bytes/")) {
    const size = Number(req.url.split("/")[2])
    let b = big.get(size)
    if (b === undefined) big.set(size, (b = Buffer.alloc(size, 121)))
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": b.length })
    res.end(b)
    return
  }
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": body.length })
  res.end(body)
})
server.on("connection", (socket) => {
  sockets++
  accepted++
  socket.on("close", () => sockets--)
})
server.keepAliveTimeout = 60_000
server.maxConnections = 100_000
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${server.address().port}\n`)
})
process.on("SIGTERM", () => process.exit(0))
