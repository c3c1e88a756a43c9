import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import * as Http from "node:http"
import * as Net from "node:net"
import { fileURLToPath } from "node:url"
import { runCli } from "../support/cli.js"
import * as RawHttp from "../support/RawHttp.js"

const bundle = fileURLToPath(new URL("../../dist/leakproof.mjs", import.meta.url))

const getJson = (url: string): Promise<{ status: number; body: any }> =>
  new Promise((resolve, reject) => {
    Http.get(url, { agent: false }, (res) => {
      let data = ""
      res.on("data", (c) => (data += c))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data === "" ? undefined : JSON.parse(data) }))
    }).on("error", reject)
  })

/** Whether the grouped fiber dump shows a request suspended in `/work`. */
const parkedInWork = (dump: { groups: Array<{ state: string; spans: Array<string> }> }): boolean =>
  dump.groups.some((g) => g.state.startsWith("suspended") && g.spans.includes("http.server GET /work"))

const listening = /listening on http:\/\/127\.0\.0\.1:(\d+) /

/** Starts `leakproof serve` and resolves once it listens, with its port. */
const startServe = async (args: ReadonlyArray<string>) => {
  const child = spawn(process.execPath, [bundle, "serve", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal }))
  )
  const killer = setTimeout(() => child.kill("SIGKILL"), 15_000)
  void exited.then(() => clearTimeout(killer))
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString()
      const m = listening.exec(stdout)
      if (m !== null) resolve(Number(m[1]))
    })
    void exited.then(() => reject(new Error(`serve exited before listening: ${stderr}`)))
  })
  return { child, port, exited, stdout: () => stdout, stderr: () => stderr }
}

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
      if (parkedInWork((await getJson(`${base}/debug/fibers`)).body)) break
    }
    child.kill("SIGINT")
    expect(await work).toEqual({ status: 200, body: { ms: 300, result: expect.stringMatching(/^worked \d+ms$/) } })
    expect(await exited).toBe(0)
    expect(stdout).toContain("SIGINT: shutting down (grace 5s)")
    expect(stdout).toMatch(/stopped: 1 completed, 0 timed out \(504\), 0 aborted, 0 bad requests; live fibers 1\n$/)
  })

  it.each(["SIGTERM", "SIGINT"] as const)(
    "%s just after 100 fresh connections sent their requests: every one is answered, none reset, exit 0",
    async (signal) => {
      const serve = await startServe(["--timeout", "2s", "--grace", "2s"])
      const sent = await RawHttp.fresh(serve.port, 100, (i) => RawHttp.get(i % 2 === 0 ? "/work?ms=20" : "/healthz"))
      serve.child.kill(signal)
      const outcomes = await sent.outcomes
      const unanswered = outcomes.filter((o) => !(o._tag === "Reply" && (o.status === 200 || o.status === 503)))
      expect(unanswered).toEqual([])
      expect(await serve.exited).toEqual({ code: 0, signal: null })
      expect(serve.stderr()).toBe("")
      expect(serve.stdout()).toMatch(/; live fibers 1\n$/)
    }
  )

  // The shutdown used to die (TypeError in its finalizer) when two or more requests were still
  // running when the grace ran out: `serve` then exited with a defect instead of 0.
  it("SIGTERM with two /work requests still running past the grace: both answered 503, exit 0, nothing on stderr", async () => {
    const serve = await startServe(["--timeout", "30s", "--grace", "100ms"])
    const work = await RawHttp.fresh(serve.port, 2, () => RawHttp.get("/work?ms=20000"))
    // wait (bounded) until both requests are parked in their work, as the fiber dump shows
    for (let i = 0; i < 200; i++) {
      const dump = (await getJson(`http://127.0.0.1:${serve.port}/debug/fibers`)).body as {
        groups: Array<{ count: number; state: string; spans: Array<string> }>
      }
      const parked = dump.groups
        .filter((g) => g.state.startsWith("suspended") && g.spans.includes("http.server GET /work"))
        .reduce((n, g) => n + g.count, 0)
      if (parked >= 2) break
    }
    serve.child.kill("SIGTERM")
    expect(await serve.exited).toEqual({ code: 0, signal: null })
    expect(serve.stderr()).toBe("")
    expect((await work.outcomes).map((o) => (o._tag === "Reply" ? o.status : o._tag))).toEqual([503, 503])
    expect(serve.stdout()).toMatch(/stopped: 0 completed, 0 timed out \(504\), 2 aborted, 0 bad requests; live fibers 1\n$/)
  })

  it("a port already in use: one line on stderr, exit 1", async () => {
    const taken = Net.createServer()
    const port = await new Promise<number>((resolve) =>
      taken.listen(0, "127.0.0.1", () => resolve((taken.address() as Net.AddressInfo).port))
    )
    try {
      const r = await runCli(["serve", "--port", String(port)])
      expect(r.code).toBe(1)
      expect(r.stdout).toBe("")
      expect(r.stderr).toMatch(new RegExp(`^leakproof: cannot listen on 127\\.0\\.0\\.1:${port}: [^\\n]*EADDRINUSE[^\\n]*\\n$`))
    } finally {
      taken.close()
    }
  })

  it.each([["SIGINT", 130], ["SIGTERM", 143]] as const)(
    "a second %s during the shutdown forces the exit: one line on stderr, exit %i",
    async (signal, code) => {
      const serve = await startServe(["--timeout", "30s", "--grace", "30s"])
      const work = RawHttp.fresh(serve.port, 1, () => RawHttp.get("/work?ms=20000"))
      // wait (bounded) until the request is parked in its work, as the fiber dump shows
      for (let i = 0; i < 200; i++) {
        if (parkedInWork((await getJson(`http://127.0.0.1:${serve.port}/debug/fibers`)).body)) break
      }
      serve.child.kill(signal)
      await new Promise<void>((resolve) => {
        const check = () => (serve.stdout().includes("shutting down") ? resolve() : setTimeout(check, 5))
        check()
      })
      serve.child.kill(signal)
      expect(await serve.exited).toEqual({ code, signal: null })
      expect(serve.stderr()).toBe(`leakproof: second ${signal} during the shutdown: exiting now, 1 request cut off\n`)
      expect((await (await work).outcomes)[0]?._tag).not.toBe("Reply")
    }
  )

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
