/**
 * `leakproof squares [--workers N] [--format text|json] NUM...`: seed 001's ProcessNumbers from the
 * command line. Numbers come from the arguments, or from stdin (whitespace-separated) when there are
 * none. Negative numbers are ordinary arguments (`squares --workers 1 2 -1 5 7`).
 * Exit codes: 0 all squared, 1 a bad number stopped the pool, 2 bad input.
 */
import { Args, Command, Options } from "@effect/cli"
import { Console, Effect, Either } from "effect"
import { processNumbers } from "../programs/processNumbers.js"
import { badInput, CliExit } from "./CliExit.js"

const numbers = Args.text({ name: "number" }).pipe(Args.withDescription("integers to square"), Args.repeated)
const workers = Options.integer("workers").pipe(
  Options.withAlias("w"),
  Options.withDescription("worker fibers"),
  Options.withDefault(4)
)
const format = Options.choice("format", ["text", "json"]).pipe(Options.withDefault("text" as const))

const readStdin = Effect.tryPromise({
  try: async () => {
    let text = ""
    for await (const chunk of process.stdin) text += String(chunk)
    return text
  },
  catch: (e) => badInput(`stdin: ${e instanceof Error ? e.message : String(e)}`)
})

const parseNumbers = (texts: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<number>, CliExit> =>
  Effect.forEach(texts, (t) =>
    /^[+-]?\d+$/.test(t) ? Effect.succeed(Number(t)) : Effect.fail(badInput(`not an integer: '${t}'`)))

export const command = Command.make("squares", { numbers, workers, format }, (c) =>
  Effect.gen(function*() {
    const texts = c.numbers.length > 0
      ? c.numbers
      : (yield* readStdin).split(/\s+/).filter((t) => t.length > 0)
    const nums = yield* parseNumbers(texts)
    if (!Number.isSafeInteger(c.workers) || c.workers < 1) {
      return yield* badInput(`--workers must be a positive integer, got ${c.workers}`)
    }
    const result = yield* Effect.either(processNumbers(nums, c.workers))
    const results = Either.match(result, {
      onLeft: (e) => (e._tag === "JobFailed" ? e.completed : []),
      onRight: (r) => r
    })
    const error = Either.isLeft(result) ? result.left.message : null
    if (c.format === "json") {
      yield* Console.log(JSON.stringify({ results, error }))
    } else {
      yield* Console.log(`results: [${results.join(", ")}]`)
      if (error !== null) yield* Console.log(`error: ${error}`)
    }
    if (Either.isLeft(result)) {
      const e = result.left
      return yield* new CliExit({ code: e._tag === "JobFailed" ? 1 : 2, message: e._tag === "JobFailed" ? "" : e.message })
    }
  })).pipe(Command.withDescription("Seed 001 ProcessNumbers: square numbers on a fail-fast worker pool; a negative number stops everything."))
