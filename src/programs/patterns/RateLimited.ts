/**
 * Seed 003, Example 12: ten calls, at most three in flight. Go's buffered-channel semaphore is
 * Effect's `Semaphore`.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Ref } from "effect"
import * as DurationArg from "../../domain/DurationArg.js"
import * as Demo from "./Demo.js"

/** @since 0.1.0 */
export interface RateLimitedOptions {
  /** Calls to make (default 10). */
  readonly calls?: number
  /** At most this many in flight (default 3). */
  readonly limit?: number
  /** How long each call takes (default 150 ms, the seed's typical latency). */
  readonly latency?: Duration.DurationInput
}

/** @since 0.1.0 */
export interface RateLimitedResult extends Demo.Report {
  /** The most calls ever in flight at once. */
  readonly maxInFlight: number
  /** Calls in the order they finished. */
  readonly finished: ReadonlyArray<number>
  readonly totalMs: number
}

/**
 * Every call is started at once (one fiber each, like the seed's goroutines) and takes a permit
 * from a `Semaphore` of `limit` (the seed's `make(chan struct{}, 3)`); the permit is released
 * when the call ends, fails or is interrupted. `Effect.forEach` waits for all (the `WaitGroup`);
 * interrupting the program interrupts every call and releases their permits.
 *
 * @since 0.1.0
 */
export const rateLimited = Effect.fn("rateLimited")(function*(options: RateLimitedOptions = {}) {
  const calls = options.calls ?? 10
  const limit = options.limit ?? 3
  const latency = options.latency ?? Duration.millis(150)
  return yield* Demo.report((journal) =>
    Effect.gen(function*() {
      const semaphore = yield* Effect.makeSemaphore(limit)
      const inFlight = yield* Ref.make(0)
      const maxInFlight = yield* Ref.make(0)
      const finished = yield* Ref.make<ReadonlyArray<number>>([])
      const start = yield* Clock.currentTimeMillis
      yield* journal.say(`Fetching ${calls} calls with max ${limit} concurrent...`)
      const call = (i: number) =>
        Effect.gen(function*() {
          const now = yield* Ref.updateAndGet(inFlight, (n) => n + 1)
          yield* Ref.update(maxInFlight, (m) => Math.max(m, now))
          const t0 = yield* Clock.currentTimeMillis
          yield* Effect.sleep(latency)
          yield* Ref.update(finished, (f) => [...f, i])
          const took = (yield* Clock.currentTimeMillis) - t0
          yield* journal.say(`[${String(i).padStart(2)}] Done in ${DurationArg.format(took)} (${now} in flight)`)
        }).pipe(Effect.ensuring(Ref.update(inFlight, (n) => n - 1)), semaphore.withPermits(1))
      yield* Effect.forEach(Array.from({ length: calls }, (_, i) => i + 1), call, {
        concurrency: "unbounded",
        discard: true
      })
      const totalMs = (yield* Clock.currentTimeMillis) - start
      yield* journal.say(`Total time: ${DurationArg.format(totalMs)}`)
      return { maxInFlight: yield* Ref.get(maxInFlight), finished: yield* Ref.get(finished), totalMs }
    })
  )
})
