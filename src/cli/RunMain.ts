/**
 * `NodeRuntime.runMain` for the CLI, with the guarantees a Unix tool owes its pipe: run the program,
 * turn SIGINT/SIGTERM and a closed stdout into interruption, then print at most one line, wait until
 * stdout and stderr have flushed, and exit with the code of the table in `CliExit`.
 *
 * `@effect/platform-node`'s `runMain` calls `process.exit()` while pipe writes are still queued
 * (output lost behind a slow reader), reports SIGTERM as 130, and knows nothing of EPIPE.
 *
 * - First SIGINT/SIGTERM: the program is interrupted (its finalizers print what they print, e.g. a
 *   summary); exit 130 / 143 after the flush. A second signal, or one during the final flush: exit
 *   at once with that code (the user insists; a pipe nobody reads would otherwise block forever).
 * - stdout closed by the reader (EPIPE): the program is interrupted quietly; exit 141.
 * - A defect, or a failure that is not a `CliExit`: `leakproof: internal error: …` (the full cause
 *   only with `LEAKPROOF_DEBUG=1`), exit 70. Never 0.
 *
 * @since 0.1.0
 */
import type { Fiber } from "effect"
import { Cause, Effect, Exit, Option } from "effect"
import type { CliExit } from "./CliExit.js"
import { ExitCode, forSignal, isCliExit, strongest } from "./CliExit.js"
import * as Stdio from "./Stdio.js"

/**
 * What `runMain` needs from the process; tests pass their own.
 * @since 0.1.0
 */
export interface Host {
  readonly stdout: Stdio.Writer
  readonly stderr: Stdio.Writer
  readonly exit: (code: number) => void
  readonly onSignal: (signal: NodeJS.Signals, handler: () => void) => void
  readonly offSignal: (signal: NodeJS.Signals, handler: () => void) => void
  readonly debug: boolean
}

const processHost = (): Host => ({
  stdout: Stdio.stdout(),
  stderr: Stdio.stderr(),
  exit: (code) => process.exit(code),
  onSignal: (signal, handler) => process.on(signal, handler),
  offSignal: (signal, handler) => process.off(signal, handler),
  debug: process.env["LEAKPROOF_DEBUG"] === "1"
})

const signals: ReadonlyArray<NodeJS.Signals> = ["SIGINT", "SIGTERM"]

/**
 * The exit code and the one line to print for how the program ended, given what the process saw
 * (a signal, a closed stdout).
 * @since 0.1.0
 */
export const outcome = (
  exit: Exit.Exit<unknown, unknown>,
  seen: { readonly signal: NodeJS.Signals | undefined; readonly stdoutClosed: boolean },
  debug = false
): { readonly code: number; readonly line: string | undefined; readonly detail: string | undefined } => {
  const candidates: Array<{ code: number; line?: string; detail?: string }> = []
  if (seen.signal !== undefined) candidates.push({ code: forSignal(seen.signal) })
  if (seen.stdoutClosed) candidates.push({ code: ExitCode.stdoutClosed })
  if (Exit.isSuccess(exit)) {
    candidates.push({ code: ExitCode.ok })
  } else {
    const cause = exit.cause
    const failure = Cause.failureOption(cause)
    const defects = Cause.defects(cause)
    if (Option.isSome(failure) && isCliExit(failure.value)) {
      const { code, message } = failure.value as CliExit
      candidates.push(message.length > 0 ? { code, line: `leakproof: ${message}` } : { code })
    } else if (Option.isSome(failure) || defects.length > 0) {
      const error = Option.isSome(failure) ? failure.value : Cause.squash(cause)
      candidates.push({
        code: ExitCode.internal,
        line: `leakproof: internal error: ${describe(error)}`,
        ...(debug ? { detail: Cause.pretty(cause) } : {})
      })
    } else if (candidates.length === 0) {
      // Interrupted, though no signal came and stdout is open: nothing the user did explains it.
      candidates.push({ code: ExitCode.internal, line: "leakproof: internal error: interrupted" })
    }
  }
  const code = strongest(candidates.map((c) => c.code))
  const chosen = candidates.find((c) => c.code === code)
  return { code, line: chosen?.line, detail: chosen?.detail }
}

const describe = (error: unknown): string => {
  if (error instanceof Error) return `${error.name}: ${error.message}`.split("\n")[0]!
  if (typeof error === "object" && error !== null && "_tag" in error) {
    const message = (error as { readonly message?: unknown }).message
    return `${String((error as { readonly _tag: unknown })._tag)}${typeof message === "string" && message ? `: ${message}` : ""}`
  }
  return String(error).split("\n")[0]!
}

/**
 * Runs `program` as the process's main fiber and exits with the table's code once stdout and stderr
 * have flushed. Returns at once; the exit happens later.
 * @since 0.1.0
 */
export const runMain = (program: Effect.Effect<void, unknown>, host: Host = processHost()): void => {
  // Node exits when nothing is pending; a program parked on a fiber (no timer, no socket) must not.
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1)
  let signal: NodeJS.Signals | undefined
  let finishing = false
  let exited = false
  const exitNow = (code: number) => {
    if (exited) return
    exited = true
    for (const s of signals) host.offSignal(s, handlers[s]!)
    clearInterval(keepAlive)
    host.exit(code)
  }

  let fiber: Fiber.RuntimeFiber<void, unknown> | undefined
  const handlers: Partial<Record<NodeJS.Signals, () => void>> = {}
  for (const s of signals) {
    handlers[s] = () => {
      if (signal !== undefined || finishing) return exitNow(forSignal(s))
      signal = s
      fiber?.unsafeInterruptAsFork(fiber.id())
    }
    host.onSignal(s, handlers[s]!)
  }
  fiber = Effect.runFork(program)
  // A signal that came while the program was taking its first synchronous steps.
  if (signal !== undefined) fiber.unsafeInterruptAsFork(fiber.id())
  const main = fiber
  // A callback, not a watcher fiber: the live-fiber counts the commands print stay exact.
  const unwatch = host.stdout.onClosed(() => main.unsafeInterruptAsFork(main.id()))

  main.addObserver((exit) => {
    finishing = true
    const seen = { signal, stdoutClosed: host.stdout.isClosed() }
    const { code, detail, line } = outcome(exit, seen, host.debug)
    const finish = Effect.gen(function*() {
      unwatch()
      if (line !== undefined) yield* host.stderr.write(`${line}\n`)
      if (detail !== undefined) yield* host.stderr.write(`${detail}\n`)
      yield* host.stdout.flush
      yield* host.stderr.flush
    })
    Effect.runFork(finish).addObserver(() => exitNow(code))
  })
}
