import { describe, expect, it } from "@effect/vitest"
import { runCli } from "../support/cli.js"

const fibers = (stdout: string) => {
  const m = /live fibers: before (\d+), after (\d+) \((.*)\)/.exec(stdout)
  if (m === null) throw new Error(`no fiber line in:\n${stdout}`)
  return { before: Number(m[1]), after: Number(m[2]), verdict: m[3]! }
}

const fixed = [
  ["done-channel", "doWork exited."],
  ["generator", "newRandStream closure exited."],
  ["or-channel", "done after 1s"],
  ["pipeline", "Consumer: got 10"],
  ["fan-out-fan-in", "Job 10 → Worker"],
  ["first-response", "Winner: Server-"],
  ["timeout", "Failed: context deadline exceeded"],
  ["rate-limited", "Total time:"],
  ["ping-pong", "Pong stopped"],
  ["ticker", "Ticker stopped"],
  ["errors-as-values", "Too many errors, breaking!"],
  ["safe-cache", "(0 lost updates)"],
  ["forgotten-sender", "Request 5: 504 Timeout → 0 fiber(s) still alive"]
] as const

const leaky = ["done-channel", "generator", "first-response", "timeout", "ping-pong", "errors-as-values", "forgotten-sender"]

describe.concurrent("leakproof demo", () => {
  it.each(fixed)("demo %s runs in real time, prints what happened and leaves no fiber behind", async (name, line) => {
    const r = await runCli(["demo", name])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(line)
    const f = fibers(r.stdout)
    expect(f.verdict).toBe("no fiber left behind")
    expect(f.after).toBe(f.before)
  })

  it.each(leaky)("demo %s --leaky shows the live fiber count grow", async (name) => {
    const r = await runCli(["demo", name, "--leaky"])
    expect(r.code).toBe(0)
    const f = fibers(r.stdout)
    expect(f.after).toBeGreaterThan(f.before)
    expect(f.verdict).toMatch(/^LEAK: \d+ fiber\(s\) started by this demo are still alive$/)
    expect(r.stderr).toMatch(/^leakproof: interrupting \d+ leaked fiber\(s\) so the process can exit\n$/)
  })

  it("demo forgotten-sender --leaky: live fibers climb by one per request", async () => {
    const r = await runCli(["demo", "forgotten-sender", "--leaky"])
    const counts = [...r.stdout.matchAll(/→ (\d+) fiber\(s\) still alive/g)].map((m) => Number(m[1]))
    expect(counts).toEqual([1, 2, 3, 4, 5])
  })

  it("demo safe-cache --racy loses updates", async () => {
    const r = await runCli(["demo", "safe-cache", "--racy"])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/expected 5000, got \d+ \([1-9]\d* lost updates\)/)
  })

  it("leakproof demo alone names the demos on stderr, exit 2", async () => {
    const r = await runCli(["demo"])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr).toMatch(/^leakproof: which demo\? one of: done-channel, generator, or-channel, .*forgotten-sender \(see 'leakproof demo --help'\)\n$/)
  })

  it("rejects --leaky on a demo that has no leaky version, exit 2", async () => {
    const r = await runCli(["demo", "ticker", "--leaky"])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe("leakproof: unknown flag --leaky (see 'leakproof demo ticker --help')\n")
  })
})
