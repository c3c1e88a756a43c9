/**
 * Seed 003, Examples 7, 8 and 20: the slow database call under a deadline (3 s of work, a 5 s and
 * a 1 s deadline). When the deadline passes, the work must stop, not linger.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Option, Ref } from "effect"
import * as Chan from "../../domain/Chan.js"
import * as DurationArg from "../../domain/DurationArg.js"
import * as Demo from "./Demo.js"

/** @since 0.1.0 */
export interface TimeoutOptions {
  /** How long the query takes (default 3 s). */
  readonly work?: Duration.DurationInput
  /** One scenario per deadline (default 5 s, then 1 s). */
  readonly deadlines?: ReadonlyArray<Duration.DurationInput>
  /**
   * Example 7's Go: `slowOperation` sends on an unbuffered channel from a goroutine; after the
   * timeout nobody receives, so the goroutine blocks forever.
   */
  readonly leaky?: boolean
}

/** @since 0.1.0 */
export interface TimeoutScenario {
  readonly deadlineMs: number
  /** `Some(result)`, or `None`: context deadline exceeded. */
  readonly result: Option.Option<string>
  readonly tookMs: number
  /** Whether the query was interrupted at the deadline (fixed version). */
  readonly workInterrupted: boolean
}

/** @since 0.1.0 */
export interface TimeoutResult extends Demo.Report {
  readonly scenarios: ReadonlyArray<TimeoutScenario>
}

/**
 * Fixed: `slowDatabase.pipe(Effect.timeoutOption(deadline))`: at the deadline the query fiber is
 * interrupted (`context.WithTimeout` + `ctx.Done()` in one combinator). Leaky: the query runs in a
 * daemon fiber that sends its result on an unbuffered channel, raced by a `select` under a
 * timeout; each timed-out scenario leaves one more live fiber.
 *
 * @since 0.1.0
 */
export const timeout = Effect.fn("timeout")(function*(options: TimeoutOptions = {}) {
  const work = options.work ?? Duration.seconds(3)
  const deadlines = options.deadlines ?? [Duration.seconds(5), Duration.seconds(1)]
  return yield* Demo.report((journal) =>
    Effect.forEach(deadlines, (deadline, i) =>
      Effect.gen(function*() {
        yield* journal.say(
          `=== Test ${i + 1}: ${DurationArg.format(deadline)} timeout (query takes ${DurationArg.format(work)}) ===`
        )
        const interrupted = yield* Ref.make(false)
        const slowDatabase = Effect.sleep(work).pipe(
          Effect.as("data from database"),
          Effect.onInterrupt(() => Ref.set(interrupted, true))
        )
        const start = yield* Clock.currentTimeMillis
        let result: Option.Option<string>
        if (options.leaky === true) {
          const ch = yield* Chan.make<string>()
          yield* Effect.forkDaemon(Effect.flatMap(slowDatabase, (r) => Chan.send(ch, r)))
          result = yield* Chan.receiveTimeout(ch, deadline).pipe(Effect.option, Effect.map(Option.flatten))
        } else {
          result = yield* slowDatabase.pipe(Effect.timeoutOption(deadline))
        }
        const tookMs = (yield* Clock.currentTimeMillis) - start
        yield* journal.say(Option.match(result, {
          onNone: () => `Failed: context deadline exceeded (took ${DurationArg.format(tookMs)})`,
          onSome: (r) => `Success: ${r} (took ${DurationArg.format(tookMs)})`
        }))
        return {
          deadlineMs: Duration.toMillis(deadline),
          result,
          tookMs,
          workInterrupted: yield* Ref.get(interrupted)
        }
      })).pipe(Effect.map((scenarios) => ({ scenarios })))
  )
})
