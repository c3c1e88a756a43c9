/**
 * The `fetch` job: fetch URLs through `UrlFetcher`, hand each outcome to `onOutcome` as it
 * completes, optionally stop after `take` outcomes (cancelling the rest: the Kata's forgotten
 * sender, done right), and return what was delivered.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import * as Chan from "../domain/Chan.js"
import type { FetchOptionsInput, FetchOutcome } from "../domain/FetchOutcome.js"
import { UrlFetcher } from "../services/UrlFetcher.js"

/** @since 0.1.0 */
export interface FetchUrlsOptions extends FetchOptionsInput {
  /** Stop after this many outcomes; the requests still in flight are cancelled. */
  readonly take?: number
  /** Called once per outcome, in completion order. */
  readonly onOutcome?: (outcome: FetchOutcome) => Effect.Effect<void>
  /** Stop after this many failures (seed 002's "stop after N errors"). */
  readonly maxErrors?: number
}

/**
 * Runs the batch; returns the outcomes delivered (in completion order) and whether it stopped early.
 * @since 0.1.0
 */
export const fetchUrls = Effect.fn("fetchUrls")(function*(urls: ReadonlyArray<string>, options: FetchUrlsOptions = {}) {
  const fetcher = yield* UrlFetcher
  const { maxErrors, onOutcome, take, ...fetchOptions } = options
  return yield* Effect.scoped(Effect.gen(function*() {
    const out = yield* fetcher.fetch(urls, fetchOptions)
    const delivered: Array<FetchOutcome> = []
    let errors = 0
    while (take === undefined || delivered.length < take) {
      const next = yield* Chan.receive(out)
      if (Option.isNone(next)) return { outcomes: delivered, stoppedEarly: false }
      delivered.push(next.value)
      if (onOutcome !== undefined) yield* onOutcome(next.value)
      if (next.value._tag === "FetchError" && maxErrors !== undefined && ++errors >= maxErrors) break
    }
    // Leaving the scope cancels every request still in flight.
    return { outcomes: delivered, stoppedEarly: delivered.length < urls.length }
  }))
})
