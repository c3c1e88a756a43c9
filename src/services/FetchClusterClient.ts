/**
 * The client side of the scale-out fetch: a `UrlFetcher` whose requests run on cluster runners.
 * It has the same contract as the local one (outcomes in a channel owned by the caller's scope,
 * closed exactly once, leaving the scope cancels everything; `batch` reports how the batch ended),
 * so every program and command built on `UrlFetcher` runs on the cluster unchanged: `leakproof
 * fetch --cluster` is `leakproof fetch` with this layer.
 *
 * A job is cut into batches (`batchSize` URLs, default 500) sent as persisted `FetchBatch`
 * messages, at most `batches` at a time (default 4); each batch runs on a runner with the job's
 * `concurrency`, so at most `batches x concurrency` requests are in flight. URLs are pulled from
 * the source (an `Iterable`, `AsyncIterable` or `Stream`, e.g. a file read line by line) only as
 * batches are formed: a job is never held whole. A lazy source is read by a fiber of its own that
 * the job abandons when it ends (deadline, `--take`, Ctrl-C), so an input that stays open (stdin)
 * never holds the job. Outcomes arrive a batch at a time, each batch's in
 * completion order. Bodies stay on the runners: a `Fetched` has `bytes` and an empty `body`, as
 * with `body: "discard"` (`body: { dir }` is refused: the files would be written on the runners).
 *
 * Delivery: every URL gets exactly one outcome at the client. A runner that dies mid-batch has
 * its batch redone by the runner that takes its shard over, so a URL may be *fetched* twice:
 * at most `batches x batchSize` URLs per dead runner (the batches in flight on it).
 *
 * Resubmitting: batch k's key is a hash of the options that shape outcomes and of every URL up to
 * the end of batch k, prefixed by `job` when given (`job` namespaces keys, it never replaces the
 * hash); the same URLs with the same options submitted again are answered from storage, with no
 * request made twice, and a job name reused for other URLs is new work. A reply is checked against
 * its batch (URL count and digest) before anything is printed: a reply for other URLs is refused
 * (a defect, exit 70), never printed under the wrong URL. Batches an earlier run cancelled (Ctrl-C,
 * `--take`, its deadline) are fetched again.
 *
 * @since 0.1.0
 */
import * as ClusterError from "@effect/cluster/ClusterError"
import * as RunnerStorage from "@effect/cluster/RunnerStorage"
import type * as Sharding from "@effect/cluster/Sharding"
import { Cause, Chunk, Clock, Console, Context, Data, Duration, Effect, Exit, Fiber, Layer, Option, Queue, Schedule, Scope, Stream, Take } from "effect"
import { createHash, randomUUID } from "node:crypto"
import * as AsyncIterableStream from "../domain/AsyncIterableStream.js"
import * as Chan from "../domain/Chan.js"
import type { BatchReply } from "../domain/FetchBatch.js"
import { entityId, FetchBatch, fromWire, InvalidBatch, toWireOptions, urlsDigest } from "../domain/FetchBatch.js"
import type { FetchOptions, FetchOptionsInput, FetchOutcome } from "../domain/FetchOutcome.js"
import { Fetched, FetchError, InvalidFetchOptions, makeOptions } from "../domain/FetchOutcome.js"
import type { BatchReport, UrlSource } from "./FetchEngine.js"
import * as UrlFetcher from "./UrlFetcher.js"
import * as ClusterStack from "./ClusterStack.js"

/**
 * How jobs are cut and submitted.
 * @since 0.1.0
 */
