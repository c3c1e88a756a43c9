/**
 * Issue 9.4: flags are never data, a repeated single-value flag is rejected, and parsing is linear
 * in the number of arguments.
 */
import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { Args, Command, Options } from "@effect/cli"
import * as Argv from "../../src/cli/Argv.js"
import { runCli } from "../support/cli.js"

const command = Command.make("t", {
  n: Options.integer("retries"),
  c: Options.integer("concurrency").pipe(Options.withAlias("c")),
  leaky: Options.boolean("leaky"),
  urls: Args.text({ name: "url" }).pipe(Args.repeated)
})
const spec = Argv.specOf(Command.getUsage(command))

describe("Argv.split", () => {
  it("separates flags (with their values) from positionals in one pass", () => {
    expect(Argv.split(["a", "--retries", "2", "-1", "-", "-c", "3", "--leaky", "b", "--", "--retries", "x"], spec, "t")).toEqual(
      Either.right({ flags: ["--retries", "2", "-c", "3", "--leaky"], positionals: ["a", "-1", "-", "b", "--retries", "x"] })
    )
  })

  it("a flag that takes a value takes the next argument, whatever it looks like", () => {
    expect(Argv.split(["--retries", "-5", "--concurrency=4"], spec, "t")).toEqual(
      Either.right({ flags: ["--retries", "-5", "--concurrency=4"], positionals: [] })
    )
  })

  it.each([
    [["--retries", "0", "--retries", "2", "u"], "--retries given more than once (see 't --help')"],
    [["-c", "1", "--concurrency=2"], "--concurrency given more than once (see 't --help')"],
    [["--leaky", "--leaky"], "--leaky given more than once (see 't --help')"],
    [["u", "--bogus"], "unknown flag --bogus (see 't --help')"],
    [["--bogus=1"], "unknown flag --bogus (see 't --help')"]
  ])("rejects %j: %s", (args, message) => {
    expect(Argv.split(args, spec, "t")).toEqual(Either.left(expect.objectContaining({ code: 2, message })))
  })

  it("a command without positionals rejects one", () => {
    const none = Argv.specOf(Command.getUsage(Command.make("n", { leaky: Options.boolean("leaky") })))
    expect(Argv.split(["--leaky", "extra"], none, "n")).toEqual(
      Either.left(expect.objectContaining({ code: 2, message: "unexpected argument 'extra' (see 'n --help')" }))
    )
  })

  it.prop(
    "property: positionals keep their order and no flag ever becomes data",
    [fc.array(fc.oneof(fc.constantFrom("u", "-1", "-", "http://x/"), fc.string({ maxLength: 6 }).filter((s) => !s.startsWith("-"))), { maxLength: 30 }), fc.nat(30)],
    ([data, at]) => {
      const i = Math.min(at, data.length)
      const args = [...data.slice(0, i), "--retries", "3", ...data.slice(i)]
      const r = Argv.split(args, spec, "t")
      expect(r).toEqual(Either.right({ flags: ["--retries", "3"], positionals: data }))
    }
  )
})

/** Wall time of the fastest of `runs` runs (the least disturbed by other processes). */
const fastest = async (args: ReadonlyArray<string>, runs: number, timeoutMs: number) => {
  let best = Number.POSITIVE_INFINITY
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    const r = await runCli(args, { timeoutMs })
    expect(r.signal).toBeNull()
    expect(r.code).toBe(2) // parsed everything, then rejected --workers 0 / --concurrency 0
    best = Math.min(best, performance.now() - t0)
  }
  return best
}

describe("argument parsing is linear (spawned CLI)", () => {
  // 10x the arguments must cost well under 10x... of a run that is mostly start-up: a generous
  // bound of 15x the 5k run still fails the quadratic parser (40k took 20 s against 0.5 s).
  it.each([
    ["squares", (n: number) => ["squares", "--workers", "0", ...Array.from({ length: n }, (_, i) => String(i - 7))]],
    ["fetch", (n: number) => ["fetch", "--concurrency", "0", ...Array.from({ length: n }, (_, i) => `http://x/${i}`)]]
  ] as const)("%s: 50k arguments cost less than 15x 5k", async (_name, argsFor) => {
    const small = await fastest(argsFor(5_000), 2, 30_000)
    const large = await fastest(argsFor(50_000), 1, Math.max(30_000, 15 * small))
    expect(large / small).toBeLessThan(15)
  }, 120_000)
})
