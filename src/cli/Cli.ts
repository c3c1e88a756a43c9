/**
 * The `leakproof` command line: the root command, its subcommands, and the fixes `@effect/cli`
 * needs to behave like a Unix tool (unknown and repeated flags rejected, positionals parsed in one
 * linear pass, bad input exits 2 with one line, negative numbers accepted as arguments, no colour
 * codes when piped).
 *
 * Start-up: each subcommand's module is loaded with `import()` only when that command runs (all of
 * them only for the root's `--help`), so `leakproof squares` never loads the HTTP stacks.
 */
import type { CliApp } from "@effect/cli"
import { Command, CommandDescriptor, ValidationError } from "@effect/cli"
import { Effect, Either, HashMap } from "effect"
import * as Argv from "./Argv.js"
import { badInput, CliExit } from "./CliExit.js"
import { withCliConsole } from "./Console.js"

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyCommand = Command.Command<any, any, unknown, any>

interface Loaded {
  readonly command: AnyCommand
  /** For a command with subcommands of its own (`demo`): their names, in the order of `--help`. */
  readonly children?: ReadonlyArray<string>
}

/** Every subcommand, in `--help` order, each loaded on demand. */
const entries: ReadonlyArray<{ readonly name: string; readonly load: () => Promise<Loaded> }> = [
  ...(["fetch", "fetch-all", "first", "check-status"] as const).map((name) => ({
    name,
    load: () => import("./FetchCommand.js").then((m): Loaded => ({ command: m.fetchCommands[name] }))
  })),
  { name: "squares", load: () => import("./SquaresCommand.js").then((m): Loaded => ({ command: m.command })) },
  {
    name: "demo",
    load: () => import("./DemoCommand.js").then((m): Loaded => ({ command: m.command, children: m.names }))
  },
  { name: "serve", load: () => import("./ServeCommand.js").then((m): Loaded => ({ command: m.command })) },
  { name: "runner", load: () => import("./RunnerCommand.js").then((m): Loaded => ({ command: m.command })) }
]

// With no command: the main job on the embedded demo server.
const root = Command.make("leakproof", {}, () =>
  Effect.flatMap(Effect.promise(() => import("./FetchCommand.js")), (m) => m.defaultJob)).pipe(
    Command.withDescription("Go's concurrency patterns on Effect, with no leaked fibers.")
  )

const withSubcommands = (commands: ReadonlyArray<AnyCommand>): AnyCommand =>
  commands.length === 0 ? root : root.pipe(Command.withSubcommands(commands as unknown as [AnyCommand]))

const app = (command: AnyCommand) => Command.run(command, { name: "leakproof", version: "0.1.0" })

/** What to hand `@effect/cli`: the command tree to load, its argv (flags only), the positionals. */
interface Plan {
  readonly commands: ReadonlyArray<AnyCommand>
  readonly argv: ReadonlyArray<string>
  readonly positionals: ReadonlyArray<string>
}

const fromEither = <A>(e: Either.Either<A, CliExit>): Effect.Effect<A, CliExit> =>
  Either.isLeft(e) ? Effect.fail(e.left) : Effect.succeed(e.right)

const plan = (argv: ReadonlyArray<string>): Effect.Effect<Plan, CliExit> =>
  Effect.gen(function*() {
    const [node = "node", script = "leakproof", ...args] = argv
    const name = args[0]
    const entry = entries.find((e) => e.name === name)
    if (entry === undefined) {
      if (name !== undefined && !name.startsWith("-")) {
        return yield* badInput(`unknown command '${name}' (see 'leakproof --help')`)
      }
      const { flags } = yield* fromEither(Argv.split(args, Argv.specOf(Command.getUsage(root)), "leakproof"))
      // The root's help lists every subcommand: only then are they all loaded.
      const all = flags.some((f) => ["-h", "--help", "--wizard"].includes(f) || f.startsWith("--completions"))
      const commands = all ? (yield* Effect.promise(() => Promise.all(entries.map((e) => e.load())))).map((l) => l.command) : []
      return { commands: [...new Set(commands)], argv: [node, script, ...flags], positionals: [] }
    }
    const loaded = yield* Effect.promise(entry.load)
    const child = args[1]
    if (loaded.children !== undefined && child !== undefined && !child.startsWith("-")) {
      const nested = HashMap.get(Command.getSubcommands(loaded.command), child)
      if (nested._tag === "None") {
        return yield* badInput(
          `unknown ${entry.name} '${child}'; one of: ${loaded.children.join(", ")} (see 'leakproof ${entry.name} --help')`
        )
      }
      const where = `leakproof ${entry.name} ${child}`
      const { flags, positionals } = yield* fromEither(
        Argv.split(args.slice(2), Argv.specOf(CommandDescriptor.getUsage(nested.value)), where)
      )
      return { commands: [loaded.command], argv: [node, script, entry.name, child, ...flags], positionals }
    }
    const where = `leakproof ${entry.name}`
    const { flags, positionals } = yield* fromEither(Argv.split(args.slice(1), Argv.specOf(Command.getUsage(loaded.command)), where))
    return { commands: [loaded.command], argv: [node, script, entry.name, ...flags], positionals }
  })

/**
 * Runs the CLI on `argv` (the whole `process.argv`). Fails with `CliExit` for bad input (code 2)
 * and for whatever a command decides; validation errors have already been printed as one line.
 */
export const run = (argv: ReadonlyArray<string>): Effect.Effect<void, unknown, CliApp.CliApp.Environment> =>
  withCliConsole(Effect.gen(function*() {
    const { argv: cliArgv, commands, positionals } = yield* plan(argv)
    yield* app(withSubcommands(commands))(cliArgv).pipe(
      Effect.provideService(Argv.Positionals, positionals),
      Effect.catchIf(ValidationError.isValidationError, (e) =>
        Effect.fail(new CliExit({ code: e._tag === "HelpRequested" ? 0 : 2, message: "" })))
    )
  }))
