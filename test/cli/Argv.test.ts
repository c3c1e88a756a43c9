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
  format: Options.choice("format", ["table", "ndjson"]).pipe(Options.optional),
  ratio: Options.float("ratio").pipe(Options.optional),
  name: Options.text("name").pipe(Options.optional),
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

  // Go's flag package names the flag and the value it could not parse; @effect/cli said
  // "'1.5' is not a integer" without the flag, and took `--concurrency` with no value as absent.
  it.each([
    [["--concurrency", "abc"], "--concurrency: 'abc' is not an integer (see 't --help')"],
    [["-c", "1.5", "u"], "--concurrency: '1.5' is not an integer (see 't --help')"],
    [["--retries=", "u"], "--retries: '' is not an integer (see 't --help')"],
    [["--retries", "99999999999999999999"], "--retries: '99999999999999999999' is out of range (see 't --help')"],
    [["--ratio", "fast"], "--ratio: 'fast' is not a number (see 't --help')"],
    [["--format", "xml"], "--format: 'xml' is not one of table, ndjson (see 't --help')"],
    [["u", "--concurrency"], "--concurrency needs a value (see 't --help')"],
    [["u", "--name"], "--name needs a value (see 't --help')"]
  ])("rejects a bad value %j: %s", (args, message) => {
    expect(Argv.split(args, spec, "t")).toEqual(Either.left(expect.objectContaining({ code: 2, message })))
  })

  it.each([
    [["--retries", "-5", "--concurrency=+4"]],
    [["--ratio", "-0.5", "--format=ndjson", "--name", "--not-a-flag"]],
    [["--ratio=1e3", "--format", "table", "--name="]]
  ])("accepts the values %j", (args) => {
    expect(Argv.split(args, spec, "t")).toEqual(Either.right({ flags: args, positionals: [] }))
  })

  it.prop(
    "property: an integer flag accepts exactly the safe integers",
    [fc.oneof(fc.integer().map(String), fc.string({ maxLength: 8 }), fc.double().map(String))],
    ([value]) => {
      const ok = /^[+-]?\d+$/.test(value) && Number.isSafeInteger(Number(value))
      expect(Either.isRight(Argv.split(["--retries", value], spec, "t"))).toBe(ok)
    }
  )

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
