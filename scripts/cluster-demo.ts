/**
 * `npm run cluster:demo`: the scale-out fetch surviving a killed runner, on this machine.
 *
 * Starts PostgreSQL if needed (scripts/cluster-pg.sh) with a fresh database, the embedded demo
 * server (counting requests per URL), two runner processes and a client (`leakproof fetch
 * --cluster`), kills one runner with SIGKILL a quarter of the way through, and prints what came
 * back: URLs submitted, outcomes received, fetched twice, lost, failover time. Then it stops the
 * other runner with SIGTERM, drops the database and stops PostgreSQL if it started it.
 */
import { Effect, Exit, Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as DemoServer from "../src/services/DemoServer.js"
import * as Harness from "../test/support/ClusterHarness.js"

const N = Number(process.env["DEMO_URLS"] ?? 2000)
const log = (line: string) => process.stdout.write(`${line}\n`)
const redact = (url: string) => url.replace(/:[^:@/]*@/, ":***@")

const demoUrls = (base: string): Array<string> =>
  Array.from({ length: N }, (_, i) => {
    if (i % 100 === 37) return `${base}/fail/${i}`
    if (i === 500 || i === 1500) return `${base}/hang/${i}`
    if (i % 400 === 99) return `${base}/big/${i}?bytes=${3 * 1024 * 1024}`
    return i % 3 === 0 ? `${base}/fast/${i}` : `${base}/slow/${i}?ms=${20 + (i * 37) % 80}`
  })

const main = async (): Promise<number> => {
  const pg = await Harness.startPostgres()
  const name = `leakproof_demo_${process.pid}`
  const db = await Harness.createDatabase(pg.adminUrl, name)
  log(`postgres: ${redact(db)} (${pg.startedHere ? "started for the demo" : "already running"})`)
  const scope = Effect.runSync(Scope.make())
  const hits = new Map<string, number>()
  const runners: Array<Harness.Proc> = []
  let client: Harness.Proc | undefined
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "leakproof-demo-"))
  try {
    const server = await Effect.runPromise(
      DemoServer.make(0, { onRequest: (u) => hits.set(u, (hits.get(u) ?? 0) + 1) }).pipe(Scope.extend(scope))
    )
    log(`demo server: ${server.baseUrl}`)
    const ports = [await Harness.freePort(), await Harness.freePort()]
    runners.push(...await Promise.all(ports.map((port) => Harness.startRunner(port, db))))
    await Harness.waitForShards(db, 2)
    const locks = [...(await Harness.shardLocks(db)).values()]
    log(`runners: 127.0.0.1:${ports[0]} and 127.0.0.1:${ports[1]} ready, shards ${locks.join(" + ")}`)

    const urls = demoUrls(server.baseUrl)
    const file = path.join(dir, "urls.txt")
    fs.writeFileSync(file, `${urls.join("\n")}\n`)
    const flags = ["--batch-size", "50", "--batches", "6", "--concurrency", "8", "--timeout", "1s", "--retries", "1", "--max-body", "1048576"]
    log(`client: leakproof fetch --cluster ${flags.join(" ")} --format ndjson --file urls.txt (${urls.length} URLs)`)
    client = Harness.spawnCli(["fetch", "--cluster", "--db", db, ...flags, "--format", "ndjson", "--file", file])
    const lines = () => client!.stdout().split("\n").filter((l) => l.length > 0)
    while (lines().length < urls.length / 4) {
      if (client.child.exitCode !== null) throw new Error(`the client ended early: ${client.stderr()}`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const victim = runners[1]!
    victim.child.kill("SIGKILL")
    const killedAt = performance.now()
    log(`SIGKILL runner 127.0.0.1:${ports[1]} after ${lines().length} outcomes`)
    await Harness.waitForShards(db, 1, 60_000)
    const failover = (performance.now() - killedAt) / 1000
    log(`runner 127.0.0.1:${ports[0]} holds all 300 shards ${failover.toFixed(1)} s after the kill`)

    const code = await client.exited
    const summary = client.stderr().split("\n").filter((l) => l.includes("summary:") || l.startsWith("         average"))
    log(`client exit code ${code}${code === 1 ? " (some demo URLs fail on purpose: 500, hang, too big)" : ""}`)
    for (const l of summary) log(l)
    const survivorCode = await Harness.stop(runners[0]!, "SIGTERM")
    log(`runner 127.0.0.1:${ports[0]}: SIGTERM, exit code ${survivorCode}`)

    const outcomes = lines().map((l) => JSON.parse(l) as { url: string; attempts: number })
    const received = outcomes.map((o) => o.url)
    const attempts = new Map(outcomes.map((o) => [o.url, o.attempts]))
    const distinct = new Set(received)
    const lost = urls.filter((u) => !distinct.has(u)).length
    // Requests beyond the attempts of the outcome that came back were made by a runner that died
    // mid-batch (retries of transient failures are counted in `attempts`, so they do not count here).
    const twice = urls.filter((u) => (hits.get(u.slice(server.baseUrl.length)) ?? 0) > (attempts.get(u) ?? 0)).length
    log("")
    log(`URLs submitted: ${urls.length}`)
    log(`outcomes received: ${received.length}`)
    log(`fetched twice: ${twice}`)
    log(`lost: ${lost}`)
    log(`failover time: ${failover.toFixed(1)} s`)
    return lost === 0 && received.length === urls.length && survivorCode === 0 ? 0 : 1
  } finally {
    if (client !== undefined) await Harness.stop(client, "SIGKILL")
    await Promise.all(runners.map((r) => Harness.stop(r, "SIGKILL")))
    await Effect.runPromise(Scope.close(scope, Exit.void))
    fs.rmSync(dir, { recursive: true, force: true })
    await Harness.dropDatabase(pg.adminUrl, name).catch(() => undefined)
    if (pg.startedHere) await Harness.stopPostgres()
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`cluster demo: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exit(1)
  }
)
