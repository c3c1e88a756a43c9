/**
 * The context-aware fetcher (seed 000, Kata 17): fetch many URLs concurrently, stream outcomes as
 * they complete, stop at once when the owner's scope closes, leak nothing.
 *
 * Built on undici's dispatcher (the `HttpDispatcher` port; `UrlFetcher.layer` provides one undici
 * `Agent` for the layer's lifetime, loaded lazily) and driven by one fiber per batch
 * (`FetchEngine`): it costs about what undici itself costs per request. Interrupting a batch or a
 * `get` aborts its requests at once: the sockets are closed and the server sees the requests go
 * away; nothing waits for a timeout.
 *
 * @since 0.1.0
 */
import { Effect, Either, Fiber, Layer, Metric, MetricBoundaries, Stream } from "effect"
import type * as Scope from "effect/Scope"
import type { Agent } from "undici"
import * as Chan from "../domain/Chan.js"
import type { FetchOptions, FetchOptionsInput, FetchOutcome } from "../domain/FetchOutcome.js"
import { Fetched, FetchError, InvalidFetchOptions, makeOptions } from "../domain/FetchOutcome.js"
import * as BodyFile from "./BodyFile.js"
import * as FetchEngine from "./FetchEngine.js"
import { HttpDispatcher, layerUndici } from "./HttpDispatcher.js"

// ---------------------------------------------------------------------------------------------
// Metrics (seed 001's extension), global like every Effect metric: embedders export them as they wish.
// ---------------------------------------------------------------------------------------------

/**
 * Updated by the engine as outcomes are delivered (no effect per request), with the metric labels
 * of the fiber that started the batch.
 * @since 0.1.0
 */
export const metrics = {
  succeeded: Metric.counter("leakproof_fetch_succeeded_total", { description: "URLs fetched with a 2xx response" }),
  failed: Metric.counter("leakproof_fetch_failed_total", { description: "URLs that ended in a FetchError" }),
  cancelled: Metric.counter("leakproof_fetch_cancelled_total", {
    description: "URLs of a batch stopped (cancelled, deadline) before they had an outcome"
  }),
  duration: Metric.histogram(
    "leakproof_fetch_duration_ms",
    MetricBoundaries.exponential({ start: 1, factor: 2, count: 16 }),
    "duration of successful fetches, retries included"
  )
}

/**
 * What `batch` hands back: the outcomes (closed exactly once, when the batch ends however it ends)
 * and the batch's own account of how it ended, for callers that must know nothing went missing.
 * @since 0.1.0
 */
export interface Batch<E> {
  readonly outcomes: Chan.RecvChan<FetchOutcome>
  /**
   * Waits for the batch to end: how many URLs it pulled and delivered, and whether the deadline cut
   * it short. Fails with the source's error if a `Stream` source failed; dies if the engine did.
   */
  readonly done: Effect.Effect<FetchEngine.BatchReport, E>
}

/**
 * How the layer builds the fetcher. `spans`: `"batch"` (default) gives one span per `fetch` or
 * `stream` batch and none per request; `"request"` adds a span per URL (`UrlFetcher.get`), also for
 * `get`; `"none"` turns tracing off.
 * @since 0.1.0
 */
export interface Config {
  readonly spans?: FetchEngine.Spans
}

/**
 * Builds the fetcher on the `HttpDispatcher` in context; its timer for `get`s lives in the scope.
 * @since 0.1.0
 */
