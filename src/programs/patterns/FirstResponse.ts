/**
 * Seed 003, Example 6 (select): ask several servers, take the first reply, give up after a
 * deadline. The replies that lose must not be left behind.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Option, Random, Ref } from "effect"
import * as Chan from "../../domain/Chan.js"
import * as DurationArg from "../../domain/DurationArg.js"
import * as Demo from "./Demo.js"

/** @since 0.1.0 */
export interface FirstResponseOptions {
  /** Each server's response time (default: two servers, random 100–500 ms, as in the seed). */
  readonly delays?: ReadonlyArray<Duration.DurationInput>
  /** Give up after this long (default 1 s). */
  readonly timeout?: Duration.DurationInput
  /**
   * The seed's Go, faithfully: each `fetchFromServer` goroutine sends on an unbuffered channel
   * that nobody reads once another server won, so every loser stays blocked forever.
   */
  readonly leaky?: boolean
}

/** @since 0.1.0 */
export interface FirstResponseResult extends Demo.Report {
  /** The winning reply, or `None` on timeout. */
  readonly winner: Option.Option<string>
  /** Losing requests that were interrupted (fixed version; 0 in the leaky one). */
  readonly losersInterrupted: number
}

/**
 * Fixed: `Effect.raceAll` over the requests, under `Effect.timeoutOption`: the first reply wins
 * and every other request is interrupted before the program returns (on timeout, all are).
 * Leaky: daemon senders on unbuffered channels and a `select`; the program returns with
 * `delays.length - 1` fibers still alive, each doomed to block on its send.
 *
 * @since 0.1.0
 */
export const firstResponse = Effect.fn("firstResponse")(function*(options: FirstResponseOptions = {}) {
  const timeout = options.timeout ?? Duration.seconds(1)
  const delays = options.delays ??
    (yield* Effect.forEach([1, 2], () => Effect.map(Random.nextIntBetween(100, 500), Duration.millis)))
  return yield* Demo.report((journal) =>
    Effect.gen(function*() {
      const losers = yield* Ref.make(0)
      const name = (i: number) => `Server-${i + 1}`
      const reply = (i: number) => `${name(i)} responded in ${DurationArg.format(delays[i]!)}`
      let winner: Option.Option<string>
      if (options.leaky === true) {
        const channels = yield* Effect.forEach(delays, () => Chan.make<string>())
        yield* Effect.forEach(delays, (d, i) => Effect.forkDaemon(Effect.zipRight(Effect.sleep(d), Chan.send(channels[i]!, reply(i)))))
        winner = yield* Chan.select(channels.map((c) => Chan.onReceive(c, (v) => Effect.succeed(Option.getOrThrow(v))))).pipe(
          Effect.timeoutOption(timeout)
        )
      } else {
        const fetchFromServer = (d: Duration.DurationInput, i: number) =>
          Effect.sleep(d).pipe(
            Effect.as(reply(i)),
            Effect.onInterrupt(() =>
              Effect.zipRight(Ref.update(losers, (n) => n + 1), journal.say(`${name(i)}: interrupted`))
            )
          )
        winner = yield* Effect.raceAll(delays.map(fetchFromServer)).pipe(Effect.timeoutOption(timeout))
      }
      yield* journal.say(Option.match(winner, {
        onNone: () => "Timeout - no server responded!",
        onSome: (w) => `Winner: ${w}`
      }))
      return { winner, losersInterrupted: yield* Ref.get(losers) }
    })
  )
})
