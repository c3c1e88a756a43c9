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
 * - a flag that takes a value takes the next argument whatever it looks like (`--deadline -1s`);
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
  readonly flags: ReadonlyMap<string, { readonly name: string; readonly takesValue: boolean }>
  readonly positionals: boolean
}

/** `@effect/cli`'s own flags, on every command. */
const builtIns: ReadonlyArray<readonly [ReadonlyArray<string>, boolean]> = [
  [["-h", "--help"], false],
  [["--version"], false],
  [["--wizard"], false],
  [["--completions"], true],
  [["--log-level"], true]
]

/**
 * The spec of a command from its `@effect/cli` usage.
 * @since 0.1.0
 */
export const specOf = (usage: Usage.Usage): Spec => {
  const flags = new Map<string, { name: string; takesValue: boolean }>()
  let positionals = false
  const add = (names: ReadonlyArray<string>, takesValue: boolean) => {
    const name = names.find((n) => n.startsWith("--")) ?? names[0]!
    for (const n of names) flags.set(n, { name, takesValue })
  }
  for (const [names, takesValue] of builtIns) add(names, takesValue)
  // Flags are the named usages with dashes, positionals the `<name>` ones; a bare name is the
  // command's own.
  const walk = (u: Usage.Usage): void => {
    switch (u._tag) {
      case "Named": {
        const dashed = u.names.filter((n) => n.startsWith("-"))
        if (dashed.length > 0) add(dashed, u.acceptedValues._tag === "Some")
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
    if (flag.takesValue && eq < 0 && i + 1 < args.length) flags.push(args[++i]!)
  }
  if (!spec.positionals && positionals.length > 0 && !seen.has("--help")) {
    return Either.left(badInput(`unexpected argument '${positionals[0]}'${help}`))
  }
  return Either.right({ flags, positionals })
}
