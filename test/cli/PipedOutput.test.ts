/**
 * Issue 9.1: every byte the CLI writes reaches the pipe before it exits, whatever the exit code,
 * behind a slow reader; a reader that goes away (EPIPE) ends the run quietly.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { bundle, runCli } from "../support/cli.js"
import { faultServerForSuite, outputLines } from "../support/suiteServer.js"

const server = faultServerForSuite()
const lines = outputLines
const summaryCounts = (stderr: string) => {
  const m = /summary: (\d+) URLs: (\d+) succeeded, (\d+) failed.*, (\d+) cancelled/.exec(stderr)
  if (m === null) throw new Error(`no summary in stderr:\n${stderr}`)
  return { total: Number(m[1]), succeeded: Number(m[2]), failed: Number(m[3]), cancelled: Number(m[4]) }
}
// A long query string makes every NDJSON line ~600 bytes, so the slow reader falls behind.
const pad = "p".repeat(500)
const okUrls = (n: number, tag: string) => Array.from({ length: n }, (_, i) => server.url(`/ok/${tag}${i}?${pad}`))

describe("piped output survives every exit code (slow reader)", () => {
  it("squares --format json over 1e6 numbers ending in a negative one: complete valid JSON, exit 1", async () => {
    const nums = Array.from({ length: 1_000_000 }, (_, i) => i % 1000)
    const r = await runCli(["squares", "--format", "json"], {
      stdin: `${nums.join(" ")} -1\n`,
      readRate: 8 * 1024 * 1024,
      timeoutMs: 60_000
    })
    expect(r.code).toBe(1)
    const parsed = JSON.parse(r.stdout) as { results: Array<number>; error: string }
    expect(parsed.error).toBe("negative number -1 at position 1000000")
    expect(parsed.results.length).toBeGreaterThan(0)
  }, 90_000)

  it("fetch of 3,001 URLs with one 404: every NDJSON line is printed, exit 1", async () => {
    const urls = [...okUrls(3000, "a"), server.url("/status/404")]
    const r = await runCli(["fetch", "--concurrency", "64", "--retries", "0", "--file", "-"], {
      stdin: urls.join("\n"),
      readRate: 512 * 1024,
      timeoutMs: 60_000
    })
    expect(r.stderr).toContain("summary: 3001 URLs: 3000 succeeded, 1 failed (Status 1), 0 cancelled")
    expect(lines(r.stdout)).toHaveLength(3001)
    expect(r.code).toBe(1)
  }, 90_000)

  it("exit 0: all lines of a large successful batch", async () => {
    const r = await runCli(["fetch", "--concurrency", "64", "--file", "-"], {
      stdin: okUrls(1500, "z").join("\n"),
      readRate: 256 * 1024,
      timeoutMs: 60_000
    })
    expect(lines(r.stdout)).toHaveLength(1500)
    expect(r.code).toBe(0)
  }, 90_000)

  it.each([["SIGINT", 130], ["SIGTERM", 143]] as const)(
    "%s: the lines printed before the signal all arrive and match the summary, exit %i",
    async (name, code) => {
      // Fewer URLs than --concurrency, so the cancel is immediate and the exit comes while the
      // reader is far behind; 4 KiB lines.
      const big = "q".repeat(4000)
      const ok = Array.from({ length: 100 }, (_, i) => server.url(`/ok/s${i}?${big}`))
      const urls = [...ok, ...Array.from({ length: 8 }, () => server.url("/hang"))]
      const r = await runCli(["fetch", "--concurrency", "200", "--file", "-"], {
        stdin: urls.join("\n"),
        readRate: 128 * 1024,
        signal: { name, when: (out) => out.length > 16 * 1024 },
        timeoutMs: 60_000
      })
      const s = summaryCounts(r.stderr)
      expect(s.cancelled).toBeGreaterThan(0)
      expect(lines(r.stdout)).toHaveLength(s.succeeded + s.failed)
      expect(r.code).toBe(code)
    },
    90_000
  )

  it("--deadline cuts the batch short: every line printed arrives, exit 124", async () => {
    const urls = [...okUrls(1000, "d"), ...Array.from({ length: 4 }, () => server.url("/hang"))]
    const r = await runCli(["fetch", "--concurrency", "64", "--deadline", "2s", "--file", "-"], {
      stdin: urls.join("\n"),
      readRate: 128 * 1024,
      timeoutMs: 60_000
    })
    const s = summaryCounts(r.stderr)
    expect(s.cancelled).toBeGreaterThanOrEqual(4)
    expect(lines(r.stdout)).toHaveLength(s.succeeded + s.failed)
    expect(r.code).toBe(124)
  }, 90_000)
})

/** `leakproof ARGS | head -1` as a shell runs it: the reader takes one line and closes the pipe. */
const headOne = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; first: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [bundle, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    let first = ""
    let stderr = ""
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000)
    child.stdout.on("data", (d: Buffer) => {
      if (first.includes("\n")) return
      first += d.toString()
      if (first.includes("\n")) {
        first = first.slice(0, first.indexOf("\n"))
        child.stdout.destroy() // the reader exits: the next write gets EPIPE
      }
    })
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, first, stderr })
    })
  })

describe("a reader that goes away (EPIPE)", () => {
  // The /hang URLs never answer: the run can only end because the closed pipe cancelled it.
  it("fetch … | head -1: one line, no stack trace, the rest cancelled, exit 141", async () => {
    const urls = [...okUrls(200, "h"), ...Array.from({ length: 50 }, () => server.url("/hang"))]
    const r = await headOne(["fetch", "--concurrency", "16", ...urls])
    expect(JSON.parse(r.first)).toMatchObject({ ok: true })
    expect(r.stderr).toBe("")
    expect(r.code).toBe(141)
  }, 40_000)
})
