/**
 * The `leakproof` command line: the root command, its subcommands, and the fixes `@effect/cli`
 * needs to behave like a Unix tool (unknown flags rejected, bad input exits 2 with one line,
 * negative numbers accepted as arguments, no colour codes when piped).
 */
import type { CliApp, Usage } from "@effect/cli"
import { Command, CommandDescriptor, ValidationError } from "@effect/cli"
import { Effect, HashMap, Option } from "effect"
import { badInput, CliExit } from "./CliExit.js"
import { withCliConsole } from "./Console.js"
import { defaultJob, fetchCommands } from "./FetchCommand.js"
import * as DemoCommand from "./DemoCommand.js"
import * as RunnerCommand from "./RunnerCommand.js"
import * as ServeCommand from "./ServeCommand.js"
import * as SquaresCommand from "./SquaresCommand.js"

/** Every subcommand, one module each. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyCommand = Command.Command<any, CliApp.CliApp.Environment, unknown, any>
const subcommands: ReadonlyArray<AnyCommand> = [
  ...fetchCommands,
  SquaresCommand.command,
  DemoCommand.command,
  ServeCommand.command,
  RunnerCommand.command
]

// With no command: the main job on the embedded demo server.
const root = Command.make("leakproof", {}, () => defaultJob).pipe(
  Command.withDescription("Go's concurrency patterns on Effect, with no leaked fibers.")
)

const leakproof: AnyCommand = subcommands.length === 0
  ? root
  : root.pipe(Command.withSubcommands(subcommands as unknown as [AnyCommand]))

const builtIns = ["-h", "--help", "--version", "--wizard", "--completions", "--log-level"]

const flagNames = (usage: Usage.Usage): Array<string> => {
  switch (usage._tag) {
    case "Named":
      return usage.names.filter((n) => n.startsWith("-"))
    case "Optional":
    case "Repeated":
      return flagNames(usage.usage)
    case "Alternation":
    case "Concat":
      return [...flagNames(usage.left), ...flagNames(usage.right)]
    default:
      return []
  }
}

/**
 * `@effect/cli` takes an unknown flag as a positional argument. Reject it instead, the way Go's
 * `flag` package does, but let negative numbers (`-1`, `-2.5`) through as arguments.
 */
const checkFlags = (args: ReadonlyArray<string>): CliExit | undefined => {
  const name = args[0]
  const sub = subcommands.find((c) => [...Command.getNames(c)].includes(name ?? ""))
  // A command with subcommands of its own (`demo generator`): check against the nested one's flags.
  const nested = sub === undefined ? Option.none() : HashMap.get(Command.getSubcommands(sub), args[1] ?? "")
  const usage = Option.isSome(nested)
    ? CommandDescriptor.getUsage(nested.value)
    : Command.getUsage(sub ?? root)
  const known = new Set([...builtIns, ...flagNames(usage)])
  for (const arg of args.slice(sub === undefined ? 0 : Option.isSome(nested) ? 2 : 1)) {
    if (arg === "--") break
    if (!arg.startsWith("-") || arg === "-" || /^-\d/.test(arg)) continue
    const flag = arg.split("=")[0]!
    if (!known.has(flag)) {
      const where = sub === undefined ? "leakproof" : Option.isSome(nested) ? `leakproof ${name} ${args[1]}` : `leakproof ${name}`
      return badInput(`unknown flag ${flag} (see '${where} --help')`)
    }
  }
  return undefined
}

/**
 * Runs the CLI on `argv` (the whole `process.argv`). Fails with `CliExit` for bad input (code 2)
 * and for whatever a command decides; validation errors have already been printed as one line.
 */
export const run = (argv: ReadonlyArray<string>): Effect.Effect<void, unknown, CliApp.CliApp.Environment> => {
  const cli = Command.run(leakproof, { name: "leakproof", version: "0.1.0" })
  const bad = checkFlags(argv.slice(2))
  const effect = bad !== undefined
    ? Effect.fail(bad)
    : cli(argv as Array<string>).pipe(
      Effect.catchIf(ValidationError.isValidationError, (e) =>
        Effect.fail(new CliExit({ code: e._tag === "HelpRequested" ? 0 : 2, message: "" })))
    )
  return withCliConsole(effect)
}
