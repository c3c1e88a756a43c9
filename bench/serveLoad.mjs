// bench/serve.ts's load generator, run in its own process so that the server process's CPU time
// is the server's alone. undici `Pool` (keep-alive, one request per connection at a time) is a
// cheaper client than node:http's Agent, so the servers, not the client, are what is measured.
// Driven over IPC: { port, path, n, concurrency } -> { seconds, statuses }.
import { Pool } from "undici"

process.on("message", async ({ port, path, n, concurrency }) => {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: concurrency, pipelining: 1 })
  const statuses = {}
  let next = 0
  const worker = async () => {
    while (next < n) {
      next++
      const { statusCode, body } = await pool.request({ path, method: "GET" })
      await body.dump()
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1
    }
  }
  const t0 = performance.now()
  try {
    await Promise.all(Array.from({ length: concurrency }, worker))
  } catch (e) {
    process.send({ error: String(e) })
    return
  }
  const seconds = (performance.now() - t0) / 1000
  await pool.close()
  process.send({ seconds, statuses })
})
process.on("disconnect", () => process.exit(0))