export interface ClientOptions {
  /**
   * The job's name: a namespace for its batch keys, which always hash the URLs and options; the same
   * name with the same URLs gets the stored replies, with other URLs it is new work (default: none).
   */
  readonly job?: string | undefined
  /** URLs per message (default 500). */
  readonly batchSize?: number | undefined
  /** Messages in flight at once (default 4). */
  readonly batches?: number | undefined
  /** The first pause before a batch interrupted on its runner is asked again; it doubles up to 5 s (default 100 ms). */
  readonly reaskBase?: Duration.DurationInput | undefined
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
 * The job keys of one run (Go analogue: a content hash as an idempotency key): call it with each
 * batch's URLs, in order, and it returns that batch's key. Without `job`, batch k's key is a hash
 * of the batch size, every option that shapes outcomes (not the concurrency, not the deadline: a
 * deadline-cut batch is fetched again next time) and every URL up to the end of batch k, so it is
 * known as soon as the batch is, and a resubmitted job meets the same keys. With `job`, the key is
 * `${job}-${hash}`: the name namespaces the keys and never stands in for the URLs, so a name reused
 * for another list meets none of the first list's stored replies.
 * @since 0.1.0
 */
export const jobKeys = (o: FetchOptions, batchSize: number, job?: string): (urls: ReadonlyArray<string>) => string => {
  const prefix = job === undefined ? "j" : job
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
  return (urls) => {
    // Length-prefixed: ["ab"] and ["a", "b"] hash differently, whatever a URL contains.
    for (const url of urls) h.update(`${url.length}:${url}`)
    return `${prefix}-${h.copy().digest("hex").slice(0, 20)}`
  }
}

// MailboxFull, AlreadyProcessingMessage (a resubmit racing its original) and PersistenceError (the
// database hiccuped) are the cluster's transient failures: ask again.
const isTransient = (e: unknown): boolean =>
  ClusterError.MailboxFull.is(e) || ClusterError.AlreadyProcessingMessage.is(e) || e instanceof ClusterError.PersistenceError

const retrySchedule = Schedule.exponential("200 millis").pipe(
  Schedule.union(Schedule.spaced("5 seconds")),
  Schedule.upTo("2 minutes")
)

/** A batch's remote run ended interrupted (its runner shut down or lost the shard mid-batch). */
class Interrupted extends Data.TaggedError("Interrupted")<{ readonly generation: number }> {}

/**
 * How many times a batch interrupted on its runner is asked again (each under a new generation),
 * and how long apart (`reaskBase`, doubling, at most 5 s): a runner that keeps interrupting the
 * batch (restarting in a loop) is not hammered, and the job fails with `ClusterUnavailable` when
 * the budget is spent (about 16 s of pauses with the default base).
 * @since 0.1.0
 */
export const reaskLimit = 8

const reaskSchedule = (base: Duration.DurationInput) =>
  Schedule.exponential(base).pipe(
    Schedule.union(Schedule.spaced("5 seconds")),
    Schedule.intersect(Schedule.recurs(reaskLimit))
  )

/**
 * `source` read by a fiber of its own, through a one-chunk queue, so that ending the job never
 * waits for the source's finalizer: that fiber is told to stop and abandoned, not joined (the
 * local engine treats its feeder the same way). A reader parked on an input that stays open (the
 * CLI's `--file -` on a stdin nobody writes to) would otherwise hold the job past its deadline,
 * `--take` or Ctrl-C, until the input ends. The abandoned fiber ends when its finalizer does.
 */
const detached = <E, R>(source: Stream.Stream<string, E, R>): Stream.Stream<string, E, R> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const queue = yield* Queue.bounded<Take.Take<string, E>>(1)
    const reader = yield* Effect.forkDaemon(Stream.runIntoQueue(source, queue))
    yield* Effect.addFinalizer(() => Effect.zipRight(Fiber.interruptFork(reader), Queue.shutdown(queue)))
    return Stream.flattenTake(Stream.fromQueue(queue))
  }))

const toStream = <E, R>(urls: UrlSource<E, R>): Stream.Stream<string, E, R> =>
  typeof urls === "object" && urls !== null && Stream.StreamTypeId in urls
    ? urls as Stream.Stream<string, E, R>
    : Symbol.iterator in urls
    ? Stream.fromIterable(urls as Iterable<string>)
    : Stream.orDie(AsyncIterableStream.fromAsyncIterable(urls as AsyncIterable<string>, (e) => e))

const validate = (partial: FetchOptionsInput | undefined): Effect.Effect<FetchOptions, InvalidFetchOptions> =>
  Effect.flatMap(makeOptions(partial), (o) =>
    typeof o.body === "object"
      ? Effect.fail(new InvalidFetchOptions({ option: "output", detail: "bodies stay on the runners; not with --cluster" }))
      : Effect.succeed(o))

/**
 * A `UrlFetcher` on the cluster (Go analogue: Kata 17's `Fetch(ctx, urls) <-chan Result` backed by a
 * durable job queue; needs `Sharding`, which `layer` provides as a client-only member). Defaults:
 * 500 URLs per batch, 4 batches in flight.
 * `fetch`/`batch` fork their batch senders into the caller's scope; leaving the scope interrupts
 * them, which sends an interrupt to each batch in flight: the runner aborts its requests. A reply
 * that breaks the protocol (a missing outcome without a deadline, an outcome twice, a reply for
 * other URLs than its batch's) or a batch the
 * runner refused (`InvalidBatch`: a defect there, options it cannot use) is a defect here (the CLI
 * exits 70); storage that stays unusable after retries, or a batch interrupted on its runner more
 * than `reaskLimit` times, is `ClusterUnavailable` (exit 1).
 * @since 0.1.0
 */
