// The benchmark's target, run in its own process: `/data/:n` answers 1 KiB, `/hang/:n` never
// answers, `/stats` reports how many requests are open. Prints its port on stdout.
import * as http from "node:http"

const body = Buffer.alloc(1024, 120)
let open = 0
const server = http.createServer((req, res) => {
  if (req.url === "/stats") {
    res.end(JSON.stringify({ open }))
    return
  }
  open++
  res.on("close", () => open--)
  if (req.url.startsWith("/hang")) return
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": body.length })
  res.end(body)
})
server.keepAliveTimeout = 60_000
server.maxConnections = 100_000
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${server.address().port}\n`)
})
process.on("SIGTERM", () => process.exit(0))
