/**
 * The CLI's console: every `Console.log`/`Console.error` (ours and `@effect/cli`'s help and
 * validation messages) goes through `Stdio`'s back-pressured writers. `@effect/cli` writes help with
 * ANSI colour codes and its validation errors as a multi-line document: when a stream is not a
 * terminal, colour codes are stripped; validation errors on stderr become one `leakproof: …` line.
 */
import { Console, Effect } from "effect"
import * as Stdio from "./Stdio.js"

// eslint-disable-next-line no-control-regex
const ansi = /\u001b\[[0-9;]*[A-Za-z]/g

const text = (args: ReadonlyArray<unknown>): string => args.map(String).join(" ")

export const withCliConsole = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.console, (base) => {
    const out = Stdio.stdout()
    const console: Console.Console = {
      ...base,
      log: (...args) => out.write(`${out.isTTY ? text(args) : text(args).replace(ansi, "")}\n`),
      error: (...args) => {
        const line = text(args).replace(ansi, "").split("\n").map((l) => l.trim()).filter((l) => l.length > 0).join(" ")
        return Stdio.err(`leakproof: ${line}`)
      }
    }
    return Effect.withConsole(self, console)
  })
