/**
 * Seed 001's `ProcessNumbers(ctx, nums, workers) ([]int, error)` on the worker pool: the squares of
 * `nums` (completion order), or `JobFailed` whose `error` is the first `BadNumber` (for the seed's
 * "negative number") and whose `completed` holds the squares finished before it; every worker is
 * stopped at once. A caller already interrupted starts no worker. Interruption stops every worker.
 *
 * @since 0.1.0
 */
import { Effect, Either } from "effect"
import type * as Scope from "effect/Scope"
import type * as Chan from "../domain/Chan.js"
import type { BadNumber } from "../domain/BadNumber.js"
import { square } from "../domain/BadNumber.js"
import type { InvalidPoolOptions } from "../services/WorkerPool.js"
import * as WorkerPool from "../services/WorkerPool.js"

/** @since 0.1.0 */
export const processNumbers = Effect.fn("processNumbers")(function*(nums: ReadonlyArray<number>, workers: number) {
  return yield* WorkerPool.run(nums, square, { workers })
})

/**
 * The same, Go-style over channels: jobs in, results out (each an `Either` of a square or a
 * `BadNumber`, the seed's `Result{Value, Err}`), the results channel closed once after every worker
 * exits. Owned by the caller's `Scope`.
 *
 * @since 0.1.0
 */
export const processNumbersChan = (
  jobs: Chan.RecvChan<number>,
  workers: number
): Effect.Effect<Chan.RecvChan<Either.Either<number, BadNumber>>, InvalidPoolOptions, Scope.Scope> => {
  let index = 0
  return WorkerPool.runChan(jobs, (n) => square(n, index++), { workers })
}
