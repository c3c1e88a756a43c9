/**
 * The context-aware fetcher (seed 000, Kata 17): fetch many URLs concurrently, stream outcomes as
 * they complete, stop at once when the owner's scope closes, leak nothing.
 *
 * Built on `@effect/platform`'s `HttpClient`, which the edge provides (`UrlFetcher.layer` wires
 * `@effect/platform-node`'s undici client; tests may provide their own). Interrupting a request
 * aborts it: the socket is closed, the server sees the request go away.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import { Chunk, Clock, Duration, Effect, Either, Layer, Metric, MetricBoundaries, Schedule, Stream } from "effect"
import type * as Scope from "effect/Scope"
import * as Chan from "../domain/Chan.js"
import type { FetchOptions, FetchOptionsInput, FetchOutcome } from "../domain/FetchOutcome.js"
import { Fetched, FetchError, InvalidFetchOptions, isTransient, makeOptions } from "../domain/FetchOutcome.js"

// ---------------------------------------------------------------------------------------------
// Metrics (seed 001's extension), global like every Effect metric: embedders export them as they wish.
// ---------------------------------------------------------------------------------------------

/** @since 0.1.0 */
export const metrics = {
  succeeded: Metric.counter("leakproof_fetch_succeeded_total", { description: "URLs fetched with a 2xx response" }),
  failed: Metric.counter("leakproof_fetch_failed_total", { description: "URLs that ended in a FetchError" }),
  cancelled: Metric.counter("leakproof_fetch_cancelled_total", {
    description: "fetches interrupted before they finished"
  }),
  duration: Metric.histogram(
    "leakproof_fetch_duration_ms",
    MetricBoundaries.exponential({ start: 1, factor: 2, count: 16 }),
    "duration of successful fetches, retries included"
  )
}

const invalidUrl = (url: string, detail: string) =>
  new FetchError({ url, reason: "InvalidUrl", detail, attempts: 0 })

const checkUrl = (url: string): Either.Either<string, FetchError> => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return Either.left(invalidUrl(url, "not an absolute URL"))
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    return Either.left(invalidUrl(url, `unsupported scheme '${parsed.protocol.replace(/:$/, "")}'`))
  }
  return Either.right(parsed.href)
}

const fromClientError = (url: string, attempts: number) => (e: HttpClientError.HttpClientError): FetchError => {
  if (e._tag === "RequestError" && e.reason === "InvalidUrl") return invalidUrl(url, e.message)
  const detail = (e.cause instanceof Error ? e.cause.message : "") || e.message
  return new FetchError({ url, reason: "Transport", detail, attempts })
}

/** Reads a body chunk by chunk and stops (closing the connection) once it passes `max` bytes. */
const readCapped = <E>(
  body: Stream.Stream<Uint8Array, E>,
  max: number,
  tooLarge: () => FetchError
): Effect.Effect<Uint8Array, E | FetchError> =>
  Stream.runFoldEffect(body, { chunks: Chunk.empty<Uint8Array>(), size: 0 }, (acc, chunk) => {
    const size = acc.size + chunk.length
    return size > max ? Effect.fail(tooLarge()) : Effect.succeed({ chunks: Chunk.append(acc.chunks, chunk), size })
  }).pipe(Effect.map(({ chunks, size }) => {
    const out = new Uint8Array(size)
    let offset = 0
    for (const c of chunks) {
      out.set(c, offset)
      offset += c.length
    }
    return out
  }))

/**
 * The fetcher. `get` fetches one URL; `fetch` and `stream` fetch many.
 * @since 0.1.0
 */
