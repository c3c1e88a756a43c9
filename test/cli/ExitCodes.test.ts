/**
 * The exit-code table (README, "Exit codes"; src/cli/CliExit.ts), one test per row and command,
 * against the spawned CLI. Output loss and EPIPE (rows 130/143/141 behind a slow reader) are in
 * PipedOutput.test.ts; precedence and 70 in-process in RunMain.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { runCli } from "../support/cli.js"
import { faultServerForSuite } from "../support/suiteServer.js"

const server = faultServerForSuite()
// Answers every request with a 302 whose Location cannot be parsed (issue 9.2's defect).
let badRedirect: Http.Server
let badRedirectUrl: string

beforeAll(async () => {
  badRedirect = Http.createServer((_req, res) => {
    res.writeHead(302, { location: "http://[::1:bad" })
    res.end()
  })
  await new Promise<void>((r) => badRedirect.listen(0, "127.0.0.1", r))
  badRedirectUrl = `http://127.0.0.1:${(badRedirect.address() as AddressInfo).port}/r`
})
afterAll(async () => {
  await new Promise((r) => badRedirect.close(r))
})

const hang = (n: number) => Array.from({ length: n }, () => server.url("/hang"))
const oneLine = (stderr: string) => expect(stderr.trim().split("\n")).toHaveLength(1)

describe("0: the job ran to the end and everything it reports succeeded", () => {
  it.each([
    ["fetch", () => ["fetch", server.url("/ok/1"), server.url("/ok/2")]],
    ["fetch --take 1 (the one taken succeeded)", () => ["fetch", "--take", "1", server.url("/ok/1"), ...hang(3)]],
    ["fetch-all", () => ["fetch-all", server.url("/ok/1"), server.url("/ok/2")]],
    ["first", () => ["first", server.url("/status/500"), server.url("/ok/1")]],
    ["check-status", () => ["check-status", server.url("/ok/1")]],
    ["squares", () => ["squares", "1", "2"]],
    ["demo", () => ["demo", "or-channel"]],
    ["--help", () => ["--help"]],
    ["fetch --help", () => ["fetch", "--help"]]
  ] as const)("%s", async (_name, args) => {
    const r = await runCli(args())
    expect(r.code).toBe(0)
  })
})

describe("1: the job ran and reports a failure", () => {
  it.each([
    ["fetch: a URL failed", () => ["fetch", "--retries", "0", server.url("/ok/1"), server.url("/status/404")]],
    ["fetch --take 1: the result taken failed", () => ["fetch", "--take", "1", "--retries", "0", server.url("/status/404"), ...hang(3)]],
    ["fetch-all: one failed", () => ["fetch-all", "--retries", "0", server.url("/ok/1"), server.url("/status/404")]],
    ["first: all failed", () => ["first", "--retries", "0", server.url("/status/404"), "not-a-url"]],
    ["check-status: too many errors", () => ["check-status", "--max-errors", "1", "--retries", "0", "x", server.url("/ok/1")]],
    ["squares: a negative number", () => ["squares", "1", "-2"]]
  ] as const)("%s", async (_name, args) => {
    const r = await runCli(args())
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(r.code).toBe(1)
  })
})

describe("2: bad input, one line on stderr, nothing on stdout", () => {
  it.each([
    [["fetch", "--retries", "0", "--retries", "2", "http://x"], "leakproof: --retries given more than once (see 'leakproof fetch --help')"],
    [["squares", "--workers", "2", "--workers", "3", "1"], "leakproof: --workers given more than once (see 'leakproof squares --help')"],
    [["squares", "-w", "2", "--workers=3", "1"], "leakproof: --workers given more than once (see 'leakproof squares --help')"],
    [["demo", "nope"], "leakproof: unknown demo 'nope'; one of: done-channel, generator, or-channel, pipeline, fan-out-fan-in, first-response, timeout, rate-limited, ping-pong, ticker, errors-as-values, safe-cache, forgotten-sender (see 'leakproof demo --help')"],
    [["nope"], "leakproof: unknown command 'nope' (see 'leakproof --help')"],
    [["demo", "ticker", "extra"], "leakproof: unexpected argument 'extra' (see 'leakproof demo ticker --help')"],
    [["fetch-all", "--take", "1", "http://x"], "leakproof: unknown flag --take (see 'leakproof fetch-all --help')"],
    [["first", "--deadline", "soon", "http://x"], "leakproof: --deadline: invalid duration 'soon' (expected e.g. 500ms, 2s, 1m, 1m30s)"],
    [["check-status", "--max-errors", "0", "http://x"], "leakproof: invalid --max-errors: expected an integer >= 1, got 0"],
    [["fetch", "--take", "0", "http://x"], "leakproof: invalid --take: expected an integer >= 1, got 0"],
    [["fetch", "http://x", "--concurrency"], "leakproof: --concurrency needs a value (see 'leakproof fetch --help')"],
    [["fetch", "--format", "xml", "http://x"], "leakproof: --format: 'xml' is not one of table, ndjson (see 'leakproof fetch --help')"],
    [["serve", "--port", "80.5"], "leakproof: --port: '80.5' is not an integer (see 'leakproof serve --help')"]
  ])("%j", async (args, message) => {
    const r = await runCli(args)
    expect(r.stdout).toBe("")
    expect(r.stderr).toBe(`${message}\n`)
    expect(r.code).toBe(2)
  })

  it("stdin that is not numbers (squares) or not UTF-8 (fetch --file -)", async () => {
    const squares = await runCli(["squares"], { stdin: "1 2 three\n" })
    expect([squares.code, squares.stderr]).toEqual([2, "leakproof: not an integer: 'three'\n"])
    const fetch = await runCli(["fetch", "--file", "-"], { stdin: Buffer.from([...Buffer.from("http://x/"), 0xff, 0x0a]) })
    expect(fetch.code).toBe(2)
    oneLine(fetch.stderr)
  })

  it("a flag is never data: `fetch --retries 0 --retries 2 URL` fetches nothing", async () => {
    const r = await runCli(["fetch", "--retries", "0", "--retries", "2", server.url("/ok/x")])
    expect(r.code).toBe(2)
    expect(server.received).not.toContain("/ok/x")
  })
})

describe("70: an internal error is one line, never 0", () => {
  // A malformed Location made `new URL` throw inside the HTTP client (issue 9.2). Until the engine
  // turns it into a typed failure of that URL (exit 1), it is a defect (exit 70); never 0.
  it.each([["fetch"], ["fetch-all"], ["first"], ["check-status"]])("%s with a redirect to 'http://[::1:bad'", async (command) => {
    const r = await runCli([command, "--retries", "0", badRedirectUrl])
    expect([1, 70]).toContain(r.code)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    if (r.code === 70) expect(r.stderr).toMatch(/^leakproof: internal error: .+$/m)
  })
})

describe("124: --deadline cut the batch short", () => {
  it.each([
    ["fetch", () => ["fetch", "--deadline", "300ms", server.url("/ok/1"), ...hang(2)]],
    ["check-status", () => ["check-status", "--deadline", "300ms", server.url("/ok/1"), ...hang(2)]],
    ["fetch-all", () => ["fetch-all", "--deadline", "300ms", server.url("/ok/1"), ...hang(2)]],
    ["first", () => ["first", "--deadline", "300ms", ...hang(2)]],
    ["fetch, a failure too (124 wins over 1)", () => ["fetch", "--retries", "0", "--deadline", "300ms", server.url("/status/404"), ...hang(2)]]
  ] as const)("%s", async (_name, args) => {
    const r = await runCli(args())
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(r.code).toBe(124)
  })

  it("fetch --deadline with a --take that was reached first: the take decides (0)", async () => {
    const r = await runCli(["fetch", "--deadline", "5s", "--take", "1", server.url("/ok/1"), ...hang(2)])
    expect(r.code).toBe(0)
  })
})

describe("130 / 143: interrupted by SIGINT / SIGTERM", () => {
  it.each([["SIGINT", 130], ["SIGTERM", 143]] as const)("fetch: %s -> %i, the summary printed", async (name, code) => {
    const r = await runCli(["fetch", server.url("/ok/1"), ...hang(3)], { signal: { name, when: (out) => out.includes("/ok/1") } })
    expect(r.stderr).toContain("summary: 4 URLs: 1 succeeded, 0 failed, 3 cancelled")
    expect(r.code).toBe(code)
  })

  it.each([["SIGINT", 130], ["SIGTERM", 143]] as const)("demo ticker: %s -> %i", async (name, code) => {
    const r = await runCli(["demo", "ticker"], { signal: { name, when: (out) => out.startsWith("ticker:") } })
    expect(r.code).toBe(code)
  })

  /** Resolves once the test server has received `n` requests for `path` (bounded poll). */
  const received = (path: string, n: number) =>
    new Promise<void>((resolve, reject) => {
      let tries = 0
      const timer = setInterval(() => {
        if (server.received.filter((p) => p === path).length >= n) resolve(clearInterval(timer))
        else if (++tries > 2_000) reject(clearInterval(timer))
      }, 5)
    })

  it.each([["SIGINT", 130], ["SIGTERM", 143]] as const)("fetch-all, first, check-status: %s -> %i", async (name, code) => {
    for (const command of ["fetch-all", "first", "check-status"]) {
      const path = `/hang/${command}-${name}`
      const r = await runCli([command, server.url(path), server.url(path)], { signalOn: { name, ready: received(path, 2) } })
      expect([command, r.code, r.signal]).toEqual([command, code, null])
    }
  })
})

describe("serve follows the table", () => {
  it("cannot listen (port in use): one line, exit 1", async () => {
    const busy = Http.createServer()
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r))
    const port = (busy.address() as AddressInfo).port
    const r = await runCli(["serve", "--port", String(port)])
    busy.close()
    oneLine(r.stderr)
    expect(r.code).toBe(1)
  })
})
