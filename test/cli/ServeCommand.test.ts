import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import * as Http from "node:http"
import { fileURLToPath } from "node:url"
import { runCli } from "../support/cli.js"

const bundle = fileURLToPath(new URL("../../dist/leakproof.mjs", import.meta.url))

const getJson = (url: string): Promise<{ status: number; body: any }> =>
  new Promise((resolve, reject) => {
    Http.get(url, { agent: false }, (res) => {
      let data = ""
      res.on("data", (c) => (data += c))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data === "" ? undefined : JSON.parse(data) }))
    }).on("error", reject)
  })

const listening = /listening on http:\/\/127\.0\.0\.1:(\d+) /

describe("leakproof serve", () => {
  it("SIGTERM: graceful shutdown, exit 0, no fiber left", async () => {
    const r = await runCli(["serve", "--port", "0", "--timeout", "100ms"], {
      signal: { name: "SIGTERM", when: (out) => listening.test(out) }
    })
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const lines = r.stdout.trim().split("\n")
    expect(lines[0]).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+ \(deadline 100ms; GET \/work\?ms=N, \/debug\/fibers, \/healthz\)$/)
    expect(lines.slice(1)).toEqual([
      "SIGTERM: shutting down (grace 5s)",
      "stopped: 0 completed, 0 timed out (504), 0 aborted, 0 bad requests; live fibers 1"
    ])
  })

  it("SIGINT with a request in flight: the request finishes, then the server exits 0", async () => {
    const child = spawn(process.execPath, [bundle, "serve", "--port", "0", "--timeout", "2s"], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
    const port = await new Promise<number>((resolve) =>
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString()
        const m = listening.exec(stdout)
        if (m !== null) resolve(Number(m[1]))
      })
    )
    const base = `http://127.0.0.1:${port}`
    expect(await getJson(`${base}/healthz`)).toEqual({ status: 200, body: { status: "ok" } })
    const work = getJson(`${base}/work?ms=300`)
    // wait (bounded) until the request is parked in its work, as the fiber dump shows
    for (let i = 0; i < 200; i++) {
      const dump = await getJson(`${base}/debug/fibers`)
      if ((dump.body.fibers as Array<string>).some((f) => /\[suspended.*\] in http\.server GET/.test(f))) break
    }
    child.kill("SIGINT")
    expect(await work).toEqual({ status: 200, body: { ms: 300, result: expect.stringMatching(/^worked \d+ms$/) } })
    expect(await exited).toBe(0)
    expect(stdout).toContain("SIGINT: shutting down (grace 5s)")
    expect(stdout).toMatch(/stopped: 1 completed, 0 timed out \(504\), 0 aborted, 0 bad requests; live fibers 1\n$/)
  })

  it.each([
    [["--timeout", "5x"], "leakproof: --timeout: invalid duration '5x' (expected e.g. 500ms, 2s, 1m, 1m30s)"],
    [["--grace", "-1s"], "leakproof: --grace: invalid duration '-1s' (expected e.g. 500ms, 2s, 1m, 1m30s)"],
    [["--port", "70000"], "leakproof: --port: must be from 0 to 65535, got 70000"],
    [["--bogus"], "leakproof: unknown flag --bogus (see 'leakproof serve --help')"]
  ])("rejects %j with one line on stderr and exit 2", async (args, message) => {
    const r = await runCli(["serve", ...args])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr).toBe(`${message}\n`)
  })
})
