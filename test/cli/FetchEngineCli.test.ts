/**
 * The fetch engine as the CLI user meets it (spawned bundle, loopback fault server): cancelling
 * never waits for a timeout, `--output DIR` streams bodies to files named in the output.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { runCli } from "../support/cli.js"
import { faultServerForSuite, outputLines } from "../support/suiteServer.js"

const server = faultServerForSuite()
const lines = outputLines

describe("leakproof fetch: the engine from the command line", () => {
  it("--take 1 with more URLs than --concurrency and a 20 s --timeout: exits without waiting for the timeout", async () => {
    const hang = Array.from({ length: 4 }, () => server.url("/hang"))
    const started = Date.now()
    const r = await runCli(["fetch", "--take", "1", "--concurrency", "2", "--timeout", "20s", "--retries", "0", server.url("/ok/1"), ...hang], {
      timeoutMs: 30_000
    })
    expect(Date.now() - started).toBeLessThan(12_000)
    expect(r.code).toBe(0)
    expect(lines(r.stdout)).toHaveLength(1)
    expect(r.stderr).toContain("summary: 5 URLs: 1 succeeded, 0 failed, 4 cancelled")
  })

  it("a 302 with a malformed Location is that URL's failure line; the others are fetched; exit 1", async () => {
    const bad = server.url(`/location?to=${encodeURIComponent("http://[::1:bad")}`)
    const r = await runCli(["fetch", "--retries", "0", bad, server.url("/ok/1"), server.url("/ok/2")])
    expect(r.code).toBe(1)
    const rows = lines(r.stdout).map((l) => JSON.parse(l) as { url: string; error?: string; message?: string })
    expect(Object.fromEntries(rows.map((x) => [x.url, x.error ?? "ok"]))).toEqual({
      [bad]: "InvalidRedirect",
      [server.url("/ok/1")]: "ok",
      [server.url("/ok/2")]: "ok"
    })
    expect(r.stderr).not.toContain("unexpected error")
  })

  it("--output DIR: each body is streamed to its own file, named in the NDJSON line; a failed one leaves no file", async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "leakproof-cli-")), "out")
    try {
      const big = server.url(`/bytes/${2 * 1024 * 1024}`)
      const small = server.url("/ok/7")
      const tooBig = server.url("/big?bytes=4000000")
      const r = await runCli(["fetch", "--retries", "0", "--max-body", "3000000", "--output", dir, big, small, tooBig])
      expect(r.code).toBe(1)
      const rows = lines(r.stdout).map((l) => JSON.parse(l) as { url: string; ok: boolean; bytes?: number; file?: string; error?: string })
      const byUrl = Object.fromEntries(rows.map((x) => [x.url, x]))
      expect(byUrl[big]).toMatchObject({ ok: true, bytes: 2 * 1024 * 1024 })
      expect(byUrl[small]).toMatchObject({ ok: true, bytes: 4 })
      expect(byUrl[tooBig]).toMatchObject({ ok: false, error: "BodyTooLarge" })
      expect(fs.statSync(byUrl[big]!.file!).size).toBe(2 * 1024 * 1024)
      expect(fs.readFileSync(byUrl[small]!.file!, "utf8")).toBe("ok 7")
      expect(fs.readdirSync(dir).map((f) => path.join(dir, f)).sort()).toEqual([byUrl[big]!.file!, byUrl[small]!.file!].sort())
    } finally {
      fs.rmSync(path.dirname(dir), { recursive: true, force: true })
    }
  })

  it("--output into a path that cannot be a directory: one line on stderr, exit 2", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "leakproof-cli-")), "a-file")
    fs.writeFileSync(file, "x")
    try {
      const r = await runCli(["fetch", "--output", path.join(file, "sub"), server.url("/ok/1")])
      expect(r.code).toBe(2)
      expect(r.stdout).toBe("")
      expect(r.stderr.trim().split("\n")).toHaveLength(1)
      expect(r.stderr).toMatch(/^leakproof: invalid --output: cannot create/)
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true })
    }
  })

  // Node 20's recursive mkdir never returns for a missing directory under /proc (it spins in libuv,
  // deaf to SIGTERM); the hard limit's SIGKILL would show as a signal.
  it.runIf(fs.existsSync("/proc/self"))("--output under /proc (where a directory cannot be made): one line, exit 2", async () => {
    const r = await runCli(["fetch", "--output", "/proc/leakproof-nope/sub", server.url("/ok/1")], { timeoutMs: 8_000 })
    expect([r.signal, r.code]).toEqual([null, 2])
    expect(r.stdout).toBe("")
    expect(r.stderr).toMatch(/^leakproof: invalid --output: cannot create \/proc\/leakproof-nope\/sub: ENOENT/)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
  })
})
