/**
 * Seed 002's `checkStatus` with "stop after N errors": outcomes (successes and typed errors alike)
 * stream to the consumer, which decides the policy; after the `maxErrors`-th error the stream ends
 * and every request still in flight is cancelled.
 *
 * @since 0.1.0
 */
import { Effect, Stream } from "effect"
import type { FetchOptionsInput, FetchOutcome, InvalidFetchOptions } from "../domain/FetchOutcome.js"
import { UrlFetcher } from "../services/UrlFetcher.js"

/**
 * The outcomes in completion order, ending after the `maxErrors`-th `FetchError` (that error
 * included) or when every URL has an outcome.
 * @since 0.1.0
 */
export const checkStatus = (
  urls: ReadonlyArray<string>,
  options: FetchOptionsInput & { readonly maxErrors: number }
): Stream.Stream<FetchOutcome, InvalidFetchOptions, UrlFetcher> => {
  const { maxErrors, ...fetchOptions } = options
  return Stream.unwrap(Effect.map(UrlFetcher, (fetcher) =>
    fetcher.stream(urls, fetchOptions).pipe(
      Stream.mapAccum(0, (errors, o) => {
        const n = o._tag === "FetchError" ? errors + 1 : errors
        return [n, [o, n] as const]
      }),
      Stream.takeUntil(([, errors]) => errors >= maxErrors),
      Stream.map(([o]) => o)
    )))
}