export const make = (options: ClientOptions = {}): Effect.Effect<UrlFetcher.UrlFetcher, never, Sharding.Sharding> =>
  Effect.gen(function*() {
    const clientFor = yield* FetchBatch.client
    const batchSize = options.batchSize ?? 500
    const window = options.batches ?? 4
    const reask = reaskSchedule(options.reaskBase ?? "100 millis")

    const batch = <E = never, R = never>(
      urls: UrlSource<E, R>,
      partial?: FetchOptionsInput
    ): Effect.Effect<UrlFetcher.Batch<E>, InvalidFetchOptions, Scope.Scope | R> =>
      Effect.gen(function*() {
        const o = yield* validate(partial)
        const keyOf = jobKeys(o, batchSize, options.job)
        const run = randomUUID()
        const wire = toWireOptions(o, yield* Clock.currentTimeMillis)
        let pulled = 0
        let delivered = 0
        // Some URLs were left without an outcome because the deadline passed (on a runner, before a
        // batch was sent, or while the client waited).
        let cut = false

        const broken = (batch: number, job: string, what: string) =>
          Effect.dieMessage(`cluster: batch ${batch} of job ${job}: the runner's reply ${what}`)

        // One batch, to its final reply. A generation is bumped past replies stored by an earlier
        // run that cancelled the batch (outcomes missing past its deadline), at once: each such
        // reply is stored, so the loop ends; and past a remote run that ended interrupted, with a
        // backoff and at most `reaskLimit` times, since nothing bounds how often that happens.
        const ask = (job: string, batch: number, batchUrls: ReadonlyArray<string>): Effect.Effect<BatchReply> => {
          let generation = 0
          const digest = urlsDigest(batchUrls)
          return Effect.suspend(() => attempt(job, batch, batchUrls, digest, () => generation++)).pipe(
            Effect.retry({ schedule: reask }),
            Effect.catchTag("Interrupted", (e) =>
              Effect.die(
                new ClusterUnavailable({
                  detail: `batch ${batch} of job ${job}: interrupted on its runner ${reaskLimit + 1} times (last generation ${e.generation}); giving up`
                })
              ))
          )
        }

        const attempt = (
          job: string,
          batch: number,
          batchUrls: ReadonlyArray<string>,
          digest: string,
          next: () => number
        ): Effect.Effect<BatchReply, Interrupted> => {
          const generation = next()
          return clientFor(entityId(job, batch)).Fetch({ job, batch, generation, run, urls: batchUrls, options: wire }).pipe(
            Effect.retry({ while: isTransient, schedule: retrySchedule }),
            Effect.exit,
            Effect.flatMap((exit): Effect.Effect<BatchReply, Interrupted> => {
              if (Exit.isSuccess(exit)) {
                const reply = exit.value
                // Checked before anything else: a reply for other URLs says nothing about these.
                if ((reply.count !== undefined && reply.count !== batchUrls.length) || (reply.digest !== undefined && reply.digest !== digest)) {
                  return broken(
                    batch,
                    job,
                    `answers other URLs (${reply.count ?? "?"} URLs, digest ${reply.digest ?? "?"}; this batch has ${batchUrls.length}, digest ${digest}): refused, nothing printed for it`
                  )
                }
                if (reply.run !== run && reply.outcomes.length < batchUrls.length) return attempt(job, batch, batchUrls, digest, next)
                const seen = new Uint8Array(batchUrls.length)
                for (const w of reply.outcomes) {
                  if (!(w.i >= 0 && w.i < batchUrls.length) || seen[w.i] === 1) return broken(batch, job, `has outcome #${w.i} twice or out of range`)
                  seen[w.i] = 1
                }
                if (reply.outcomes.length < batchUrls.length && wire.deadlineAt === undefined) {
                  return broken(batch, job, `has ${reply.outcomes.length} outcomes for ${batchUrls.length} URLs and no deadline`)
                }
                return Effect.succeed(reply)
              }
              if (Cause.isInterruptedOnly(exit.cause)) return Effect.fail(new Interrupted({ generation }))
              const failure = Cause.failureOption(exit.cause)
              // The runner refused the batch or hit a bug: an internal error, not the cluster's.
              if (Option.isSome(failure) && failure.value instanceof InvalidBatch) {
                return Effect.dieMessage(`cluster: batch ${batch} of job ${job}: ${failure.value.message}`)
              }
              return Effect.die(
                new ClusterUnavailable({
                  detail: `batch ${batch} of job ${job}: ${
                    Option.isSome(failure) ? (failure.value as { message?: string }).message ?? String(failure.value) : Cause.pretty(exit.cause).split("\n")[0]
                  }`
                })
              )
            })
          )
        }

        const out = yield* Chan.make<FetchOutcome>(batchSize)
        const one = ([batchUrls, batch, job]: readonly [ReadonlyArray<string>, number, string]) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            // Past the deadline nothing more is sent: the runner would answer with no outcome.
            if (wire.deadlineAt !== undefined && now >= wire.deadlineAt) return Effect.sync(() => (cut = true))
            return Effect.flatMap(ask(job, batch, batchUrls), (reply) => {
              if (reply.outcomes.length < batchUrls.length) cut = true
              return Effect.forEach(reply.outcomes, (w) =>
                Effect.zipRight(Chan.send(out, fromWire(batchUrls[w.i]!, w)), Effect.sync(() => delivered++)), { discard: true })
            })
          })

        // An array (the CLI's arguments) has no reader to abandon.
        const base = toStream(urls)
        const input = Array.isArray(urls) ? base : detached(base)
        let source = Stream.mapChunks(input, (chunk) => {
          pulled += chunk.length
          return chunk
        })
        // The source is read no further than the deadline (a file is not read to its end).
        if (o.deadline !== undefined) source = Stream.interruptWhen(source, Effect.zipRight(Effect.sleep(o.deadline), Effect.sync(() => (cut = true))))
        let index = 0
        const clock = yield* Effect.clock
        const produceAll = source.pipe(
          Stream.grouped(batchSize),
          // No batch is formed after the deadline. Checked here, on every batch, and not only by
          // the timer above: a source that is always ready (a large array, buffered lines) never
          // lets a timer fire while batches are skipped.
          Stream.takeWhile(() => {
            if (wire.deadlineAt === undefined || clock.unsafeCurrentTimeMillis() < wire.deadlineAt) return true
            cut = true
            return false
          }),
          // In order: each batch's key hashes every URL before it.
          Stream.map((chunk) => {
            const batchUrls = Chunk.toReadonlyArray(chunk)
            return [batchUrls, index++, keyOf(batchUrls)] as const
          }),
          Stream.mapEffect(one, { concurrency: window, unordered: true }),
          Stream.runDrain
        )
        // Runners stop at the deadline themselves; the client stops waiting shortly after, in case
        // the runner holding a batch is dead or behind.
        const bounded = o.deadline === undefined
          ? produceAll
          : Effect.asVoid(Effect.tap(Effect.timeoutOption(produceAll, Duration.sum(o.deadline, Duration.seconds(2))), (done) =>
            Effect.sync(() => {
              if (Option.isNone(done)) cut = true
            })))
        const driver = Effect.map(bounded, (): BatchReport => ({ urls: pulled, delivered, deadline: cut })).pipe(
          Effect.withSpan("FetchClusterClient.batch", { captureStackTrace: false })
        )
        // The single closer, as in UrlFetcher.batch: runs once, after every sender has exited.
        const fiber = yield* Effect.uninterruptibleMask((restore) =>
          Effect.forkScoped(Effect.ensuring(restore(driver), Chan.close(out)))
        )
        return { outcomes: out, done: Fiber.join(fiber) }
      })

    const fetch = (urls: UrlSource, partial?: FetchOptionsInput) => Effect.map(batch(urls, partial), (b) => b.outcomes)

    const stream = <E = never, R = never>(urls: UrlSource<E, R>, partial?: FetchOptionsInput) =>
      Stream.unwrapScoped(
        Effect.map(batch(urls, partial), (b) => Stream.concat(Chan.toStream(b.outcomes), Stream.drain(Stream.fromEffect(b.done))))
      )

    // As locally: the outcome, or a `FetchError` in the error channel; a deadline that passed
    // first is a `Timeout`.
    const get = (url: string, partial?: FetchOptionsInput): Effect.Effect<Fetched, FetchError | InvalidFetchOptions> =>
      Effect.scoped(Effect.gen(function*() {
        const b = yield* batch([url], partial)
        const next = yield* Chan.receive(b.outcomes)
        if (Option.isSome(next)) return next.value._tag === "Fetched" ? next.value : yield* Effect.fail(next.value)
        const report = yield* b.done
        return report.deadline
          ? yield* Effect.fail(new FetchError({ url, reason: "Timeout", detail: "the deadline passed", attempts: 1 }))
          : yield* Effect.dieMessage(`cluster: a batch ended without an outcome for ${url}`)
      }))

    return UrlFetcher.UrlFetcher.make({ get, fetch, stream, batch })
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
        yield* Console.error("cluster: no runner is up; the job waits for one ('leakproof runner --port P --db URL')")
      } else {
        // Until this member has read the shard assignments, a batch would only be stored and wait
        // for a runner's storage poll: a ping is sent only once they are known (see PingRpc).
        const clientFor = yield* FetchBatch.client.pipe(Effect.provide(context))
        yield* clientFor("ping").Ping().pipe(Effect.timeout("5 seconds"), Effect.ignore)
      }
      return Context.pick(UrlFetcher.UrlFetcher)(context)
    })
  )