export const make = (config: Config = {}) =>
  Effect.gen(function*() {
    const transport = yield* HttpDispatcher
    const timer = yield* FetchEngine.makeSharedTimer
    const engine: FetchEngine.Engine = { transport, metrics, spans: config.spans ?? "batch", timer }

    // Validated options per options object: a loop of `get`s passing the same object validates it
    // once (the input is readonly; the output directory is still created, if missing, per call).
    const validated = new WeakMap<FetchOptionsInput, Either.Either<FetchOptions, InvalidFetchOptions>>()
    const noOptions: FetchOptionsInput = {}
    const validate = (partial: FetchOptionsInput | undefined): Either.Either<FetchOptions, InvalidFetchOptions> => {
      const key = partial ?? noOptions
      let checked = validated.get(key)
      if (checked === undefined) {
        checked = makeOptions(key)
        validated.set(key, checked)
      }
      return checked
    }
    const prepare = (o: FetchOptions): Effect.Effect<FetchOptions, InvalidFetchOptions> => {
      if (typeof o.body !== "object") return Effect.succeed(o)
      const dir = o.body.dir
      return Effect.as(
        Effect.try({
          try: () => BodyFile.ensureDir(dir),
          catch: (e) => new InvalidFetchOptions({ option: "output", detail: `cannot create ${dir}: ${e instanceof Error ? e.message : String(e)}` })
        }),
        o
      )
    }
    const options = (partial: FetchOptionsInput | undefined): Effect.Effect<FetchOptions, InvalidFetchOptions> => {
      const checked = validate(partial)
      return Either.isLeft(checked) ? Effect.fail(checked.left) : prepare(checked.right)
    }

    const requestSpans = engine.spans === "request"
    const settle = (url: string, r: FetchOutcome | undefined): Effect.Effect<Fetched, FetchError> =>
      r === undefined
        ? Effect.fail(new FetchError({ url, reason: "Timeout", detail: "the deadline passed", attempts: 1 }))
        : r._tag === "Fetched"
        ? Effect.succeed(r)
        : Effect.fail(r)
    const traced = (url: string, r: FetchOutcome | undefined): Effect.Effect<Fetched, FetchError> =>
      r === undefined
        ? settle(url, r)
        : Effect.flatMap(FetchEngine.withRequestSpans(() => Effect.void), (emit) => Effect.zipRight(emit(r), settle(url, r)))

    /**
     * One URL: `Fetched` (a 2xx whose body was read within the limit), or a `FetchError` in the
     * error channel (after the retries, for transient failures). Interrupting it aborts the
     * request at once. The same engine as `fetch` (timeout, retries with backoff and jitter,
     * redirects, body cap), as a batch of one on the layer's shared connection pool; a `deadline`
     * acts as a second timeout. The options are read when it runs (pass the same object to many
     * `get`s: it is validated once).
     */
    const get = (url: string, partial?: FetchOptionsInput): Effect.Effect<Fetched, FetchError | InvalidFetchOptions> =>
      Effect.suspend(() => {
        const checked = validate(partial)
        if (Either.isLeft(checked)) return Effect.fail(checked.left)
        const o = checked.right
        const one = Effect.flatMap(FetchEngine.runOne(engine, o, url), (r) => requestSpans ? traced(url, r) : settle(url, r))
        return typeof o.body === "object" ? Effect.zipRight(prepare(o), one) : one
      })

    /**
     * A batch started in the caller's scope; see `fetch`. `done` adds the batch's own account.
     */
    const batch = <E = never, R = never>(
      urls: FetchEngine.UrlSource<E, R>,
      partial?: FetchOptionsInput
    ): Effect.Effect<Batch<E>, InvalidFetchOptions, Scope.Scope | R> =>
      Effect.gen(function*() {
        const o = yield* options(partial)
        const out = yield* Chan.make<FetchOutcome>(o.concurrency)
        const send = (outcome: FetchOutcome) => Chan.send(out, outcome)
        let driver = engine.spans === "request"
          ? Effect.flatMap(FetchEngine.withRequestSpans(send), (emit) => FetchEngine.run(engine, o, urls, emit))
          : FetchEngine.run(engine, o, urls, send)
        if (engine.spans !== "none") driver = Effect.withSpan(driver, "UrlFetcher.fetch", { captureStackTrace: false })
        // The single closer: the driver's fiber closes the output once, after it has stopped. It
        // starts uninterruptible so that `ensuring` is in place even if the scope closes before it
        // ever ran (a fiber interrupted before its first step runs no finalizer at all).
        const fiber = yield* Effect.uninterruptibleMask((restore) =>
          Effect.forkScoped(Effect.ensuring(restore(driver), Chan.close(out)))
        )
        return { outcomes: out, done: Fiber.join(fiber) }
      })

    /**
     * Kata 17's `Fetch(ctx, urls) <-chan Result`: the outcomes in completion order on a channel
     * owned by the caller's `Scope`. URLs are pulled lazily (an `Iterable`, an `AsyncIterable` or a
     * `Stream`), at most `concurrency` in flight; the channel buffers `concurrency` outcomes, and a
     * slow consumer holds back new requests after that. Closing the scope cancels every request at
     * once (no timeout is waited for) and closes the channel exactly once. Each URL's failure is a
     * `FetchError` value on the channel, never the batch's.
     */
    const fetch = (
      urls: FetchEngine.UrlSource,
      partial?: FetchOptionsInput
    ): Effect.Effect<Chan.RecvChan<FetchOutcome>, InvalidFetchOptions, Scope.Scope> =>
      Effect.map(batch(urls, partial), (b) => b.outcomes)

    /**
     * The same engine as a `Stream` of outcomes in completion order; ending it early cancels the
     * rest. Fails with the source's error if a `Stream` source fails.
     */
    const stream = <E = never, R = never>(
      urls: FetchEngine.UrlSource<E, R>,
      partial?: FetchOptionsInput
    ): Stream.Stream<FetchOutcome, InvalidFetchOptions | E, R> =>
      Stream.unwrapScoped(
        Effect.map(batch(urls, partial), (b) => Stream.concat(Chan.toStream(b.outcomes), Stream.drain(Stream.fromEffect(b.done))))
      )

    return { get, fetch, stream, batch } as const
  })

/**
 * The fetcher. `get` fetches one URL; `fetch`, `stream` and `batch` fetch many. Go analogue: an
 * `http.Client` plus Kata 17's `DataFetcher`.
 * @since 0.1.0
 */
export class UrlFetcher extends Effect.Service<UrlFetcher>()("leakproof/UrlFetcher", {
  scoped: make()
}) {}

/**
 * `UrlFetcher` with a `Config` (e.g. request spans), on the `HttpDispatcher` in context.
 * @since 0.1.0
 */
export const layerWithoutDispatcher = (config: Config): Layer.Layer<UrlFetcher, never, HttpDispatcher> =>
  Layer.scoped(UrlFetcher, Effect.map(make(config), (impl) => UrlFetcher.make(impl)))

/**
 * `UrlFetcher` on one undici `Agent` for the layer's lifetime (destroyed when the layer closes),
 * with a `Config` and undici `Agent` options.
 * @since 0.1.0
 */
export const layerWith = (config: Config & { readonly agent?: Agent.Options } = {}): Layer.Layer<UrlFetcher> =>
  layerWithoutDispatcher(config).pipe(Layer.provide(layerUndici(config.agent)))

/**
 * `UrlFetcher` on one undici `Agent` for the layer's lifetime; one span per batch.
 * @since 0.1.0
 */
export const layer: Layer.Layer<UrlFetcher> = UrlFetcher.Default.pipe(Layer.provide(layerUndici()))
