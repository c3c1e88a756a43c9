/**
 * Real processes for the cluster's integration test, demo and benchmark: PostgreSQL (through
 * scripts/cluster-pg.sh), a fresh database per run, runner processes of the bundled CLI, and the
 * shard locks as PostgreSQL sees them (how long a dead runner's shards take to move).
 *
 * Plain promises, no Effect: the point is to drive the product from outside, like a user.
 */
import { execFile, spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const run = promisify(execFile)
const root = fileURLToPath(new URL("../../", import.meta.url))
/** The bundled CLI (`npm run bundle`; test/globalSetup.ts builds it for the tests). */
export const bundle = `${root}dist/leakproof.mjs`

// ---------------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------------

export interface Postgres {
  /** postgres://postgres:postgres@127.0.0.1:<port>/postgres */
  readonly adminUrl: string
  /** Whether this call started the server (then the caller stops it when done). */
  readonly startedHere: boolean
}

/** Installs (root + apt-get only) and starts the server if needed. Rejects with the script's one line. */
export const startPostgres = async (): Promise<Postgres> => {
  try {
    const { stdout } = await run(`${root}scripts/cluster-pg.sh`, ["start"], { timeout: 600_000 })
    const [adminUrl, how] = stdout.trim().split(/\s+/)
    if (adminUrl === undefined || !adminUrl.startsWith("postgres://")) throw new Error(`unexpected output: ${stdout}`)
    return { adminUrl, startedHere: how === "started" }
  } catch (e) {
    const err = e as { stderr?: string; message: string }
    throw new Error(
      `PostgreSQL could not be started for the cluster test (scripts/cluster-pg.sh start): ${
        err.stderr?.trim() || err.message
      }`
    )
  }
}

export const stopPostgres = async (): Promise<void> => {
  await run(`${root}scripts/cluster-pg.sh`, ["stop"], { timeout: 60_000 })
}

/** Runs one SQL statement with psql; returns the rows as arrays of strings. */
export const sql = async (url: string, statement: string): Promise<Array<Array<string>>> => {
  const { stdout } = await run("psql", [url, "-qAtX", "-F", "\t", "-c", statement], { timeout: 30_000 })
  return stdout.split("\n").filter((l) => l.length > 0).map((l) => l.split("\t"))
}

const withDatabase = (adminUrl: string, name: string) => {
  const u = new URL(adminUrl)
  u.pathname = `/${name}`
  return u.toString()
}

/** A fresh database for one run (dropped first if a crashed run left it). */
export const createDatabase = async (adminUrl: string, name: string): Promise<string> => {
  await sql(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  await sql(adminUrl, `CREATE DATABASE ${name}`)
  return withDatabase(adminUrl, name)
}

export const dropDatabase = async (adminUrl: string, name: string): Promise<void> => {
  await sql(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
}

/** Shard locks held in this database (advisory locks of the cluster's shard numbers), per backend pid. */
export const shardLocks = async (url: string): Promise<Map<string, number>> => {
  const rows = await sql(
    url,
    `SELECT pid, count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND objid BETWEEN 1000001 AND 1000300 GROUP BY pid`
  )
  return new Map(rows.map(([pid, n]) => [pid!, Number(n)]))
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Waits until all 300 shards are held, by `runners` distinct runners; returns the time it took
 * (ms). Rejects after `withinMs`.
 */
export const waitForShards = async (url: string, runners: number, withinMs = 60_000): Promise<number> => {
  const start = performance.now()
  for (;;) {
    const locks = await shardLocks(url)
    const total = [...locks.values()].reduce((a, b) => a + b, 0)
    if (total === 300 && locks.size === runners) return performance.now() - start
    if (performance.now() - start > withinMs) {
      throw new Error(`shards not settled after ${withinMs} ms: ${total} held by ${locks.size} runner(s)`)
    }
    await sleep(100)
  }
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

/** A port below the OS's ephemeral range (32768-60999) that is free right now. */
export const freePort = async (): Promise<number> => {
  for (let i = 0; i < 100; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer()
      s.once("error", () => resolve(false))
      s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)))
    })
    if (free) return port
  }
  throw new Error("no free port below 32768")
}

export interface Proc {
  readonly child: ChildProcess
  readonly pid: number
  readonly stdout: () => string
  readonly stderr: () => string
  /** Exit code, or 128 + signal number when a signal ended it. */
  readonly exited: Promise<number>
  /** Resolves once stdout contains `text`; rejects if the process exits first or after `withinMs`. */
  readonly waitFor: (text: string, withinMs?: number) => Promise<void>
}

const signalNumbers: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }

/** Spawns `node <bundle> ...args`. */
export const spawnCli = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Proc => {
  const child = spawn(process.execPath, [bundle, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", ...env }
  })
  let out = ""
  let err = ""
  const waiters = new Set<() => void>()
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString()
    for (const w of waiters) w()
  })
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()))
  const exited = new Promise<number>((resolve) =>
    child.on("close", (code, signal) => {
      for (const w of waiters) w()
      resolve(code ?? 128 + (signalNumbers[signal ?? ""] ?? 0))
    })
  )
  const waitFor = (text: string, withinMs = 30_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`no '${text}' after ${withinMs} ms; stderr: ${err}`)), withinMs)
      const check = () => {
        if (out.includes(text)) done()
        else if (child.exitCode !== null || child.signalCode !== null) {
          done(new Error(`exited before '${text}' (code ${child.exitCode}); stderr: ${err}`))
        }
      }
      const done = (e?: Error) => {
        clearTimeout(timer)
        waiters.delete(check)
        if (e) reject(e)
        else resolve()
      }
      waiters.add(check)
      check()
    })
  return { child, pid: child.pid!, stdout: () => out, stderr: () => err, exited, waitFor }
}

/** A runner process on `port`; resolves once it says it is ready. */
export const startRunner = async (port: number, db: string): Promise<Proc> => {
  const p = spawnCli(["runner", "--port", String(port), "--db", db])
  await p.waitFor(": ready")
  return p
}

/** Sends `signal` (if still running) and resolves with the exit code. */
export const stop = async (p: Proc, signal: NodeJS.Signals = "SIGTERM"): Promise<number> => {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal)
  return p.exited
}

// ---------------------------------------------------------------------------------------------
// CPU time, from /proc (Linux)
// ---------------------------------------------------------------------------------------------

const ticks = 100 // USER_HZ on Linux

/** User + system CPU seconds of a live process (and, with `children`, of its reaped children). */
export const cpuSeconds = (pid: number, children = false): number => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  // fields[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17
  const own = Number(fields[11]) + Number(fields[12])
  const reaped = children ? Number(fields[13]) + Number(fields[14]) : 0
  return (own + reaped) / ticks
}

/**
 * CPU seconds of the whole PostgreSQL server: every live postgres process, plus what the
 * postmaster has reaped (backends of clients that have already disconnected).
 */
export const postgresCpuSeconds = (): number => {
  let total = 0
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8")
    } catch {
      continue
    }
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"))
    if (!comm.startsWith("postgres")) continue
    const ppidField = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]
    let parentIsPostgres = false
    try {
      const p = fs.readFileSync(`/proc/${ppidField}/stat`, "utf8")
      parentIsPostgres = p.slice(p.indexOf("(") + 1, p.lastIndexOf(")")).startsWith("postgres")
    } catch {
      parentIsPostgres = false
    }
    // the postmaster (whose parent is not postgres) also counts its reaped children
    total += cpuSeconds(Number(entry), !parentIsPostgres)
  }
  return total
}
