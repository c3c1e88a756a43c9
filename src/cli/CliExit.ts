/**
 * The CLI's exit codes, one table for every command (README, "Exit codes"), and how a command ends
 * the process with one: fail with `CliExit`. `RunMain` prints `message` (if any) as one line on
 * stderr and exits with `code`, without a stack trace.
 *
 * | code | meaning |
 * |---|---|
 * | 0 | the job ran to the end and everything it reports succeeded |
 * | 1 | the job ran and reports a failure |
 * | 2 | bad input: flags, arguments, files, stdin content that cannot be parsed |
 * | 70 | an internal error (a defect); never 0 |
 * | 124 | `--deadline` cut the batch short (like GNU `timeout`) |
 * | 130 / 143 | interrupted by SIGINT / SIGTERM (128 + signal number) |
 * | 141 | stdout was closed by the reader (EPIPE), like a Go program on SIGPIPE |
 *
 * When several apply, the first of 2 > 70 > 130/143 > 141 > 124 > 1 > 0 wins.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * The codes of the table.
 * @since 0.1.0
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  badInput: 2,
  internal: 70,
  deadline: 124,
  sigint: 130,
  sigterm: 143,
  stdoutClosed: 141
} as const

const precedence: ReadonlyArray<number> = [2, 70, 130, 143, 141, 124, 1, 0]

/**
 * The code that wins when several apply (2 > 70 > 130/143 > 141 > 124 > 1 > 0). A code outside the
 * table counts as an internal error (70).
 * @since 0.1.0
 */
export const strongest = (codes: Iterable<number>): number => {
  let best = precedence.length - 1
  for (const code of codes) {
    const rank = precedence.indexOf(code)
    best = Math.min(best, rank < 0 ? 1 : rank)
  }
  return precedence[best]!
}

/**
 * The exit code for a signal: 128 + its number (SIGINT 130, SIGTERM 143).
 * @since 0.1.0
 */
export const forSignal = (signal: NodeJS.Signals): number => (signal === "SIGTERM" ? 143 : 130)

/**
 * Ends the command with `code`; `message`, if not empty, is printed as `leakproof: <message>`.
 * @since 0.1.0
 */
export class CliExit extends Data.TaggedError("CliExit")<{
  readonly code: number
  readonly message: string
}> {}

/**
 * Bad input (an option, an argument, a file, stdin): one line on stderr, exit code 2.
 * @since 0.1.0
 */
export const badInput = (message: string): CliExit => new CliExit({ code: ExitCode.badInput, message })

/**
 * The job ran and reports a failure: exit code 1 (what failed has been printed already).
 * @since 0.1.0
 */
export const failed = (message = ""): CliExit => new CliExit({ code: ExitCode.failed, message })

/**
 * `--deadline` cut the batch short: exit code 124.
 * @since 0.1.0
 */
export const deadlineReached = (message = ""): CliExit => new CliExit({ code: ExitCode.deadline, message })

/**
 * Whether `u` is a `CliExit`.
 * @since 0.1.0
 */
export const isCliExit = (u: unknown): u is CliExit =>
  typeof u === "object" && u !== null && (u as { readonly _tag?: unknown })._tag === "CliExit"
