/**
 * Seed 002, "Error Handling in Concurrent Go Programs": the producer sends each outcome, success
 * or typed error, to the consumer, which alone decides the policy (stop after N errors).
 *
 * @since 0.1.0
 */
import { Data, Duration, Effect, Either, Option, Ref } from "effect"
import * as Chan from "../../domain/Chan.js"
import * as Demo from "./Demo.js"

/**
 * Why a status check failed (the seed's `Get "a": unsupported protocol scheme ""`).
 * @since 0.1.0
 */
export class CheckError extends Data.TaggedError("CheckError")<{
  readonly reason: "UnsupportedScheme"
  readonly url: string
}> {
  override get message(): string {
    return `Get "${this.url}": unsupported protocol scheme ""`
  }
}

/** @since 0.1.0 */
export interface ErrorsAsValuesOptions {
  /** URLs to check (default the seed's `a, https://www.google.com, b, c, d`). */
  readonly urls?: ReadonlyArray<string>
  /** The consumer stops after this many errors (default 3). */
  readonly maxErrors?: number
  /** How long one check takes (default 50 ms); checks are simulated, no network is used. */
  readonly latency?: Duration.DurationInput
  /**
   * The seed's `checkStatus`: a bare `results <- result` followed by a non-blocking check of
   * `done`. Once the consumer breaks out, the next bare send blocks forever.
   */
  readonly leaky?: boolean
}

/** @since 0.1.0 */
export interface ErrorsAsValuesResult extends Demo.Report {
  /** What the consumer saw, in order: `Right(status)` or `Left(CheckError)`. */
  readonly results: ReadonlyArray<Either.Either<string, CheckError>>
  readonly errors: number
  /** URLs the producer checked (it never runs more than one ahead of the consumer). */
  readonly checked: ReadonlyArray<string>
  /** Whether the producer was interrupted because the consumer stopped (fixed version). */
  readonly producerInterrupted: boolean
}

/**
 * A stand-in for `http.Get` that needs no network: URLs with an `http(s)://` scheme answer
 * `200 OK` after `latency`; anything else fails with `CheckError("UnsupportedScheme")`.
 */
const check = (url: string, latency: Duration.DurationInput): Effect.Effect<string, CheckError> =>
  Effect.zipRight(
    Effect.sleep(latency),
    /^https?:\/\//.test(url) ? Effect.succeed("200 OK") : Effect.fail(new CheckError({ reason: "UnsupportedScheme", url }))
  )

/**
 * The typed-error version of `checkStatus(done, urls...)`: the producer sends
 * `Either<status, CheckError>` on an unbuffered channel (errors are values in the payload, typed,
 * not printed by the goroutine); the consumer counts errors and leaves after `maxErrors`. Fixed:
 * the producer lives in the consumer's `Scope`, so leaving interrupts it. Leaky: the seed's bare
 * send keeps the producer blocked forever on the next result.
 *
 * @since 0.1.0
 */
export const errorsAsValues = Effect.fn("errorsAsValues")(function*(options: ErrorsAsValuesOptions = {}) {
  const urls = options.urls ?? ["a", "https://www.google.com", "b", "c", "d"]
  const maxErrors = options.maxErrors ?? 3
  const latency = options.latency ?? Duration.millis(50)
  return yield* Demo.report((journal) =>
    Effect.gen(function*() {
      const checked = yield* Ref.make<ReadonlyArray<string>>([])
      const interrupted = yield* Ref.make(false)
      const results = yield* Chan.make<Either.Either<string, CheckError>>()
      const done = yield* Chan.make<never>()
      const leaky = options.leaky === true
      const producer = Effect.gen(function*() {
        for (const url of urls) {
          const result = yield* Effect.either(check(url, latency))
          yield* Ref.update(checked, (c) => [...c, url])
          yield* Chan.send(results, result)
          if (leaky) {
            const stop = yield* Chan.select([Chan.onReceive(done, () => Effect.succeed(true))], {
              default: () => Effect.succeed(false)
            })
            if (stop) return
          }
        }
        yield* Chan.close(results)
      }).pipe(Effect.onInterrupt(() => Ref.set(interrupted, true)))

      const consume = Effect.gen(function*() {
        const seen: Array<Either.Either<string, CheckError>> = []
        let errors = 0
        while (true) {
          const next = yield* Chan.receive(results)
          if (Option.isNone(next)) break
          seen.push(next.value)
          if (Either.isLeft(next.value)) {
            yield* journal.say(`error: ${next.value.left.message}`)
            if (++errors >= maxErrors) {
              yield* journal.say("Too many errors, breaking!")
              break
            }
          } else {
            yield* journal.say(`Response: ${next.value.right}`)
          }
        }
        return { seen, errors }
      })

      const { errors, seen } = leaky
        ? yield* Effect.zipRight(Effect.forkDaemon(producer), consume).pipe(Effect.ensuring(Chan.close(done)))
        : yield* Effect.scoped(Effect.zipRight(Effect.forkScoped(producer), consume))
      return {
        results: seen,
        errors,
        checked: yield* Ref.get(checked),
        producerInterrupted: yield* Ref.get(interrupted)
      }
    })
  )
})
