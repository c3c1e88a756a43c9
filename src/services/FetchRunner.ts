/**
 * The runner side of the scale-out fetch: the `FetchBatch` entity's handler, which fetches a batch
 * with `UrlFetcher` (so typed errors, timeouts, retries of transient failures, body caps and
 * interruption are exactly the single-machine ones), and the runner process's layer.
 *
 * Transient failures are retried inside the handler, by `UrlFetcher`, before anything is stored:
 * the reply stored for a batch is final. Interrupting the handler (the client cancelled: Ctrl-C,
 * `--take`) aborts every request in flight, as on one machine; a runner shutting down lets the
 * batch finish for `entityTerminationTimeout`, and what is still running then is redone by the
 * runner that takes the shard over.
 *
 * @since 0.1.0
 */
import { Clock, Effect, Layer } from "effect"
import * as Chan from "../domain/Chan.js"
import type { WireOptions, WireOutcome } from "../domain/FetchBatch.js"
import { BatchReply, FetchBatch, InvalidBatch, toWire, urlsDigest } from "../domain/FetchBatch.js"
import type { FetchOptionsInput } from "../domain/FetchOutcome.js"
import * as ClusterStack from "./ClusterStack.js"
import * as UrlFetcher from "./UrlFetcher.js"

/**
 * What a runner has done so far, for its log line on shutdown.
 * @since 0.1.0
 */
export interface Stats {
  batches: number
  urls: number
}

/** The fields of a batch request the handler uses. */
interface Request {
  readonly run: string
  readonly urls: ReadonlyArray<string>
  readonly options: WireOptions
}

/**
 * Fetches one batch (Go analogue: the worker's handler for one job): every URL gets one outcome, in completion order, except those cut off by the
 * batch's deadline. Fails with `InvalidBatch` for options `UrlFetcher` rejects, and for a defect
 * (a bug): the cluster restarts an entity whose handler dies and asks it again, forever, so a
 * defect is turned into a stored, final failure the client reports as an internal error.
 * Interrupting it aborts every request in flight (`UrlFetcher`'s scope closes).
 * @since 0.1.0
 */
export const fetchBatch = (
  fetcher: UrlFetcher.UrlFetcher,
  runner: string,
  request: Request,
  stats?: Stats
): Effect.Effect<BatchReply, InvalidBatch> =>
  Effect.gen(function*() {
    const o = request.options
    const outcomes: Array<WireOutcome> = []
    const reply = () =>
      new BatchReply({ run: request.run, runner, outcomes, count: request.urls.length, digest: urlsDigest(request.urls) })
    let deadline: number | undefined
    if (o.deadlineAt !== undefined) {
      deadline = o.deadlineAt - (yield* Clock.currentTimeMillis)
      if (deadline <= 0) return reply()
    }
    const input: FetchOptionsInput = {
      concurrency: o.concurrency,
      timeout: o.timeoutMs,
      retries: o.retries,
      retryBase: o.retryBaseMs,
      maxBodyBytes: o.maxBodyBytes,
      maxRedirects: o.maxRedirects,
      userAgent: o.userAgent,
      deadline,
      // Only the byte count goes back: count the body and let it go (flat memory, as the CLI does).
      body: "discard"
    }
    // An outcome names its URL; a URL may appear more than once in a batch.
    const positions = new Map<string, Array<number>>()
    request.urls.forEach((url, i) => {
      const at = positions.get(url)
      if (at === undefined) positions.set(url, [i])
      else at.push(i)
    })
    yield* Effect.scoped(Effect.gen(function*() {
      const out = yield* fetcher.fetch(request.urls, input).pipe(
        Effect.mapError((e) => new InvalidBatch({ detail: e.message }))
      )
      yield* Chan.forEach(out, (outcome) =>
        Effect.sync(() => {
          const i = positions.get(outcome.url)?.shift()
          if (i !== undefined) outcomes.push(toWire(i, outcome))
        }))
    }))
    if (stats !== undefined) {
      stats.batches++
      stats.urls += outcomes.length
    }
    return reply()
  }).pipe(
    Effect.catchAllDefect((defect) =>
      Effect.fail(new InvalidBatch({ detail: `defect on runner ${runner}: ${defect instanceof Error ? defect.message : String(defect)}` }))
    )
  )

/**
 * The `FetchBatch` entity's handlers on this runner, fetching with the `UrlFetcher` in context.
 * One entity per batch; each handles one request at a time.
 * @since 0.1.0
 */
export const handlers = (runner: string, stats?: Stats) =>
  FetchBatch.toLayer(
    Effect.map(UrlFetcher.UrlFetcher, (fetcher) =>
      FetchBatch.of({
        Fetch: (envelope) => fetchBatch(fetcher, runner, envelope.payload, stats),
        Ping: () => Effect.succeed(runner)
      })),
    { concurrency: 1 }
  )

/**
 * A whole runner process: the cluster member (`ClusterStack.runner`), the entity handlers and an
 * undici `UrlFetcher`. Building it connects to the database and starts listening; releasing it is
 * the graceful shutdown.
 * @since 0.1.0
 */
export const layer = (options: ClusterStack.RunnerOptions, stats?: Stats) =>
  handlers(`${options.host}:${options.port}`, stats).pipe(
    Layer.provide(UrlFetcher.layer),
    Layer.provideMerge(ClusterStack.runner(options))
  )
