/**
 * The client side of the scale-out fetch: a `UrlFetcher` whose requests run on cluster runners.
 * It has the same contract as the local one (outcomes in a channel owned by the caller's scope,
 * closed exactly once, leaving the scope cancels everything), so every program and command built
 * on `UrlFetcher` runs on the cluster unchanged: `leakproof fetch --cluster` is `leakproof fetch`
 * with this layer.
 *
 * A job is cut into batches (`batchSize` URLs, default 100) sent as persisted `FetchBatch`
 * messages, at most `batches` at a time (default 4); each batch runs on a runner with the job's
 * `concurrency`, so at most `batches x concurrency` requests are in flight. Outcomes arrive a batch
 * at a time, each batch's in completion order.
 *
 * Delivery: every URL gets exactly one outcome at the client. A runner that dies mid-batch has
 * its batch redone by the runner that takes its shard over, so a URL may be *fetched* twice:
 * at most `batches x batchSize` URLs per dead runner (the batches in flight on it).
 *
 * Resubmitting: the job id is a hash of the URLs and the options that shape outcomes (or `job`);
 * the same job submitted again is answered from storage, with no request made twice. Batches an
 * earlier run cancelled (Ctrl-C, `--take`, its deadline) are fetched again.
 *
 * @since 0.1.0
 */
import * as ClusterError from "@effect/cluster/ClusterError"
import * as RunnerStorage from "@effect/cluster/RunnerStorage"
import type * as Sharding from "@effect/cluster/Sharding"
import { Cause, Clock, Context, Data, Duration, Effect, Exit, Layer, Option, Schedule, Scope, Stream } from "effect"
import { createHash, randomUUID } from "node:crypto"
import * as Chan from "../domain/Chan.js"
import type { BatchReply } from "../domain/FetchBatch.js"
import { chunk, entityId, FetchBatch, fromWire, toWireOptions } from "../domain/FetchBatch.js"
import type { FetchOptions, FetchOptionsInput, FetchOutcome, InvalidFetchOptions } from "../domain/FetchOutcome.js"
import { makeOptions } from "../domain/FetchOutcome.js"
import * as ClusterStack from "./ClusterStack.js"
import * as UrlFetcher from "./UrlFetcher.js"

/**
 * How jobs are cut and submitted.
 * @since 0.1.0
 */
export interface ClientOptions {
  /** The job's name; the same name gets the stored replies (default: a hash of URLs and options). */
  readonly job?: string | undefined
  /** URLs per message (default 100). */
  readonly batchSize?: number | undefined
  /** Messages in flight at once (default 4). */
  readonly batches?: number | undefined
}

/**
 * The cluster could not carry the job (the database went away mid-run and stayed away). A defect
 * of the cluster-backed `UrlFetcher`, since a fetch itself has no such outcome.
 * @since 0.1.0
 */
export class ClusterUnavailable extends Data.TaggedError("ClusterUnavailable")<{ readonly detail: string }> {
  override get message(): string {
    return `cluster: ${this.detail}`
  }
}

/**
 * The default job id: a hash of the URLs, the batch size and every option that shapes outcomes
 * (not the concurrency, not the deadline: a deadline-cut batch is fetched again next time).
 * @since 0.1.0
 */
export const jobId = (urls: ReadonlyArray<string>, o: FetchOptions, batchSize: number): string => {
  const h = createHash("sha256")
  h.update(JSON.stringify({
    batchSize,
    timeout: Duration.toMillis(o.timeout),
    retries: o.retries,
    retryBase: Duration.toMillis(o.retryBase),
    maxBodyBytes: o.maxBodyBytes,
    maxRedirects: o.maxRedirects,
    userAgent: o.userAgent
  }))
  for (const url of urls) h.update(`\n${url}`)
  return `j-${h.digest("hex").slice(0, 20)}`
}

// MailboxFull, AlreadyProcessingMessage (a resubmit racing its original) and PersistenceError (the
// database hiccuped) are the cluster's transient failures: ask again.
const isTransient = (e: unknown): boolean =>
  ClusterError.MailboxFull.is(e) || ClusterError.AlreadyProcessingMessage.is(e) || e instanceof ClusterError.PersistenceError

const retrySchedule = Schedule.exponential("200 millis").pipe(
  Schedule.union(Schedule.spaced("5 seconds")),
  Schedule.upTo("2 minutes")
)

/**
 * A `UrlFetcher` on the cluster (Go analogue: Kata 17's `Fetch(ctx, urls) <-chan Result` backed by a
 * durable job queue; needs `Sharding`, which `layer` provides as a client-only member). Defaults:
 * 100 URLs per batch, 4 batches in flight.
 * `fetch` forks its batch senders into the caller's scope; leaving the scope interrupts them,
 * which sends an interrupt to each batch in flight: the runner aborts its requests.
 * @since 0.1.0
 */
