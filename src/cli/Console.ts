/**
 * The CLI's console: `@effect/cli` writes help with ANSI colour codes and its validation errors as
 * a multi-line document. When a stream is not a terminal, colour codes are stripped; validation
 * errors on stderr become one `leakproof: …` line.
 */
import { Console, Effect } from "effect"

// eslint-disable-next-line no-control-regex
const ansi = /\u001b\[[0-9;]*[A-Za-z]/g

const plain = (args: ReadonlyArray<unknown>): string => args.map(String).join(" ").replace(ansi, "")

export const withCliConsole = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.console, (base) => {
    const console: Console.Console = {
      ...base,
      log: (...args) =>
        process.stdout.isTTY ? base.log(...args) : Effect.sync(() => process.stdout.write(`${plain(args)}\n`)),
      error: (...args) =>
        Effect.sync(() => {
          const text = plain(args).split("\n").map((l) => l.trim()).filter((l) => l.length > 0).join(" ")
          process.stderr.write(`leakproof: ${text}\n`)
        })
    }
    return Effect.withConsole(self, console)
  })