export class UrlFetcher extends Effect.Service<UrlFetcher>()("leakproof/UrlFetcher", {
  effect: Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient

    const attempt = (
      url: string,
      o: FetchOptions,
      attempts: number
    ): Effect.Effect<{ readonly status: number; readonly body: Uint8Array }, FetchError> => {
      const tooLarge = () =>
        new FetchError({ url, reason: "BodyTooLarge", detail: `body larger than ${o.maxBodyBytes} bytes`, attempts })
      const http = HttpClient.followRedirects(client, o.maxRedirects)
      // Every path below reads the body to its end or stops the body stream, which releases the
      // connection (an unread body would keep it open until garbage collection). This is cheaper
      // than a scope per request (`HttpClient.withScope`), measured at ~2x on loopback.
      return Effect.gen(function*() {
        const res = yield* http.get(url, { headers: { "user-agent": o.userAgent } })
        if (res.status < 200 || res.status >= 300) {
          yield* Effect.ignore(readCapped(res.stream, o.maxBodyBytes, tooLarge))
          const detail = res.status >= 300 && res.status < 400
            ? `HTTP ${res.status} after ${o.maxRedirects} redirects`
            : `HTTP ${res.status}`
          return yield* new FetchError({ url, reason: "Status", status: res.status, detail, attempts })
        }
        const length = res.headers["content-length"]
        const declared = length === undefined ? Number.NaN : Number(length)
        if (declared > o.maxBodyBytes) {
          // Stop the body stream after its first chunk: that aborts the transfer.
          yield* Effect.ignore(Stream.runDrain(Stream.take(res.stream, 1)))
          return yield* tooLarge()
        }
        // A declared length within the limit is read in one go (the socket cannot send more than
        // it declared); an undeclared one is streamed and cut off at the limit.
        const body = Number.isSafeInteger(declared)
          ? new Uint8Array(yield* res.arrayBuffer)
          : yield* readCapped(res.stream, o.maxBodyBytes, tooLarge)
        return { status: res.status, body }
      }).pipe(
        Effect.catchIf(HttpClientError.isHttpClientError, (e) => Effect.fail(fromClientError(url, attempts)(e))),
        Effect.timeoutFail({
          duration: o.timeout,
          onTimeout: () =>
            new FetchError({ url, reason: "Timeout", detail: `no complete response within ${Duration.format(o.timeout)}`, attempts })
        })
      )
    }

    /**
     * Fetches one URL with retries, metrics and timing. Fails with a `FetchError`; interruption
     * aborts the request in flight.
     */
    const getWith = (url: string, o: FetchOptions): Effect.Effect<Fetched, FetchError> =>
      Effect.gen(function*() {
        const href = yield* checkUrl(url)
        const start = yield* Clock.currentTimeMillis
        let attempts = 0
        const { body, status } = yield* Effect.suspend(() => attempt(href, o, ++attempts)).pipe(
          Effect.retry({
            schedule: Schedule.exponential(o.retryBase).pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(o.retries))),
            while: isTransient
          })
        )
        const durationMs = (yield* Clock.currentTimeMillis) - start
        return new Fetched({ url, status, body, durationMs, attempts })
      }).pipe(
        Effect.tap((f) => Effect.zipRight(Metric.increment(metrics.succeeded), Metric.update(metrics.duration, f.durationMs))),
        Effect.tapError(() => Metric.increment(metrics.failed)),
        Effect.onInterrupt(() => Metric.increment(metrics.cancelled)),
        Effect.withSpan("UrlFetcher.get", { attributes: { url }, captureStackTrace: false })
      )

    const options = (partial: FetchOptionsInput | undefined) =>
      Effect.mapError(makeOptions(partial), (e) => e)

    const get = (url: string, partial?: FetchOptionsInput): Effect.Effect<Fetched, FetchError | InvalidFetchOptions> =>
      Effect.flatMap(options(partial), (o) => getWith(url, o))

    /**
     * Kata 17's `Fetch(ctx, urls) <-chan Result`. Producers are forked into the caller's `Scope`;
     * closing it cancels every request. The output is closed exactly once, by the single fiber that
     * waits for every producer to exit (a second close would die with `ChanPanic`). Its buffer holds
     * `concurrency` outcomes: every producer in flight can hand over its result without waiting
     * for the consumer, and a slow consumer holds back new requests after that.
     */
    const fetch = (
      urls: Iterable<string>,
      partial?: FetchOptionsInput
    ): Effect.Effect<Chan.RecvChan<FetchOutcome>, InvalidFetchOptions, Scope.Scope> =>
      Effect.gen(function*() {
        const o = yield* options(partial)
        const out = yield* Chan.make<FetchOutcome>(o.concurrency)
        const produceAll = Effect.forEach(
          urls,
          (url) => getWith(url, o).pipe(Effect.merge, Effect.flatMap((r) => Chan.send(out, r))),
          { concurrency: o.concurrency, discard: true }
        )
        const bounded = o.deadline === undefined ? produceAll : Effect.ignore(Effect.timeout(produceAll, o.deadline))
        // The single closer: runs once, after every producer has exited (completed or interrupted).
        // The fiber starts uninterruptible so that `ensuring` is in place even if the scope closes
        // before it ever ran (a fiber interrupted before its first step runs no finalizer at all).
        yield* Effect.uninterruptibleMask((restore) =>
          Effect.forkScoped(Effect.ensuring(restore(bounded), Chan.close(out)))
        ).pipe(Effect.withSpan("UrlFetcher.fetch"))
        return out
      })

    /** The same engine as a `Stream` of outcomes, in completion order; ending it cancels the rest. */
    const stream = (
      urls: Iterable<string>,
      partial?: FetchOptionsInput
    ): Stream.Stream<FetchOutcome, InvalidFetchOptions> =>
      Stream.unwrapScoped(Effect.map(fetch(urls, partial), (out) => Chan.toStream(out)))

    return { get, fetch, stream } as const
  })
}) {}

// Loaded when a layer is built, not when this module is imported: `import { Chan } from "leakproof"`
// must not pay for (or need) the HTTP stack.
const nodeHttpClient = Effect.promise(() => import("@effect/platform-node/NodeHttpClient"))

/**
 * `UrlFetcher` on `@effect/platform-node`'s undici client (one connection pool for the layer's
 * lifetime). Measured faster than the node:http client on loopback (see bench/fetch.ts).
 * @since 0.1.0
 */
export const layer: Layer.Layer<UrlFetcher> = UrlFetcher.Default.pipe(
  Layer.provide(Layer.unwrapEffect(Effect.map(nodeHttpClient, (m) => m.layerUndici)))
)

/**
 * `UrlFetcher` on the node:http client with its own agent.
 * @since 0.1.0
 */
export const layerNodeHttp: Layer.Layer<UrlFetcher> = UrlFetcher.Default.pipe(
  Layer.provide(Layer.unwrapEffect(Effect.map(nodeHttpClient, (m) => m.layer)))
)
