/**
 * scripts/cluster-pg.sh against stand-ins for the PostgreSQL tools (pg_lsclusters, pg_ctlcluster,
 * psql, su) on PATH: what it does to a server it did not create, without touching a real one.
 */
import { afterEach, beforeEach, describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const script = fileURLToPath(new URL("../../scripts/cluster-pg.sh", import.meta.url))

let dir = ""
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "cluster-pg-"))
  const bin = path.join(dir, "bin")
  fs.mkdirSync(bin)
  const tool = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >> "$FAKE_LOG"\n${body}\n`, { mode: 0o755 })
  // one cluster, 16/main on port 5499, online or down as FAKE_STATUS says
  tool("pg_lsclusters", `echo "16 main 5499 \${FAKE_STATUS:-online} postgres /var/lib/postgresql/16/main /var/log/x.log"`)
  tool("pg_ctlcluster", "exit 0")
  // psql answers when its arguments match FAKE_PSQL_OK (a regular expression), fails otherwise
  tool("psql", `case "$*" in *SELECT\\ 1*) echo "$*" | grep -Eq "\${FAKE_PSQL_OK:-.}" && exit 0; echo "psql: connection refused" >&2; exit 2;; esac; exit 0`)
  tool("su", `sh -c "$5"`)
})
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

const run = (env: Record<string, string>) =>
  new Promise<{ code: number; stdout: string; stderr: string; log: string }>((resolve) => {
    const log = path.join(dir, "log")
    fs.writeFileSync(log, "")
    execFile("bash", [script, "start"], {
      env: {
        ...process.env,
        LEAKPROOF_DB: "",
        PATH: `${path.join(dir, "bin")}:${process.env["PATH"]}`,
        FAKE_LOG: log,
        LEAKPROOF_PG_ETC: path.join(dir, "etc"),
        LEAKPROOF_PG_LOCK: path.join(dir, "lock"),
        ...env
      },
      timeout: 30_000
    }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : (error as { code?: number }).code ?? 1, stdout, stderr, log: fs.readFileSync(log, "utf8") }))
  })

describe("scripts/cluster-pg.sh on a server it did not create", () => {
  it("an online server that answers the default URL: used as it is, its password never changed", async () => {
    const r = await run({})
    expect([r.code, r.stdout.trim()]).toEqual([0, "postgres://postgres:postgres@127.0.0.1:5499/postgres running"])
    expect(r.log).not.toMatch(/ALTER|PASSWORD/i)
  })

  it("LEAKPROOF_DB is used when set: its URL, nothing altered", async () => {
    const db = "postgres://me:pw@127.0.0.1:5499/postgres"
    const r = await run({ LEAKPROOF_DB: db, FAKE_PSQL_OK: "me:pw" })
    expect([r.code, r.stdout.trim()]).toEqual([0, `${db} running`])
    expect(r.log).not.toMatch(/ALTER|PASSWORD/i)
  })

  it.each([
    ["no LEAKPROOF_DB", {}],
    ["a LEAKPROOF_DB that does not connect", { LEAKPROOF_DB: "postgres://me:pw@127.0.0.1:5499/postgres" }]
  ])("%s and the default URL refused: one line saying what to set, exit 1, the password left alone", async (_, env) => {
    const r = await run({ ...env, FAKE_PSQL_OK: "^never$" })
    expect(r.code).toBe(1)
    const lines = r.stderr.trim().split("\n")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^cluster-pg: .*LEAKPROOF_DB=postgres:\/\/USER:PASSWORD@127\.0\.0\.1:5499\/postgres/)
    expect(r.stderr + r.stdout).not.toContain(":pw@")
    expect(r.log).not.toMatch(/ALTER|PASSWORD/i)
  })

  it("a server it started and then could not use is stopped again", async () => {
    const r = await run({ FAKE_STATUS: "down", FAKE_PSQL_OK: "^-p " }) // up, but the URL is refused
    expect(r.code).toBe(1)
    expect(r.log).toContain("pg_ctlcluster 16 main start")
    expect(r.log).toContain("pg_ctlcluster 16 main stop")
  })
})

describe("scripts/cluster-pg.sh on a cluster it created", () => {
  it("sets the postgres password there (and only there)", async () => {
    fs.mkdirSync(path.join(dir, "etc", "16", "main"), { recursive: true })
    fs.writeFileSync(path.join(dir, "etc", "16", "main", "leakproof-created"), "")
    const r = await run({})
    expect([r.code, r.stdout.trim()]).toEqual([0, "postgres://postgres:postgres@127.0.0.1:5499/postgres running"])
    expect(r.log).toMatch(/ALTER USER postgres PASSWORD/)
  })
})
