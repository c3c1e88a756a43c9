import { describe, expect, it } from "@effect/vitest"
import { runCli } from "../support/cli.js"

describe("leakproof squares (spawned CLI)", () => {
  it("the seed's example as typed: `squares --workers 1 2 -1 5 7` -> results [4], error negative number, exit 1", async () => {
    const r = await runCli(["squares", "--workers", "1", "2", "-1", "5", "7"])
    expect(r.stdout).toBe("results: [4]\nerror: negative number -1 at position 1\n")
    expect(r.code).toBe(1)
  })

  it("--format json prints one object {results, error}", async () => {
    const r = await runCli(["squares", "--workers", "1", "--format", "json", "2", "-1", "5", "7"])
    expect(JSON.parse(r.stdout)).toEqual({ results: [4], error: "negative number -1 at position 1" })
    const ok = await runCli(["squares", "--format", "json", "3", "4"])
    expect(ok.code).toBe(0)
    expect(JSON.parse(ok.stdout).error).toBeNull()
    expect([...JSON.parse(ok.stdout).results].sort()).toEqual([16, 9])
  })

  it("reads numbers from stdin when none are given", async () => {
    const r = await runCli(["squares"], { stdin: "1 2\n3\n" })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^results: \[(\d+, ){2}\d+\]\n$/)
  })

  it.each([
    [["squares", "--workers", "0", "1"], "leakproof: --workers must be a positive integer, got 0"],
    [["squares", "1", "x"], "leakproof: not an integer: 'x'"],
    [["squares", "--bogus", "1"], "leakproof: unknown flag --bogus (see 'leakproof squares --help')"]
  ])("bad input %j: one line on stderr, exit 2", async (args, message) => {
    const r = await runCli(args)
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr.trim().split("\n")).toEqual([message])
  })
})
