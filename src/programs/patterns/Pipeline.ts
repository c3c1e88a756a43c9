/**
 * Seed 003, Example 4b: a pipeline of stages connected by channels, an unbuffered one (tight
 * hand-off) and a buffered one (slack for a slow consumer). Cancelling from any stage stops all.
 *
 * @since 0.1.0
 */
import { Deferred, Duration, Effect, Ref } from "effect"
import * as Chan from "../../domain/Chan.js"
import * as Demo from "./Demo.js"

/** @since 0.1.0 */
export type Stage = "producer" | "middle" | "consumer"

/** @since 0.1.0 */
export interface PipelineOptions {
  /** Values the producer sends (1..count; default 5). */
  readonly count?: number
  /** Capacity of the middle → consumer channel (default 5). */
  readonly buffer?: number
  /** The consumer's slow start and per-value work (defaults 100 ms and 50 ms, as in the seed). */
  readonly consumerStart?: Duration.DurationInput
  readonly consumerWork?: Duration.DurationInput
  /** Cancel the whole pipeline from `stage` once it has handled `after` values. */
  readonly cancel?: { readonly stage: Stage; readonly after: number }
}

/** @since 0.1.0 */
export interface PipelineResult extends Demo.Report {
  /** What the consumer got, in order. */
  readonly received: ReadonlyArray<number>
  /** `completed`, or the stage that cancelled. */
  readonly outcome: "completed" | { readonly cancelledBy: Stage }
  /** Stages that were interrupted (still running when the pipeline was cancelled). */
  readonly interrupted: ReadonlyArray<Stage>
}

/**
 * producer (1..count) → unbuffered → middle (×2) → buffered(`buffer`) → slow consumer. Each stage
 * closes only its own output, once, after its input ended. `cancel` is Go's shared `cancel()`: the
 * stage completes a `Deferred` and every stage still running is interrupted, blocked sends and
 * receives included; `interrupted` lists them. Interrupting the program does the same.
 *
 * @since 0.1.0
 */
export const pipeline = Effect.fn("pipeline")(function*(options: PipelineOptions = {}) {
  const count = options.count ?? 5
  const consumerStart = options.consumerStart ?? Duration.millis(100)
  const consumerWork = options.consumerWork ?? Duration.millis(50)
  return yield* Demo.report((journal) =>
    Effect.gen(function*() {
      const unbuffered = yield* Chan.make<number>()
      const buffered = yield* Chan.make<number>(options.buffer ?? 5)
      const received = yield* Ref.make<ReadonlyArray<number>>([])
      const interrupted = yield* Ref.make<ReadonlyArray<Stage>>([])
      const cancel = yield* Deferred.make<Stage>()
      const checkpoint = (stage: Stage, handled: number) =>
        options.cancel?.stage === stage && options.cancel.after === handled
          ? Effect.zipRight(journal.say(`${stage}: cancel()`), Deferred.succeed(cancel, stage))
          : Effect.void
      const stage = (name: Stage, body: Effect.Effect<void>) =>
        body.pipe(Effect.onInterrupt(() => Ref.update(interrupted, (s) => [...s, name])))

      const producer = Effect.gen(function*() {
        for (let i = 1; i <= count; i++) {
          yield* journal.say(`Producer: sending ${i} to unbuffered...`)
          yield* Chan.send(unbuffered, i)
          yield* journal.say(`Producer: sent ${i}!`)
          yield* checkpoint("producer", i)
        }
        yield* Chan.close(unbuffered)
      })
      const middle = Effect.gen(function*() {
        let handled = 0
        yield* Chan.forEach(unbuffered, (v) =>
          Effect.gen(function*() {
            yield* journal.say(`  Middle: putting ${v * 2} into buffer`)
            yield* Chan.send(buffered, v * 2)
            yield* checkpoint("middle", ++handled)
          }))
        yield* Chan.close(buffered)
      })
      const consumer = Effect.gen(function*() {
        let handled = 0
        yield* Effect.sleep(consumerStart)
        yield* Chan.forEach(buffered, (v) =>
          Effect.gen(function*() {
            yield* journal.say(`    Consumer: got ${v}`)
            yield* Ref.update(received, (r) => [...r, v])
            yield* Effect.sleep(consumerWork)
            yield* checkpoint("consumer", ++handled)
          }))
      })
      const stages = Effect.all(
        [stage("producer", producer), stage("middle", middle), stage("consumer", consumer)],
        { concurrency: "unbounded", discard: true }
      )
      const outcome = yield* Effect.race(
        Effect.as(stages, "completed" as const),
        Effect.map(Deferred.await(cancel), (s) => ({ cancelledBy: s }))
      )
      return { received: yield* Ref.get(received), outcome, interrupted: yield* Ref.get(interrupted) }
    })
  )
})