export const make = (options: ClientOptions = {}): Effect.Effect<UrlFetcher.UrlFetcher, never, Sharding.Sharding> =>
  Effect.gen(function*() {
    const clientFor = yield* FetchBatch.client
    const batchSize = options.batchSize ?? 100
    const window = options.batches ?? 4

    const fetch = (
      urls: Iterable<string>,
      partial?: FetchOptionsInput
    ): Effect.Effect<Chan.RecvChan<FetchOutcome>, InvalidFetchOptions, Scope.Scope> =>
      Effect.gen(function*() {
        const o = yield* makeOptions(partial)
        const list = Array.from(urls)
        const job = options.job ?? jobId(list, o, batchSize)
        const run = randomUUID()
        const wire = toWireOptions(o, yield* Clock.currentTimeMillis)

        // One batch, to its final reply. A generation is bumped past replies stored by an earlier
        // run that cancelled the batch (an interrupt, or outcomes missing past its deadline).
        const ask = (batch: number, batchUrls: ReadonlyArray<string>, generation: number): Effect.Effect<BatchReply> =>
          clientFor(entityId(job, batch)).Fetch({ job, batch, generation, run, urls: batchUrls, options: wire }).pipe(
            Effect.retry({ while: isTransient, schedule: retrySchedule }),
            Effect.exit,
            Effect.flatMap((exit): Effect.Effect<BatchReply> => {
              if (Exit.isSuccess(exit)) {
                const reply = exit.value
                return reply.run !== run && reply.outcomes.length < batchUrls.length
                  ? ask(batch, batchUrls, generation + 1)
                  : Effect.succeed(reply)
              }
              if (Cause.isInterruptedOnly(exit.cause)) return ask(batch, batchUrls, generation + 1)
              const failure = Cause.failureOption(exit.cause)
              return Effect.die(
                new ClusterUnavailable({
                  detail: `batch ${batch} of job ${job}: ${
                    Option.isSome(failure) ? (failure.value as { message?: string }).message ?? String(failure.value) : Cause.pretty(exit.cause).split("\n")[0]
                  }`
                })
              )
            })
          )

        const out = yield* Chan.make<FetchOutcome>(batchSize)
        const produceAll = Effect.forEach(
          chunk(list, batchSize),
          (batchUrls, batch) =>
            Effect.flatMap(ask(batch, batchUrls, 0), (reply) =>
              Effect.forEach(reply.outcomes, (w) => Chan.send(out, fromWire(batchUrls[w.i]!, w)), { discard: true })),
          { concurrency: window, discard: true }
        )
        // Runners stop at the deadline themselves; the client stops waiting shortly after, in case
        // the runner holding a batch is dead or behind.
        const bounded = o.deadline === undefined
          ? produceAll
          : Effect.ignore(Effect.timeout(produceAll, Duration.sum(o.deadline, Duration.seconds(2))))
        // The single closer, as in UrlFetcher.fetch: runs once, after every sender has exited.
        yield* Effect.uninterruptibleMask((restore) => Effect.forkScoped(Effect.ensuring(restore(bounded), Chan.close(out))))
        return out
      }).pipe(Effect.withSpan("FetchClusterClient.fetch"))

    const get = (url: string, partial?: FetchOptionsInput) =>
      Effect.scoped(
        Effect.flatMap(fetch([url], { ...partial, deadline: undefined }), (out) => Chan.receive(out))
      ).pipe(
        Effect.flatMap((next) =>
          Option.isNone(next)
            ? Effect.dieMessage("cluster: a batch ended without an outcome")
            : next.value._tag === "Fetched"
            ? Effect.succeed(next.value)
            : Effect.fail(next.value)
        )
      )

    const stream = (urls: Iterable<string>, partial?: FetchOptionsInput) =>
      Stream.unwrapScoped(Effect.map(fetch(urls, partial), (out) => Chan.toStream(out)))

    return UrlFetcher.UrlFetcher.make({ get, fetch, stream })
  })

/**
 * A client-only cluster member on the database at `db`, and the cluster-backed `UrlFetcher`.
 * Building it connects to the database (fails with `ClusterStack.DatabaseError`). Releasing it
 * waits at most 5 s for the cluster client to shut down, then lets it finish in the background:
 * a command must not hang on exit.
 * @since 0.1.0
 */
export const layer = (
  db: string,
  options: ClientOptions = {}
): Layer.Layer<UrlFetcher.UrlFetcher, ClusterStack.DatabaseError> =>
  Layer.scopedContext(
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      yield* Effect.addFinalizer((exit) =>
        Scope.close(scope, exit).pipe(Effect.interruptible, Effect.disconnect, Effect.timeout("5 seconds"), Effect.ignore)
      )
      const inner = Layer.effect(UrlFetcher.UrlFetcher, make(options)).pipe(Layer.provideMerge(ClusterStack.client(db)))
      const context = yield* Layer.buildWithScope(inner, scope)
      // A job with no runner waits for one (its batches are stored): say so instead of hanging.
      const runners = yield* Context.get(context, RunnerStorage.RunnerStorage).getRunners.pipe(
        Effect.orElseSucceed(() => [[undefined, true]] as const)
      )
      if (!runners.some(([, healthy]) => healthy)) {
        yield* Effect.sync(() =>
          process.stderr.write(
            "leakproof: cluster: no runner is up; the job waits for one ('leakproof runner --port P --db URL')\n"
          )
        )
      }
      return Context.pick(UrlFetcher.UrlFetcher)(context)
    })
  )
