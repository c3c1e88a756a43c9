/**
 * How a command ends the process with a given exit code: fail with `CliExit`. `main.ts` prints
 * `message` (if any) as one line on stderr and exits with `code`, without a stack trace.
 *
 * Codes follow the usual Unix split: 1 the job ran and found a failure (a negative number, too many
 * errors), 2 the command line or its input was bad, 130 interrupted (Ctrl-C).
 */
import { Data } from "effect"

export class CliExit extends Data.TaggedError("CliExit")<{
  readonly code: number
  readonly message: string
}> {}

/** Bad input (an option, an argument, a file): one line on stderr, exit code 2. */
export const badInput = (message: string): CliExit => new CliExit({ code: 2, message })
