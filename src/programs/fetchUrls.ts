/**
 * The `fetch` job: fetch URLs through `UrlFetcher`, hand each outcome to `onOutcome` as it
 * completes and drop it, optionally stop after `take` outcomes or `maxErrors` failures (cancelling
 * the rest: the Kata's forgotten sender, done right), and return a `Summary` built from counters.
 * Memory stays flat in the batch size: URLs are pulled lazily, outcomes are not kept.
 *
 * @since 0.1.0
 */
import { Effect, Option, Stream } from "effect"
import * as Chan from "../domain/Chan.js"
import type { FetchOptionsInput, FetchOutcome, Summary } from "../domain/FetchOutcome.js"
import { SummaryBuilder } from "../domain/FetchOutcome.js"
import type { UrlSource } from "../services/FetchEngine.js"
import { UrlFetcher } from "../services/UrlFetcher.js"

/** @since 0.1.0 */
export interface FetchUrlsOptions extends FetchOptionsInput {
  /** Stop after this many outcomes; the requests still in flight are cancelled. */
  readonly take?: number
  /** Called once per outcome, in completion order; the outcome is dropped afterwards. */
  readonly onOutcome?: (outcome: FetchOutcome) => Effect.Effect<void>
  /** Stop after this many failures (seed 002's "stop after N errors"). */
  readonly maxErrors?: number
  /**
   * Where outcomes are counted (default: a fresh one). Pass your own to read the summary so far
   * if the run is interrupted (Ctrl-C): `builder.summary(total)`.
   */
  readonly summary?: SummaryBuilder
}

/** @since 0.1.0 */
export interface FetchUrlsResult {
  /**
   * Counts for the batch. `total` is the number of URLs for an array, else the number pulled
   * from the source (a lazy source cut short by `take` or the deadline is not read to its end).
   */
  readonly summary: Summary
  /** `take`, `maxErrors` or the deadline stopped the batch before every URL had an outcome. */
  readonly stoppedEarly: boolean
  /** The deadline cut the batch short. */
  readonly deadline: boolean
}

/** The source, counting each URL as the engine pulls it (independently of the engine's count). */
const counting = <E, R>(urls: UrlSource<E, R>, onPull: (n: number) => void): UrlSource<E, R> => {
  if (typeof urls === "object" && urls !== null && Symbol.iterator in urls) {
    const iterable = urls as Iterable<string>
    return {
      *[Symbol.iterator]() {
        for (const url of iterable) {
          onPull(1)
          yield url
        }
      }
    }
  }
  if (Symbol.asyncIterator in urls) {
    const iterable = urls as AsyncIterable<string>
    // Not an async generator: its `return()` would wait for a pending `next()` of the source,
    // and a source that stalls would never be told to stop (see AsyncIterableStream).
    return {
      [Symbol.asyncIterator]() {
        const source = iterable[Symbol.asyncIterator]()
        return {
          next: () =>
            source.next().then((r) => {
              if (r.done !== true) onPull(1)
              return r
            }),
          return: (value?: unknown) => source.return?.(value) ?? Promise.resolve({ done: true, value: undefined })
        }
      }
    }
  }
  return Stream.mapChunks(urls as Stream.Stream<string, E, R>, (chunk) => {
    onPull(chunk.length)
    return chunk
  })
}

/**
 * Runs the batch. Returns the summary and whether it stopped early; fails with a `Stream`
 * source's error or `InvalidFetchOptions`. Interrupting it cancels every request at once.
 *
 * A defect, never a quiet success: if the output closes with URLs that got no outcome and
 * neither the deadline nor `take`/`maxErrors` explains it, the engine lost them, and this dies
 * (the CLI then exits 70, never 0).
 * @since 0.1.0
 */
export const fetchUrls = Effect.fn("fetchUrls")(function*<E = never, R = never>(
  urls: UrlSource<E, R>,
  options: FetchUrlsOptions = {}
) {
  const fetcher = yield* UrlFetcher
  const { maxErrors, onOutcome, summary, take, ...fetchOptions } = options
  const acc = summary ?? new SummaryBuilder()
  let pulled = 0
  const source = counting(urls, (n) => {
    pulled += n
    acc.seen += n
  })
  const total = () => (Array.isArray(urls) ? urls.length : pulled)
  return yield* Effect.scoped(Effect.gen(function*() {
    const batch = yield* fetcher.batch(source, fetchOptions)
    let received = 0
    let errors = 0
    while (take === undefined || received < take) {
      const next = yield* Chan.receive(batch.outcomes)
      if (Option.isNone(next)) {
        const report = yield* batch.done
        if (!report.deadline && (received !== pulled || report.urls !== pulled)) {
          return yield* Effect.dieMessage(
            `fetch engine: the output closed with ${pulled - received} of ${pulled} URLs unaccounted for (engine saw ${report.urls}, delivered ${report.delivered})`
          )
        }
        return { summary: acc.summary(total()), stoppedEarly: report.deadline, deadline: report.deadline } as FetchUrlsResult
      }
      received++
      acc.add(next.value)
      if (onOutcome !== undefined) yield* onOutcome(next.value)
      if (next.value._tag === "FetchError" && maxErrors !== undefined && ++errors >= maxErrors) break
    }
    // Leaving the scope cancels every request still in flight.
    return { summary: acc.summary(total()), stoppedEarly: received < total(), deadline: false } as FetchUrlsResult
  }))
})
