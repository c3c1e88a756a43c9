/**
 * One linear pass over a command's arguments before `@effect/cli` sees them: positionals (URLs,
 * numbers) are split from flags here, and only the flags go to `@effect/cli`, whose parsing of
 * repeated arguments is super-linear (30k URLs as arguments took 15 s, 50k numbers 48 s). The
 * command reads its positionals from the `Positionals` service; its `Args` declaration stays for
 * `--help`. The same pass enforces what Go's `flag` package would, and `@effect/cli` does not:
 *
 * - an unknown flag is an error, never data (`--bogus` is not a URL);
 * - a single-value flag given twice is an error (`--retries 0 --retries 2`): one line, exit 2. We
 *   reject rather than let the last one win, so that a flag is never silently overridden;
 * - a flag that takes a value takes the next argument whatever it looks like (`--deadline -1s`),
 *   and a flag left without one is an error (`fetch u --concurrency` does not run with the default);
 * - a value is checked against the flag's type here, so that the error names the flag
 *   (`--concurrency: '1.5' is not an integer`, `--format: 'xml' is not one of table, ndjson`);
 * - negative numbers (`-1`, `-2.5`) and `-` (stdin) are positionals; after `--` everything is.
 *
 * @since 0.1.0
 */
import type { Usage } from "@effect/cli"
import { Context, Either } from "effect"
import { badInput, type CliExit } from "./CliExit.js"

/**
 * The positional arguments of the command being run, in order.
 * @since 0.1.0
 */
export class Positionals extends Context.Tag("leakproof/cli/Positionals")<Positionals, ReadonlyArray<string>>() {}

/**
 * What the pass needs to know of a command: its flags (every alias, whether it takes a value,
 * its canonical name) and whether it takes positionals.
 * @since 0.1.0
 */
export interface Spec {
  readonly flags: ReadonlyMap<string, Flag>
  readonly positionals: boolean
}

/**
 * One flag: its canonical name, and what it takes: nothing, or a value checked as `accepts` says
 * (`@effect/cli`'s accepted values: `integer`, `float`, `a | b` for a choice, anything else free).
 * @since 0.1.0
 */
export interface Flag {
  readonly name: string
  readonly takesValue: boolean
  readonly accepts?: string
}

/** `@effect/cli`'s own flags, on every command. */
const builtIns: ReadonlyArray<readonly [ReadonlyArray<string>, string | boolean]> = [
  [["-h", "--help"], false],
  [["--version"], false],
  [["--wizard"], false],
  [["--completions"], "sh | bash | fish | zsh"],
  [["--log-level"], "all | trace | debug | info | warning | error | fatal | none"]
]

/**
 * The spec of a command from its `@effect/cli` usage.
 * @since 0.1.0
 */
export const specOf = (usage: Usage.Usage): Spec => {
  const flags = new Map<string, Flag>()
  let positionals = false
  // `accepts`: false for a switch, true for a free value, else the accepted values' description.
  const add = (names: ReadonlyArray<string>, accepts: string | boolean) => {
    const name = names.find((n) => n.startsWith("--")) ?? names[0]!
    const flag: Flag = typeof accepts === "string" ? { name, takesValue: true, accepts } : { name, takesValue: accepts }
    for (const n of names) flags.set(n, flag)
  }
  for (const [names, accepts] of builtIns) add(names, accepts)
  // Flags are the named usages with dashes, positionals the `<name>` ones; a bare name is the
  // command's own.
  const walk = (u: Usage.Usage): void => {
    switch (u._tag) {
      case "Named": {
        const dashed = u.names.filter((n) => n.startsWith("-"))
        if (dashed.length > 0) add(dashed, u.acceptedValues._tag === "Some" ? u.acceptedValues.value : false)
        else if (u.names.some((n) => n.startsWith("<"))) positionals = true
        return
      }
      case "Optional":
      case "Repeated":
        return walk(u.usage)
      case "Alternation":
      case "Concat":
        walk(u.left)
        return walk(u.right)
      default:
        return
    }
  }
  walk(usage)
  return { flags, positionals }
}

/**
 * The arguments split: `flags` (with their values, as typed) for `@effect/cli`, `positionals` for
 * the command.
 * @since 0.1.0
 */
export interface Split {
  readonly flags: ReadonlyArray<string>
  readonly positionals: ReadonlyArray<string>
}

const negativeNumber = /^-\d/
const integer = /^[+-]?\d+$/

/** Why `value` is not what `flag` accepts, or `undefined` when it is. */
const rejection = (flag: Flag, value: string): string | undefined => {
  switch (flag.accepts) {
    case undefined:
    case "text":
      return undefined
    case "integer":
      if (!integer.test(value)) return `'${value}' is not an integer`
      return Number.isSafeInteger(Number(value)) ? undefined : `'${value}' is out of range`
    case "float":
      return value.trim() !== "" && Number.isFinite(Number(value)) ? undefined : `'${value}' is not a number`
    default: {
      if (!flag.accepts.includes(" | ")) return undefined
      const choices = flag.accepts.split(" | ")
      return choices.includes(value) ? undefined : `'${value}' is not one of ${choices.join(", ")}`
    }
  }
}

/**
 * Splits `args` (what follows the command's name) in one pass. `where` names the command in
 * error messages (`leakproof fetch`).
 * @since 0.1.0
 */
export const split = (args: ReadonlyArray<string>, spec: Spec, where: string): Either.Either<Split, CliExit> => {
  const flags: Array<string> = []
  const positionals: Array<string> = []
  const seen = new Set<string>()
  const help = ` (see '${where} --help')`
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--") {
      for (let j = i + 1; j < args.length; j++) positionals.push(args[j]!)
      break
    }
    if (!arg.startsWith("-") || arg === "-" || negativeNumber.test(arg)) {
      positionals.push(arg)
      continue
    }
    const eq = arg.indexOf("=")
    const name = eq < 0 ? arg : arg.slice(0, eq)
    const flag = spec.flags.get(name)
    if (flag === undefined) return Either.left(badInput(`unknown flag ${name}${help}`))
    if (seen.has(flag.name)) return Either.left(badInput(`${flag.name} given more than once${help}`))
    seen.add(flag.name)
    flags.push(arg)
    if (!flag.takesValue) continue
    if (eq < 0 && i + 1 >= args.length) return Either.left(badInput(`${flag.name} needs a value${help}`))
    const value = eq < 0 ? args[++i]! : arg.slice(eq + 1)
    if (eq < 0) flags.push(value)
    const why = rejection(flag, value)
    if (why !== undefined) return Either.left(badInput(`${flag.name}: ${why}${help}`))
  }
  if (!spec.positionals && positionals.length > 0 && !seen.has("--help")) {
    return Either.left(badInput(`unexpected argument '${positionals[0]}'${help}`))
  }
  return Either.right({ flags, positionals })
}
