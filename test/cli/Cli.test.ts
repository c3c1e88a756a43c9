import { describe, expect, it } from "@effect/vitest"
import { runCli } from "../support/cli.js"

describe("leakproof CLI", () => {
  it("prints help without colour codes when piped, exit 0", async () => {
    const r = await runCli(["--help"])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("leakproof")
    expect(r.stdout).not.toMatch(/\u001b\[/)
  })

  it("rejects an unknown flag with one line on stderr and exit code 2", async () => {
    const r = await runCli(["--bogus"])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr.trim().split("\n")).toEqual(["leakproof: unknown flag --bogus (see 'leakproof --help')"])
  })
})
