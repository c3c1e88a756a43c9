/**
 * The scale-out fetch against the same fetch in one process, in one run: 10,000 URLs (1 KiB each,
 * a loopback server in its own process), with 32 requests in flight in every case:
 *   - one process: `leakproof fetch --concurrency 32`;
 *   - cluster, 1 runner and 2 runners: `leakproof fetch --cluster --batches 4 --concurrency 8` (the
 *     default 500 URLs per batch), runners warmed up by a first job (runners are long-lived);
 *   - cluster, 2 runners, `--batch-size 100`: what a smaller batch costs (a message's fixed cost);
 * URLs/s (the client's wall time) and CPU per URL (client + runners + PostgreSQL, from /proc) as
 * ratios to one process; then the failover time after a SIGKILL of one of 2 runners mid-job.
 * Needs PostgreSQL (scripts/cluster-pg.sh starts it and the bench stops it again).
 * `BENCH_QUICK=1`: 2,000 URLs.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Harness from "../test/support/ClusterHarness.js"

const quick = process.env["BENCH_QUICK"] === "1"
const N = quick ? 2_000 : 10_000

/** CPU seconds of this process's reaped children (the client processes run one at a time). */
const reapedChildren = () => {
  const stat = fs.readFileSync("/proc/self/stat", "utf8")
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(f[13]) + Number(f[14])) / 100
}

interface Run {
  readonly seconds: number
  readonly client: number
  readonly runners: number
  readonly postgres: number
  readonly outcomes: number
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })

const main = async () => {
  const server = spawn(process.execPath, [new URL("./loopbackServer.mjs", import.meta.url).pathname], { stdio: ["ignore", "pipe", "inherit"] })
  const port = await new Promise<number>((resolve) => server.stdout!.once("data", (d: Buffer) => resolve(Number(String(d).trim()))))
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "leakproof-bench-"))
  const file = (name: string, n: number) => {
    const f = path.join(dir, name)
    fs.writeFileSync(f, Array.from({ length: n }, (_, i) => `http://127.0.0.1:${port}/data/${name}-${i}`).join("\n"))
    return f
  }
  const pg = await Harness.startPostgres()
  const name = `leakproof_bench_${process.pid}`
  const db = await Harness.createDatabase(pg.adminUrl, name)
  const runners: Array<Harness.Proc> = []
  try {
    const job = async (args: ReadonlyArray<string>, urlsFile: string): Promise<Run> => {
      const before = { reaped: reapedChildren(), runners: runners.map((r) => Harness.cpuSeconds(r.pid)), pg: Harness.postgresCpuSeconds() }
      const t0 = performance.now()
      const p = Harness.spawnCli([...args, "--retries", "0", "--format", "ndjson", "--file", urlsFile])
      const code = await p.exited
      const seconds = (performance.now() - t0) / 1000
      if (code !== 0) throw new Error(`client exit code ${code}: ${p.stderr()}`)
      return {
        seconds,
        client: reapedChildren() - before.reaped,
        runners: runners.reduce((sum, r, i) => sum + Harness.cpuSeconds(r.pid) - (before.runners[i] ?? 0), 0),
        postgres: Harness.postgresCpuSeconds() - before.pg,
        outcomes: p.stdout().split("\n").filter((l) => l.length > 0).length
      }
    }
    const cluster = ["fetch", "--cluster", "--db", db, "--batches", "4", "--concurrency", "8"]
    const results: Array<[string, Run]> = []
    const report = (label: string, r: Run) => {
      const cpu = r.client + r.runners + r.postgres
      results.push([label, r])
      const base = results[0]![1]
      const baseCpu = base.client + base.runners + base.postgres
      console.log(
        `  ${label.padEnd(22)} ${fmt(N / r.seconds).padStart(6)} URLs/s  ${fmt((cpu / N) * 1000, 2)} ms CPU/URL ` +
          `(client ${fmt((r.client / N) * 1000, 2)}, runners ${fmt((r.runners / N) * 1000, 2)}, postgres ${fmt((r.postgres / N) * 1000, 2)})  ` +
          `speed ${fmt(base.seconds / r.seconds, 2)}x, CPU/URL ${fmt(cpu / baseCpu, 2)}x`
      )
      if (r.outcomes !== N) throw new Error(`${label}: ${r.outcomes} outcomes for ${N} URLs`)
    }

    console.log(`${fmt(N)} URLs of 1 KiB, 32 in flight; load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`)
    await job(["fetch", "--concurrency", "32"], file("warm-local", 1_000))
    report("one process (fetch)", await job(["fetch", "--concurrency", "32"], file("local", N)))

    runners.push(await Harness.startRunner(await Harness.freePort(), db))
    await Harness.waitForShards(db, 1)
    await job([...cluster, "--job", "warm-1"], file("warm-1", 1_000))
    report("cluster, 1 runner", await job([...cluster, "--job", "one"], file("one", N)))

    runners.push(await Harness.startRunner(await Harness.freePort(), db))
    await Harness.waitForShards(db, 2)
    await job([...cluster, "--job", "warm-2"], file("warm-2", 1_000))
    report("cluster, 2 runners", await job([...cluster, "--job", "two"], file("two", N)))
    report("  batches of 100", await job([...cluster, "--batch-size", "100", "--job", "two-100"], file("two-100", N)))

    // Failover: SIGKILL one of the two runners a quarter of the way through a job.
    const client = Harness.spawnCli([...cluster, "--job", "kill", "--retries", "0", "--format", "ndjson", "--file", file("kill", N)])
    while (client.stdout().split("\n").length < N / 4) {
      if (client.child.exitCode !== null) throw new Error(`client ended early: ${client.stderr()}`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    runners[1]!.child.kill("SIGKILL")
    const killedAt = performance.now()
    await Harness.waitForShards(db, 1, 60_000)
    const failover = (performance.now() - killedAt) / 1000
    const code = await client.exited
    const urls = client.stdout().split("\n").filter((l) => l.length > 0).map((l) => (JSON.parse(l) as { url: string }).url)
    const lost = N - new Set(urls).size
    console.log(
      `  kill -9 of 1 of 2 runners after ${fmt(N / 4)} outcomes: shards moved in ${fmt(failover, 1)} s; ` +
        `${urls.length} outcomes, ${lost} lost, client exit code ${code}`
    )
  } finally {
    await Promise.all(runners.map((r) => Harness.stop(r, "SIGKILL")))
    server.kill("SIGTERM")
    fs.rmSync(dir, { recursive: true, force: true })
    await Harness.dropDatabase(pg.adminUrl, name).catch(() => undefined)
    if (pg.startedHere) await Harness.stopPostgres()
  }
}

await main()
