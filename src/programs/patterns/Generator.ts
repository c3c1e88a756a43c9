/**
 * Seeds 002 and 003, the generator: `newRandStream` produces random ints on an unbuffered channel;
 * the consumer takes a few and stops. The writer must be told to stop, or it blocks forever.
 *
 * @since 0.1.0
 */
import { Effect, Option, Random, Ref } from "effect"
import * as Chan from "../../domain/Chan.js"
import * as Demo from "./Demo.js"

/** @since 0.1.0 */
export interface GeneratorOptions {
  /** How many values the consumer takes (default 3, as in the seed). */
  readonly take?: number
  /** The seed's BAD version: the producer has no `done` and no owner. */
  readonly leaky?: boolean
}

/** @since 0.1.0 */
export interface GeneratorResult extends Demo.Report {
  readonly values: ReadonlyArray<number>
  /** How many values the producer handed over (it can never run ahead on an unbuffered channel). */
  readonly produced: number
  /** Whether the producer was interrupted (fixed version) rather than left blocked. */
  readonly producerInterrupted: boolean
}

/**
 * Go's `newRandStream(done)`. Fixed: the producer is forked into the consumer's `Scope` (the scope
 * is `done`); leaving the scope after `take` values interrupts it while it is blocked on its send,
 * so it exits (`producerInterrupted: true`, fibers back to baseline). Leaky: the producer is
 * forked as a daemon and stays parked on `randStream <- rand.Int()` forever (one more live fiber).
 *
 * @since 0.1.0
 */
export const generator = Effect.fn("generator")(function*(options: GeneratorOptions = {}) {
  const take = options.take ?? 3
  return yield* Demo.report((journal) =>
    Effect.gen(function*() {
      const produced = yield* Ref.make(0)
      const interrupted = yield* Ref.make(false)
      const randStream = yield* Chan.make<number>()
      const producer = Effect.gen(function*() {
        while (true) {
          yield* Chan.send(randStream, yield* Random.nextIntBetween(0, 2 ** 31 - 1))
          yield* Ref.update(produced, (n) => n + 1)
        }
      }).pipe(
        Effect.onInterrupt(() =>
          Effect.zipRight(Ref.set(interrupted, true), journal.say("newRandStream closure exited."))
        )
      )
      const consume = Effect.gen(function*() {
        yield* journal.say(`${take} random ints:`)
        const values: Array<number> = []
        for (let i = 1; i <= take; i++) {
          const v = Option.getOrThrow(yield* Chan.receive(randStream))
          values.push(v)
          yield* journal.say(`${i}: ${v}`)
        }
        return values
      })
      const values = options.leaky === true
        ? yield* Effect.zipRight(Effect.forkDaemon(producer), consume)
        : yield* Effect.scoped(Effect.zipRight(Effect.forkScoped(producer), consume))
      return {
        values,
        produced: yield* Ref.get(produced),
        producerInterrupted: yield* Ref.get(interrupted)
      }
    })
  )
})
