/**
 * `leakproof squares [--workers N] [--format text|json] NUM...`: seed 001's ProcessNumbers from the
 * command line. Numbers come from the arguments, or from stdin (whitespace-separated) when there are
 * none. Negative numbers are ordinary arguments (`squares --workers 1 2 -1 5 7`).
 * Exit codes: 0 all squared, 1 a bad number stopped the pool, 2 bad input.
 */
import { Args, Command, Options } from "@effect/cli"
import { Chunk, Console, Effect, Either, Stream } from "effect"
import { processNumbers } from "../programs/processNumbers.js"
import * as Argv from "./Argv.js"
import { badInput, CliExit } from "./CliExit.js"
import * as InputLines from "./InputLines.js"

// Declared for --help; the numbers are split from the flags by `Argv` (linear time).
const numbers = Args.text({ name: "number" }).pipe(Args.withDescription("integers to square"), Args.repeated)
const workers = Options.integer("workers").pipe(
  Options.withAlias("w"),
  Options.withDescription("worker fibers"),
  Options.withDefault(4)
)
const format = Options.choice("format", ["text", "json"]).pipe(Options.withDefault("text" as const))

const integer = /^[+-]?\d+$/

const parseNumber = (t: string): Either.Either<number, CliExit> =>
  integer.test(t) ? Either.right(Number(t)) : Either.left(badInput(`not an integer: '${t}'`))

const parseNumbers = (texts: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<number>, CliExit> =>
  Effect.suspend(() => {
    const nums = new Array<number>(texts.length)
    for (let i = 0; i < texts.length; i++) {
      const n = parseNumber(texts[i]!)
      if (Either.isLeft(n)) return Effect.fail(n.left)
      nums[i] = n.right
    }
    return Effect.succeed(nums)
  })

// Whitespace-separated numbers from stdin, decoded as a stream.
const readStdin: Effect.Effect<ReadonlyArray<number>, CliExit> = InputLines.fromPath("-", "stdin", "words").pipe(
  Stream.runCollect,
  Effect.flatMap((words) => parseNumbers(Chunk.toReadonlyArray(words)))
)

export const command = Command.make("squares", { numbers, workers, format }, (c) =>
  Effect.gen(function*() {
    const args = yield* Argv.Positionals
    const nums = args.length > 0 ? yield* parseNumbers(args) : yield* readStdin
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
