/**
 * A fail-fast worker pool (seed 001, seed 004's worker-pool pattern): `workers` long-lived fibers
 * pull jobs from one shared queue and record results; the first failure stops every worker and is
 * returned together with the results completed before it.
 *
 * Throughput: a fiber hand-off per job costs microseconds in Effect, so workers take jobs in chunks
 * (`chunkSize`, default 256) from the shared cursor and run each job inline; between chunks they
 * yield, which is where interruption and the other workers get in. Results are exact: once a failure
 * has been observed no worker records another result (JavaScript runs one fiber at a time, so the
 * flag is seen by every worker before its next job).
 *
 * The Go shape, with channels in and out, is `runChan`.
 *
 * @since 0.1.0
 */
import { Cause, Data, Deferred, Duration, Effect, Either, Exit, Option, Schedule } from "effect"
import type * as Scope from "effect/Scope"
import * as Chan from "../domain/Chan.js"

/**
 * The first failure, with every result completed before it was observed (completion order).
 * @since 0.1.0
 */
export class JobFailed<E, A> extends Data.TaggedError("JobFailed")<{
  readonly error: E
  readonly index: number
  readonly completed: ReadonlyArray<A>
}> {
  override get message(): string {
    const e = this.error as { readonly message?: unknown }
    return typeof e?.message === "string" ? e.message : String(this.error)
  }
}

/**
 * A pool option out of range.
 * @since 0.1.0
 */
export class InvalidPoolOptions extends Data.TaggedError("InvalidPoolOptions")<{ readonly detail: string }> {
  override get message(): string {
    return this.detail
  }
}

/**
 * A job that ran past `jobTimeout`.
 * @since 0.1.0
 */
export class JobTimeout extends Data.TaggedError("JobTimeout")<{ readonly index: number; readonly after: Duration.Duration }> {
  override get message(): string {
    return `job ${this.index} timed out after ${Duration.format(this.after)}`
  }
}

/** @since 0.1.0 */
export interface PoolOptions<E> {
  /** How many worker fibers (Go's `workers`); a positive integer. */
  readonly workers: number
  /** Jobs a worker takes from the queue at once (default 256); 1 gives Go's one-job hand-off. */
  readonly chunkSize?: number
  /** Per job; a job that runs longer fails with `JobTimeout` (default: none). */
  readonly jobTimeout?: Duration.DurationInput
  /** Retries a failed job on this schedule before its failure counts (default: none). */
  readonly retry?: Schedule.Schedule<unknown, E>
}

const validate = <E>(o: PoolOptions<E>): Effect.Effect<number, InvalidPoolOptions> =>
  Number.isSafeInteger(o.workers) && o.workers > 0
    ? (o.chunkSize === undefined || (Number.isSafeInteger(o.chunkSize) && o.chunkSize > 0))
      ? Effect.succeed(o.chunkSize ?? 256)
      : Effect.fail(new InvalidPoolOptions({ detail: `chunk size must be a positive integer, got ${o.chunkSize}` }))
    : Effect.fail(new InvalidPoolOptions({ detail: `workers must be a positive integer, got ${o.workers}` }))

const decorate = <J, A, E, R>(
  work: (job: J, index: number) => Effect.Effect<A, E, R>,
  o: PoolOptions<E>
): (job: J, index: number) => Effect.Effect<A, E | JobTimeout, R> => {
  const timeout = o.jobTimeout === undefined ? undefined : Duration.decode(o.jobTimeout)
  const retry = o.retry
  if (timeout === undefined && retry === undefined) return work
  return (job, index) => {
    const once = retry === undefined ? work(job, index) : Effect.retry(work(job, index), retry)
    return timeout === undefined
      ? once
      : Effect.timeoutFail(once, { duration: timeout, onTimeout: () => new JobTimeout({ index, after: timeout }) })
  }
}

/**
 * Runs `work` on every job with `workers` fibers. Succeeds with every result (completion order) or
 * fails with `JobFailed` carrying the first error and the results completed before it; the other
 * workers stop at once (a job in flight is interrupted). Interrupting the pool stops every worker;
 * when it returns, no worker fiber is left. A caller already interrupted starts no worker.
 *
 * @since 0.1.0
 */
