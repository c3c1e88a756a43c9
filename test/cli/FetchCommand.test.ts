import { describe, expect, it } from "@effect/vitest"
import { runCli } from "../support/cli.js"
import { faultServerForSuite, outputLines } from "../support/suiteServer.js"

const server = faultServerForSuite()
const lines = outputLines

describe("leakproof fetch (spawned CLI)", () => {
  it("streams one NDJSON object per URL when piped; the summary goes to stderr; exit 0 when all succeed", async () => {
    const r = await runCli(["fetch", server.url("/ok/1"), server.url("/ok/2")])
    expect(r.code).toBe(0)
    const rows = lines(r.stdout).map((l) => JSON.parse(l) as { url: string; ok: boolean; status: number })
    expect(rows.map((x) => [x.url, x.ok, x.status]).sort()).toEqual([
      [server.url("/ok/1"), true, 200],
      [server.url("/ok/2"), true, 200]
    ])
    expect(r.stderr).toContain("summary: 2 URLs: 2 succeeded, 0 failed, 0 cancelled")
  })

  it("a failed URL is one typed line (tag and message) and does not stop the others; exit 1", async () => {
    const r = await runCli(["fetch", "--retries", "0", server.url("/status/404"), "not-a-url", server.url("/ok/3")])
    expect(r.code).toBe(1)
    const rows = lines(r.stdout).map((l) => JSON.parse(l) as { url: string; error?: string; message?: string })
    const byUrl = Object.fromEntries(rows.map((x) => [x.url, x.error ?? "ok"]))
    expect(byUrl).toEqual({ [server.url("/status/404")]: "Status", "not-a-url": "InvalidUrl", [server.url("/ok/3")]: "ok" })
  })

  it("--take 1 consumes one result and cancels the rest; the summary counts them as cancelled", async () => {
    const hang = Array.from({ length: 5 }, () => server.url("/hang"))
    const r = await runCli(["fetch", "--take", "1", "--format", "table", server.url("/ok/9"), ...hang])
    expect(r.code).toBe(0)
    expect(lines(r.stdout)[0]).toMatch(/^ 200 .*\/ok\/9$/)
    expect(r.stdout).toContain("summary: 6 URLs: 1 succeeded, 0 failed, 5 cancelled")
  })

  it("Ctrl-C cancels: results so far are printed, the summary says how many were cancelled, exit 130", async () => {
    const hang = Array.from({ length: 4 }, () => server.url("/hang"))
    const r = await runCli(["fetch", server.url("/ok/1"), ...hang], {
      signal: { name: "SIGINT", when: (out) => out.includes("/ok/1") }
    })
    expect(r.code).toBe(130)
    expect(lines(r.stdout)).toHaveLength(1)
    expect(r.stderr).toContain("summary: 5 URLs: 1 succeeded, 0 failed, 4 cancelled")
  })

  it.each([
    [["fetch", "--concurrency", "0", "http://x"], "leakproof: invalid --concurrency: expected an integer >= 1, got 0"],
    [["fetch", "--timeout", "abc", "http://x"], "leakproof: --timeout: invalid duration 'abc' (expected e.g. 500ms, 2s, 1m, 1m30s)"],
    [["fetch", "--bogus", "http://x"], "leakproof: unknown flag --bogus (see 'leakproof fetch --help')"],
    [["fetch"], "leakproof: no URLs: give them as arguments or with --file"],
    [["fetch", "--file", "/nonexistent/urls.txt"], "leakproof: --file /nonexistent/urls.txt: ENOENT: no such file or directory, open '/nonexistent/urls.txt'"]
  ])("bad input %j: one clear line on stderr, exit 2, no stack trace", async (args, message) => {
    const r = await runCli(args)
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr.trim().split("\n")).toEqual([message])
  })

  it("--concurrency abc is a parse error: one line, exit 2", async () => {
    const r = await runCli(["fetch", "--concurrency", "abc", "http://x"])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe("leakproof: --concurrency: 'abc' is not an integer (see 'leakproof fetch --help')\n")
  })

  it("reads URLs from stdin with --file -", async () => {
    const r = await runCli(["fetch", "--file", "-"], { stdin: `# a comment\n${server.url("/ok/a")}\n\n${server.url("/ok/b")}\n` })
    expect(r.code).toBe(0)
    expect(lines(r.stdout)).toHaveLength(2)
  })
})

describe("leakproof fetch-all, first, check-status (spawned CLI)", () => {
  it("fetch-all: the first failure cancels the rest and is reported with the results completed before it; exit 1", async () => {
    const r = await runCli(["fetch-all", "--retries", "0", server.url("/ok/1"), server.url("/status/500"), server.url("/hang")], {
      signal: { name: "SIGKILL", when: () => false }
    })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/fetch-all: Status: HTTP 500 .*; \d completed before it, the rest were cancelled/)
  })

  it("first: the first success wins; exit 0", async () => {
    const r = await runCli(["first", "--format", "table", server.url("/hang"), server.url("/ok/win")])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/200 .*\/ok\/win/)
  })

  it("check-status --max-errors 2 stops after the second error; exit 1", async () => {
    const r = await runCli(["check-status", "--concurrency", "1", "--max-errors", "2", "--retries", "0", "a", server.url("/ok/1"), "b", "c", "d"])
    expect(r.code).toBe(1)
    expect(lines(r.stdout)).toHaveLength(3)
    expect(r.stderr).toContain("too many errors (2), stopped")
  })
})

describe("leakproof (the default job)", () => {
  it("runs the demo against its embedded server and ends with as many live fibers as it started with", async () => {
    const r = await runCli([], { timeoutMs: 20_000 })
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/summary: 50 URLs: \d+ succeeded, \d+ failed/)
    expect(r.stdout).toMatch(/live fibers: (\d+) before, \1 after \(no leak\)/)
  }, 30_000)
})
