#!/usr/bin/env node
/**
 * The `leakproof` CLI entry: parse, run, map the outcome to an exit code. Nothing else.
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Exit, Option } from "effect"
import * as Cli from "./cli/Cli.js"
import type { CliExit } from "./cli/CliExit.js"

const exitCodeOf = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit)) return 0
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure) && (failure.value as CliExit)._tag === "CliExit") return (failure.value as CliExit).code
  return Cause.isInterruptedOnly(exit.cause) ? 130 : 1
}

Cli.run(process.argv).pipe(
  Effect.tapErrorCause((cause) =>
    Effect.sync(() => {
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure) && (failure.value as CliExit)._tag === "CliExit") {
        const { message } = failure.value as CliExit
        if (message.length > 0) process.stderr.write(`leakproof: ${message}\n`)
      } else if (!Cause.isInterruptedOnly(cause)) {
        process.stderr.write(`leakproof: unexpected error: ${Cause.pretty(cause).split("\n")[0]}\n`)
        if (process.env["LEAKPROOF_DEBUG"]) process.stderr.write(`${Cause.pretty(cause)}\n`)
      }
    })
  ),
  Effect.provide(NodeContext.layer),
  (effect) =>
    NodeRuntime.runMain(effect, {
      disableErrorReporting: true,
      teardown: (exit, onExit) => onExit(exitCodeOf(exit))
    })
)
