/**
 * WorkerPool's guarantees under many interleavings (`Interleaving.explore`): results complete and
 * exact, the first failure stops the pool with exact partial results, the Go-shaped pool closes its
 * output once, and no worker is left behind on any schedule. A failure prints the seed that
 * replays it.
 */
import { describe, expect, it } from "../../src/vitest.js"
import { Data, Effect, Either, Exit, Option } from "effect"
import * as Chan from "../../src/domain/Chan.js"
import * as Interleaving from "../../src/domain/Interleaving.js"
import * as WorkerPool from "../../src/services/WorkerPool.js"

const SCHEDULES = 60
const sorted = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)
const jobs = Array.from({ length: 24 }, (_, i) => i)

class Negative extends Data.TaggedError("Negative")<{ readonly n: number }> {}

/** A job that really suspends (so workers interleave), then squares, or fails on a negative. */
const square = (n: number) =>
  Effect.zipRight(Effect.yieldNow(), n < 0 ? Effect.fail(new Negative({ n })) : Effect.succeed(n * n))

describe("WorkerPool under explored schedules", () => {
  it.effect.each([1, 3])("run, chunk size %i: every job's result exactly once", (chunkSize) =>
    Interleaving.explore(
      Effect.gen(function*() {
        const results = yield* WorkerPool.run(jobs, square, { workers: 4, chunkSize })
        expect(sorted(results)).toEqual(jobs.map((n) => n * n))
      }),
      { schedules: SCHEDULES }
    ))

  it.effect("run: the first failure stops the pool; partial results are squares of other jobs, each once", () =>
    Interleaving.explore(
      Effect.gen(function*() {
        const input = jobs.map((n) => (n === 13 ? -13 : n))
        const exit = yield* Effect.exit(WorkerPool.run(input, square, { workers: 4, chunkSize: 1 }))
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isSuccess(exit)) return
        const failure = Option.getOrThrow(Exit.causeOption(exit).pipe(Option.flatMap((c) =>
          c._tag === "Fail" ? Option.some(c.error) : Option.none()
        )))
        if (failure._tag !== "JobFailed") throw new Error(`unexpected ${failure._tag}`)
        expect(failure.index).toBe(13)
        const allowed = new Set(jobs.filter((n) => n !== 13).map((n) => n * n))
        for (const r of failure.completed) expect(allowed.has(r)).toBe(true)
        expect(new Set(failure.completed).size).toBe(failure.completed.length)
      }),
      { schedules: SCHEDULES }
    ))

  it.effect("runAll: every outcome by index, failures included", () =>
    Interleaving.explore(
      Effect.gen(function*() {
        const input = jobs.map((n) => (n % 5 === 0 ? -n - 1 : n))
        const outcomes = yield* WorkerPool.runAll(input, square, { workers: 3, chunkSize: 2 })
        expect(outcomes.map((o) => Either.isRight(o) ? o.right : -1)).toEqual(input.map((n) => (n < 0 ? -1 : n * n)))
      }),
      { schedules: SCHEDULES }
    ))

  it.effect("runChan (the Go shape): results closed once after every worker exits; the consumer gets every outcome", () =>
    Interleaving.explore(
      Effect.scoped(Effect.gen(function*() {
        const input = yield* Chan.make<number>(0, { name: "jobs" })
        yield* Effect.forkScoped(Chan.sendAll(input, jobs).pipe(Effect.zipRight(Chan.close(input))))
        const results = yield* WorkerPool.runChan(input, square, { workers: 3 })
        const got: Array<number> = []
        yield* Chan.forEach(results, (r) => Effect.sync(() => got.push(Either.getOrThrow(r))))
        expect(sorted(got)).toEqual(jobs.map((n) => n * n))
      })),
      { schedules: SCHEDULES }
    ))

  it.effect("runChan: a consumer that takes three results and leaves its scope stops every worker", () =>
    Interleaving.explore(
      Effect.gen(function*() {
        const taken = yield* Effect.scoped(Effect.gen(function*() {
          const input = yield* Chan.make<number>(0, { name: "jobs" })
          yield* Effect.forkScoped(Chan.sendAll(input, jobs).pipe(Effect.zipRight(Chan.close(input))))
          const results = yield* WorkerPool.runChan(input, square, { workers: 3 })
          return yield* Effect.forEach([1, 2, 3], () => Chan.receive(results))
        }))
        expect(taken.every(Option.isSome)).toBe(true)
      }),
      { schedules: SCHEDULES }
    ))
})
