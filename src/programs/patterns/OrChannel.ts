/**
 * Seed 002, the or-channel: several cancellation signals combined into one `done` that closes as
 * soon as any of them does.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Ref } from "effect"
import * as Chan from "../../domain/Chan.js"
import * as DurationArg from "../../domain/DurationArg.js"
import * as Demo from "./Demo.js"

/** @since 0.1.0 */
export interface OrChannelOptions {
  /** When each signal closes (default 2h, 5m, 1s, 1h, 1m: the classic `sig(...)` example). */
  readonly signals?: ReadonlyArray<Duration.DurationInput>
}

/** @since 0.1.0 */
export interface OrChannelResult extends Demo.Report {
  /** When the combined `done` closed, in ms after the start. */
  readonly doneAfterMs: number
  /** Signal fibers still sleeping when `done` closed, interrupted when the program's scope closed. */
  readonly signalsInterrupted: number
}

/**
 * `<-or(sig(2h), sig(5m), sig(1s), sig(1h), sig(1m))`, built on `Chan.or`. Each `sig(d)` is a
 * fiber that closes its channel after `d`; they and `or`'s watcher live in the program's `Scope`,
 * so the signals that never fired are interrupted when it returns (in the seed's Go they sleep on
 * for hours). Interrupting the program interrupts all of them.
 *
 * @since 0.1.0
 */
export const orChannel = Effect.fn("orChannel")(function*(options: OrChannelOptions = {}) {
  const signals = options.signals ?? ["2 hours", "5 minutes", "1 second", "1 hour", "1 minute"]
  return yield* Demo.report((journal) =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make(0)
      const start = yield* Clock.currentTimeMillis
      const doneAfterMs = yield* Effect.scoped(Effect.gen(function*() {
        const sig = (after: Duration.DurationInput) =>
          Effect.gen(function*() {
            const c = yield* Chan.make<never>()
            yield* Effect.forkScoped(
              Effect.sleep(after).pipe(
                Effect.zipRight(journal.say(`sig(${DurationArg.format(after)}) fired`)),
                Effect.zipRight(Chan.close(c)),
                Effect.onInterrupt(() => Ref.update(interrupted, (n) => n + 1))
              )
            )
            return c
          })
        const dones = yield* Effect.forEach(signals, sig)
        yield* journal.say(`waiting on or(${signals.map(DurationArg.format).join(", ")})`)
        yield* Chan.receive(yield* Chan.or(...dones))
        const at = (yield* Clock.currentTimeMillis) - start
        yield* journal.say(`done after ${DurationArg.format(at)}`)
        return at
      }))
      return { doneAfterMs, signalsInterrupted: yield* Ref.get(interrupted) }
    })
  )
})