export const run = <J, A, E, R>(
  jobs: ReadonlyArray<J>,
  work: (job: J, index: number) => Effect.Effect<A, E, R>,
  options: PoolOptions<E>
): Effect.Effect<ReadonlyArray<A>, JobFailed<E | JobTimeout, A> | InvalidPoolOptions, R> =>
  Effect.flatMap(validate(options), (chunk) =>
    Effect.suspend(() => {
      const job = decorate(work, options)
      const completed: Array<A> = []
      let next = 0
      let failure: JobFailed<E | JobTimeout, A> | undefined
      const worker = Effect.gen(function*() {
        while (failure === undefined && next < jobs.length) {
          const start = next
          const end = Math.min(start + chunk, jobs.length)
          next = end
          for (let i = start; i < end; i++) {
            const effect = job(jobs[i]!, i)
            // A job that is already a value (`Effect.succeed`/`Effect.fail` are `Exit`s) is taken
            // inline, without a trip through the runtime: that is most of a CPU-bound pool's cost.
            let r: Either.Either<A, E | JobTimeout>
            if (Exit.isExit(effect)) {
              const exit = effect as Exit.Exit<A, E | JobTimeout>
              if (Exit.isSuccess(exit)) {
                r = Either.right(exit.value)
              } else {
                const error = Cause.failureOption(exit.cause)
                if (Option.isNone(error)) return yield* Effect.failCause(exit.cause as Cause.Cause<never>) // a defect or an interruption
                r = Either.left(error.value)
              }
            } else {
              r = yield* Effect.either(effect)
              if (failure !== undefined) return // another worker failed while this job ran: drop it
            }
            if (Either.isLeft(r)) {
              failure = new JobFailed({ error: r.left, index: i, completed: [...completed] })
              // Failing interrupts the other workers at once (Effect.all is fail-fast).
              return yield* Effect.fail(failure)
            }
            completed.push(r.right)
          }
          yield* Effect.yieldNow()
        }
      })
      const workers = Math.min(options.workers, Math.max(1, Math.ceil(jobs.length / chunk)))
      // Workers are fibers of this scope and leaving it interrupts them directly. Not `Effect.all`'s
      // fail-fast: in effect 3.22 it does not interrupt a sibling inside `Effect.timeout` (a
      // `jobTimeout`) until that timeout fires.
      return Effect.scoped(Effect.gen(function*() {
        const done = yield* Deferred.make<void, JobFailed<E | JobTimeout, A>>()
        let running = workers
        for (let w = 0; w < workers; w++) {
          yield* Effect.forkScoped(Effect.flatMap(Effect.exit(worker), (exit) =>
            Exit.isFailure(exit)
              ? Deferred.failCause(done, exit.cause)
              : --running === 0
              ? Deferred.succeed(done, undefined)
              : Effect.void))
        }
        yield* Deferred.await(done)
        return completed as ReadonlyArray<A>
      }))
    }))

/**
 * Collect-all: runs every job whatever fails; returns each job's outcome by index.
 * @since 0.1.0
 */
export const runAll = <J, A, E, R>(
  jobs: ReadonlyArray<J>,
  work: (job: J, index: number) => Effect.Effect<A, E, R>,
  options: PoolOptions<E>
): Effect.Effect<ReadonlyArray<Either.Either<A, E | JobTimeout>>, InvalidPoolOptions, R> =>
  Effect.map(
    run(jobs, (j, i) => Effect.either(decorate(work, options)(j, i)).pipe(Effect.map((r) => [i, r] as const)), {
      workers: options.workers,
      ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize })
    }).pipe(Effect.catchTag("JobFailed", () => Effect.die("unreachable: collect-all jobs cannot fail"))),
    (pairs) => {
      const out: Array<Either.Either<A, E | JobTimeout>> = new Array(jobs.length)
      for (const [i, r] of pairs) out[i] = r
      return out
    }
  )

/**
 * The Go shape: `workers` fibers range over `jobs` and send each outcome to the returned channel,
 * which one closer closes after every worker has exited (jobs closed -> workers exit -> results
 * closed once -> the consumer drains). Everything is owned by the caller's `Scope`: leaving it
 * stops the workers. The results buffer holds `workers` outcomes.
 *
 * @since 0.1.0
 */
export const runChan = <J, A, E, R>(
  jobs: Chan.RecvChan<J>,
  work: (job: J) => Effect.Effect<A, E, R>,
  options: { readonly workers: number }
): Effect.Effect<Chan.RecvChan<Either.Either<A, E>>, InvalidPoolOptions, R | Scope.Scope> =>
  Effect.gen(function*() {
    yield* validate({ workers: options.workers })
    const results = yield* Chan.make<Either.Either<A, E>>(options.workers)
    const worker = Chan.forEach(jobs, (j) => Effect.flatMap(Effect.either(work(j)), (r) => Chan.send(results, r)))
    yield* Effect.uninterruptibleMask((restore) =>
      Effect.forkScoped(
        Effect.ensuring(
          restore(Effect.all(Array.from({ length: options.workers }, () => worker), { concurrency: "unbounded", discard: true })),
          Chan.close(results)
        )
      )
    )
    return results
  })

