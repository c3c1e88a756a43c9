/**
 * Seed 003, Example 19: periodic work on a ticker, stopped cleanly.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Ref, Schedule } from "effect"
import * as DurationArg from "../../domain/DurationArg.js"
import * as Demo from "./Demo.js"

/** @since 0.1.0 */
export interface TickerOptions {
  /** The tick period (default 500 ms). */
  readonly every?: Duration.DurationInput
  /** How long to run before stopping (default 2.25 s: ticks at 0.5, 1, 1.5 and 2 s). */
  readonly runFor?: Duration.DurationInput
}

/** @since 0.1.0 */
export interface TickerResult extends Demo.Report {
  /** When each tick ran, in ms after the start. */
  readonly ticks: ReadonlyArray<number>
  /** Whether the ticking fiber was interrupted (stopped) rather than left running. */
  readonly tickerInterrupted: boolean
}

/**
 * Go's `time.NewTicker(every)` + `for { select { case <-done: return; case t := <-ticker.C: … } }`
 * + `ticker.Stop()`: one fiber repeats the tick on `Schedule.fixed(every)` (first tick after one
 * period, like Go's ticker; a slow tick does not pile up missed ticks). It lives in the program's
 * `Scope`: after `runFor` the scope closes and the ticker is interrupted (Stop and `done` in one).
 *
 * @since 0.1.0
 */
export const ticker = Effect.fn("ticker")(function*(options: TickerOptions = {}) {
  const every = options.every ?? Duration.millis(500)
  const runFor = options.runFor ?? Duration.millis(2250)
  return yield* Demo.report((journal) =>
    Effect.gen(function*() {
      const ticks = yield* Ref.make<ReadonlyArray<number>>([])
      const interrupted = yield* Ref.make(false)
      const start = yield* Effect.clockWith((c) => c.currentTimeMillis)
      const tick = Effect.gen(function*() {
        const at = (yield* Effect.clockWith((c) => c.currentTimeMillis)) - start
        yield* Ref.update(ticks, (t) => [...t, at])
        yield* journal.say(`Tick at ${DurationArg.format(at)}`)
      })
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Effect.forkScoped(
          Effect.sleep(every).pipe(
            Effect.zipRight(Effect.repeat(tick, Schedule.fixed(every))),
            Effect.onInterrupt(() => Ref.set(interrupted, true))
          )
        )
        yield* Effect.sleep(runFor)
      }))
      yield* journal.say("Ticker stopped")
      return { ticks: yield* Ref.get(ticks), tickerInterrupted: yield* Ref.get(interrupted) }
    })
  )
})
