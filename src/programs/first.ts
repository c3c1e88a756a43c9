/**
 * Seed 001's "first-win": ask every mirror at once; the first success wins and the others are
 * interrupted at once; if all fail, one error lists every failure.
 *
 * @since 0.1.0
 */
import { Data, Effect } from "effect"
import type { FetchError, FetchOptionsInput, InvalidFetchOptions } from "../domain/FetchOutcome.js"
import { UrlFetcher } from "../services/UrlFetcher.js"

/**
 * Every mirror failed; `failures` in input order.
 * @since 0.1.0
 */
export class AllFailed extends Data.TaggedError("AllFailed")<{
  readonly failures: ReadonlyArray<FetchError | InvalidFetchOptions>
}> {
  override get message(): string {
    return `all ${this.failures.length} failed: ${this.failures.map((f) => f.message).join("; ")}`
  }
}

/**
 * The first URL to answer with a 2xx wins.
 * @since 0.1.0
 */
export const first = Effect.fn("first")(function*(urls: ReadonlyArray<string>, options?: FetchOptionsInput) {
  const fetcher = yield* UrlFetcher
  const failures: Array<FetchError | InvalidFetchOptions> = new Array(urls.length)
  if (urls.length === 0) return yield* new AllFailed({ failures: [] })
  // raceAll: the first success wins and interrupts the losers; failures are kept in input order.
  return yield* Effect.raceAll(
    urls.map((url, i) => Effect.tapError(fetcher.get(url, options), (e) => Effect.sync(() => (failures[i] = e))))
  ).pipe(Effect.catchAll(() => new AllFailed({ failures })))
})
