/**
 * Seed 003, "Fan-Out, Fan-In": N workers read one input channel; their results are merged into one
 * output channel that is closed exactly once, after every worker has finished.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Ref } from "effect"
import * as Chan from "../../domain/Chan.js"
import * as Demo from "./Demo.js"

/** @since 0.1.0 */
export interface FanOutFanInOptions {
  /** Jobs 1..jobs (default 10). */
  readonly jobs?: number
  /** Workers (default 3). */
  readonly workers?: number
  /** Job `j` takes `base + j × step` (defaults 100 ms and 10 ms, the seed's worker pool timing). */
  readonly base?: Duration.DurationInput
  readonly step?: Duration.DurationInput
  /** The consumer stops after this many results and leaves (default: reads them all). */
  readonly stopAfter?: number
}

/** @since 0.1.0 */
export interface FanOutFanInResult extends Demo.Report {
  /** Results in arrival order: job, its square, the worker that did it. */
  readonly results: ReadonlyArray<{ readonly job: number; readonly square: number; readonly worker: number }>
  /** How many times the merged output was closed (0 if the consumer left first, never 2). */
  readonly outputCloses: number
  /** Workers (and the feeder) interrupted because the consumer left early. */
  readonly interrupted: number
}

/**
 * Fan-out: a feeder sends the jobs on an unbuffered channel and closes it; `workers` fibers range
 * over it. Fan-in: they send to one merged channel, and a single closer closes it after
 * `Effect.forEach` over all workers returned (errgroup's `g.Wait(); close(out)`), so a double
 * close is impossible by construction. Everything lives in the program's `Scope`: a consumer that
 * stops early (`stopAfter`) interrupts the feeder and every worker.
 *
 * @since 0.1.0
 */
export const fanOutFanIn = Effect.fn("fanOutFanIn")(function*(options: FanOutFanInOptions = {}) {
  const jobs = options.jobs ?? 10
  const workers = options.workers ?? 3
  const base = Duration.toMillis(options.base ?? Duration.millis(100))
  const step = Duration.toMillis(options.step ?? Duration.millis(10))
  return yield* Demo.report((journal) =>
    Effect.gen(function*() {
      const closes = yield* Ref.make(0)
      const interrupted = yield* Ref.make(0)
      const countInterrupt = Effect.onInterrupt(() => Ref.update(interrupted, (n) => n + 1))
      const results = yield* Effect.scoped(Effect.gen(function*() {
        const input = yield* Chan.make<number>()
        const output = yield* Chan.make<{ job: number; square: number; worker: number }>()
        yield* Effect.forkScoped(
          Chan.sendAll(input, Array.from({ length: jobs }, (_, i) => i + 1)).pipe(
            Effect.zipRight(Chan.close(input)),
            countInterrupt
          )
        )
        const worker = (id: number) =>
          Chan.forEach(input, (job) =>
            Effect.sleep(Duration.millis(base + job * step)).pipe(
              Effect.zipRight(Chan.send(output, { job, square: job * job, worker: id }))
            )).pipe(countInterrupt)
        yield* Effect.forkScoped(
          Effect.forEach(Array.from({ length: workers }, (_, i) => i + 1), worker, {
            concurrency: "unbounded",
            discard: true
          }).pipe(Effect.zipRight(Effect.zipRight(Ref.update(closes, (n) => n + 1), Chan.close(output))))
        )
        const got: Array<{ job: number; square: number; worker: number }> = []
        const limit = options.stopAfter ?? Infinity
        while (got.length < limit) {
          const next = yield* Chan.receive(output)
          if (next._tag === "None") break
          got.push(next.value)
          yield* journal.say(`Job ${next.value.job} → Worker ${next.value.worker}: ${next.value.square}`)
        }
        if (got.length === limit && limit < jobs) yield* journal.say(`consumer leaves after ${limit} results`)
        return got
      }))
      return { results, outputCloses: yield* Ref.get(closes), interrupted: yield* Ref.get(interrupted) }
    })
  )
})
