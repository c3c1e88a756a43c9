/**
 * The cluster commands' bad input and start-up cost, with no database: every failure is one line
 * on stderr and exit code 2, and the commands that do not use the cluster do not load it.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { runCli } from "../support/cli.js"

const noDb = { LEAKPROOF_DB: "" }

const oneLine = (stderr: string) => stderr.trim().split("\n")

describe("leakproof fetch --cluster / runner: bad input", () => {
  it.each([
    {
      name: "no --db and no LEAKPROOF_DB",
      args: ["fetch", "--cluster", "http://127.0.0.1:1/x"],
      env: noDb,
      message: "leakproof: no database: pass --db postgres://... or set LEAKPROOF_DB"
    },
    {
      name: "a --db that is not a postgres URL",
      args: ["fetch", "--cluster", "--db", "mysql://x/y", "http://127.0.0.1:1/x"],
      env: noDb,
      message: "leakproof: --db: expected a postgres:// URL, got 'mysql://x/y'"
    },
    {
      name: "--db without --cluster",
      args: ["fetch", "--db", "postgres://127.0.0.1:1/x", "http://127.0.0.1:1/x"],
      env: noDb,
      message: "leakproof: --db needs --cluster"
    },
    {
      name: "--job without --cluster",
      args: ["fetch", "--job", "j1", "http://127.0.0.1:1/x"],
      env: noDb,
      message: "leakproof: --job needs --cluster"
    },
    {
      name: "--batch-size without --cluster",
      args: ["fetch", "--batch-size", "10", "http://127.0.0.1:1/x"],
      env: noDb,
      message: "leakproof: --batch-size needs --cluster"
    },
    {
      name: "--batches without --cluster",
      args: ["fetch", "--batches", "2", "http://127.0.0.1:1/x"],
      env: noDb,
      message: "leakproof: --batches needs --cluster"
    },
    {
      name: "a --db with a mistyped scheme: its password is not echoed",
      args: ["fetch", "--cluster", "--db", "postgress://u:secret@h/db", "http://127.0.0.1:1/x"],
      env: noDb,
      message: "leakproof: --db: expected a postgres:// URL, got 'postgress://u:***@h/db'"
    },
    {
      name: "a runner --db with a mistyped scheme: its password is not echoed",
      args: ["runner", "--port", "20003", "--db", "postgress://u:secret@h/db"],
      env: noDb,
      message: "leakproof: --db: expected a postgres:// URL, got 'postgress://u:***@h/db'"
    },
    {
      name: "a LEAKPROOF_DB that is not a URL at all: nothing of it is echoed",
      args: ["fetch", "--cluster", "http://127.0.0.1:1/x"],
      env: { LEAKPROOF_DB: "u:secret@h:5432/db" },
      message: "leakproof: --db: expected a postgres:// URL, got '***@h:5432/db'"
    },
    {
      name: "--output with --cluster (bodies stay on the runners)",
      args: ["fetch", "--cluster", "--output", "out", "--db", "postgres://127.0.0.1:1/x", "http://127.0.0.1:1/x"],
      env: noDb,
      message: "leakproof: --output cannot be used with --cluster (bodies stay on the runners)"
    },
    {
      name: "--batch-size 0",
      args: ["fetch", "--cluster", "--batch-size", "0", "http://127.0.0.1:1/x"],
      env: noDb,
      message: "leakproof: invalid --batch-size: expected an integer >= 1, got 0"
    },
    {
      name: "a runner port in the OS's ephemeral range",
      args: ["runner", "--port", "40000", "--db", "postgres://127.0.0.1:1/x"],
      env: noDb,
      message:
        "leakproof: --port: must be from 1 to 32767 (32768 and up is the OS's range for outgoing connections), got 40000"
    },
    {
      name: "a runner with no database",
      args: ["runner", "--port", "20001"],
      env: noDb,
      message: "leakproof: no database: pass --db postgres://... or set LEAKPROOF_DB"
    }
  ])("$name: one line, exit code 2", async ({ args, env, message }) => {
    const r = await runCli(args, { env })
    expect(r.code).toBe(2)
    expect(oneLine(r.stderr)).toEqual([message])
    expect(r.stderr).not.toContain("secret")
    expect(r.stdout).toBe("")
  })

  it.each([
    ["fetch", ["fetch", "--cluster", "http://127.0.0.1:1/x"]],
    ["runner", ["runner", "--port", "20002"]]
  ])("%s: a database nobody answers on is one line and exit code 2 (LEAKPROOF_DB is the default)", async (_, args) => {
    const r = await runCli(args, { env: { LEAKPROOF_DB: "postgres://leakproof:secret@127.0.0.1:1/none" }, timeoutMs: 20_000 })
    expect(r.code).toBe(2)
    const lines = oneLine(r.stderr)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^leakproof: cannot reach the database at postgres:\/\/leakproof:\*\*\*@127\.0\.0\.1:1\/none: /)
    expect(r.stderr).not.toContain("secret")
  })
})

describe("the CLI bundle", () => {
  const dist = fileURLToPath(new URL("../../dist/", import.meta.url))
  /** The files a start-up loads: the entry and the chunks it imports statically, transitively. */
  const startupFiles = () => {
    const seen = new Set<string>()
    const visit = (file: string) => {
      if (seen.has(file)) return
      seen.add(file)
      const text = fs.readFileSync(file, "utf8")
      for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s*"(\.\/[^"]+)"/gms)) {
        visit(path.resolve(path.dirname(file), m[1]!))
      }
    }
    visit(path.join(dist, "leakproof.mjs"))
    return [...seen]
  }

  it("commands other than runner and fetch --cluster do not load the cluster stack", () => {
    const files = startupFiles()
    const loaded = files.map((f) => fs.readFileSync(f, "utf8")).join("\n")
    expect(loaded).toContain("node_modules/effect/") // the walk does see the libraries
    for (const lib of ["@effect/cluster", "@effect/rpc", "@effect/sql", "@effect/sql-pg", "node_modules/pg/"]) {
      expect(loaded, lib).not.toContain(`// node_modules/${lib.replace("node_modules/", "")}`)
    }
    // ...and the cluster stack is in the bundle, in chunks of its own
    const all = fs.readdirSync(path.join(dist, "cli")).filter((f) => f.endsWith(".mjs"))
    const cluster = all.filter((f) => fs.readFileSync(path.join(dist, "cli", f), "utf8").includes("// node_modules/@effect/cluster/"))
    expect(cluster.length).toBeGreaterThan(0)
    expect(files.map((f) => path.basename(f))).not.toEqual(expect.arrayContaining([cluster[0]]))
  })
})
