import { describe, expect, it } from "../../src/vitest.js"
import { Deferred, Effect, Either, Exit, FastCheck as fc, Fiber, Option, Schedule, TestClock } from "effect"
import { BadNumber, maxSquarable } from "../../src/domain/BadNumber.js"
import * as Chan from "../../src/domain/Chan.js"
import * as LeakCheck from "../../src/domain/LeakCheck.js"
import { processNumbers, processNumbersChan } from "../../src/programs/processNumbers.js"
import * as WorkerPool from "../../src/services/WorkerPool.js"

const sorted = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)
const failureOf = <E>(exit: Exit.Exit<unknown, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const f = exit.cause._tag === "Fail" ? Option.some(exit.cause.error) : Option.none()
  return Option.getOrThrow(f)
}

describe("processNumbers (seed 001 ProcessNumbers)", () => {
  it.effect.each([1, 4, 16])("all numbers >= 0 with %i workers: every square, multiset exact, no error", (workers) =>
    Effect.gen(function*() {
      const nums = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1013)
      const squares = yield* processNumbers(nums, workers)
      expect(sorted(squares)).toEqual(sorted(nums.map((n) => n * n)))
    }))

  it.effect("the seed's example: [2, -1, 5, 7] with 1 worker -> results [4], error 'negative number'", () =>
    Effect.gen(function*() {
      const failure = failureOf(yield* Effect.exit(processNumbers([2, -1, 5, 7], 1)))
      expect(failure._tag).toBe("JobFailed")
      if (failure._tag !== "JobFailed") return
      expect(failure.completed).toEqual([4])
      expect(failure.error).toBeInstanceOf(BadNumber)
      expect(failure.message).toBe("negative number -1 at position 1")
      expect(failure.index).toBe(1)
    }))

  it.effect("with more workers the results are a subset of the squares before the error, and none is computed after it", () =>
    Effect.gen(function*() {
      const nums = [...Array.from({ length: 5000 }, (_, i) => i), -3, ...Array.from({ length: 5000 }, (_, i) => i)]
      const failure = failureOf(yield* Effect.exit(processNumbers(nums, 8)))
      if (failure._tag !== "JobFailed") throw new Error(failure.message)
      expect(failure.message).toBe("negative number -3 at position 5000")
      const allowed = new Set(nums.filter((n) => n >= 0).map((n) => n * n))
      for (const s of failure.completed) expect(allowed.has(s)).toBe(true)
      expect(failure.completed.length).toBeLessThan(nums.length - 1)
    }))

  it.effect("context already cancelled: fails at once, no results, and no worker fiber is started", () =>
    Effect.gen(function*() {
      const started = yield* LeakCheck.track((tracker) =>
        Effect.gen(function*() {
          const gate = yield* Deferred.make<void>()
          const caller = yield* Effect.fork(Effect.zipRight(Deferred.await(gate), processNumbers([1, 2, 3], 4)))
          yield* Fiber.interrupt(caller)
          const exit = yield* Fiber.await(caller)
          expect(Exit.isInterrupted(exit)).toBe(true)
          yield* tracker.settle()
          return yield* tracker.started
        })
      )
      expect(started).toBe(1) // only the caller
    }))

  it.effect("interrupted midway: every worker stops, nothing leaks", () =>
    Effect.gen(function*() {
      let interrupted = 0
      let done = 0
      const slow = (n: number) =>
        Effect.sleep(`${n} millis`).pipe(
          Effect.as(n),
          Effect.tap(() => Effect.sync(() => done++)),
          Effect.onInterrupt(() => Effect.sync(() => interrupted++))
        )
      const pool = yield* Effect.fork(WorkerPool.run(Array.from({ length: 20 }, (_, i) => (i + 1) * 10), slow, { workers: 4, chunkSize: 1 }))
      yield* TestClock.adjust("25 millis")
      yield* Fiber.interrupt(pool)
      expect(done).toBe(2)
      expect(interrupted).toBe(4)
    }))

  it.effect("validation: workers must be a positive integer; numbers safe integers; squares exact or a typed error", () =>
    Effect.gen(function*() {
      expect(failureOf(yield* Effect.exit(processNumbers([1], 0))).message).toBe("workers must be a positive integer, got 0")
      expect(failureOf(yield* Effect.exit(processNumbers([1], 1.5))).message).toBe("workers must be a positive integer, got 1.5")
      expect(failureOf(yield* Effect.exit(processNumbers([1, 2.5], 2))).message).toBe("not a safe integer: 2.5 at position 1")
      expect(yield* processNumbers([maxSquarable], 1)).toEqual([maxSquarable * maxSquarable])
      expect(Number.isSafeInteger(maxSquarable * maxSquarable)).toBe(true)
      expect(failureOf(yield* Effect.exit(processNumbers([maxSquarable + 1], 1))).message).toBe(
        `square of ${maxSquarable + 1} at position 0 is larger than Number.MAX_SAFE_INTEGER`
      )
    }))

  it.effect.prop(
    "random numbers x 1..16 workers x random interruption points: the rules hold and no fiber leaks",
    {
      nums: fc.array(fc.integer({ min: -5, max: 1000 }), { maxLength: 3000 }),
      workers: fc.integer({ min: 1, max: 16 }),
      yields: fc.integer({ min: 0, max: 20 })
    },
    ({ nums, workers, yields }) =>
      Effect.gen(function*() {
        const f = yield* Effect.fork(processNumbers(nums, workers))
        for (let i = 0; i < yields; i++) yield* Effect.yieldNow()
        yield* Fiber.interrupt(f)
        const exit = yield* Fiber.await(f)
        const firstNegative = nums.findIndex((n) => n < 0)
        if (Exit.isSuccess(exit)) {
          expect(firstNegative).toBe(-1)
          expect(sorted(exit.value)).toEqual(sorted(nums.map((n) => n * n)))
        } else if (!Exit.isInterrupted(exit)) {
          const failure = failureOf(exit)
          if (failure._tag !== "JobFailed") throw new Error(failure.message)
          expect((failure.error as BadNumber).reason).toBe("Negative")
          const allowed = nums.filter((n) => n >= 0).map((n) => n * n)
          for (const s of failure.completed) expect(allowed).toContain(s)
        }
      }),
    { fastCheck: { numRuns: 60 } }
  )
})

describe("WorkerPool: the generic pool", () => {
  it.effect("a per-job timeout fails the pool with JobTimeout; retries run before a failure counts", () =>
    Effect.gen(function*() {
      const f = yield* Effect.fork(WorkerPool.run([10, 5000], (ms) => Effect.as(Effect.sleep(`${ms} millis`), ms), { workers: 2, chunkSize: 1, jobTimeout: "1 second" }))
      yield* TestClock.adjust("1 second")
      const failure = failureOf(yield* Fiber.await(f))
      expect(failure.message).toBe("job 1 timed out after 1s")
      let attempts = 0
      const flaky = () => Effect.suspend(() => ++attempts < 3 ? Effect.fail("flaky") : Effect.succeed("ok"))
      expect(yield* WorkerPool.run([1], flaky, { workers: 1, retry: Schedule.recurs(5) })).toEqual(["ok"])
      expect(attempts).toBe(3)
    }))

  it.effect("a failing job stops a sibling job that is inside its jobTimeout at once", () =>
    Effect.gen(function*() {
      const job = (ms: number) => ms < 0 ? Effect.fail("bad job").pipe(Effect.delay("10 millis")) : Effect.as(Effect.sleep(`${ms} millis`), ms)
      const f = yield* Effect.fork(WorkerPool.run([5000, -1], job, { workers: 2, chunkSize: 1, jobTimeout: "10 seconds" }))
      yield* TestClock.adjust("10 millis")
      expect(failureOf(yield* Fiber.await(f)).message).toBe("bad job")
    }))

  it.effect("collect-all keeps going and returns each job's outcome by position", () =>
    Effect.gen(function*() {
      const outcomes = yield* WorkerPool.runAll([3, -1, 2], (n, i) => n < 0 ? Effect.fail(`bad ${i}`) : Effect.succeed(n * 2), { workers: 2 })
      expect(outcomes).toEqual([Either.right(6), Either.left("bad 1"), Either.right(4)])
    }))

  it.scoped("the Go way: jobs channel in, results channel out, closed once after every worker exits", () =>
    Effect.scoped(Effect.gen(function*() {
      const jobs = yield* Chan.make<number>()
      const results = yield* processNumbersChan(jobs, 3)
      yield* Effect.forkScoped(Effect.zipRight(Chan.sendAll(jobs, [2, -1, 5, 7]), Chan.close(jobs)))
      const got: Array<string> = []
      yield* Chan.forEach(results, (r) => Effect.sync(() => got.push(Either.match(r, { onLeft: (e) => e.message, onRight: String }))))
      expect(got.sort()).toEqual(["25", "4", "49", "negative number -1 at position 1"])
      expect(yield* Chan.isClosed(results)).toBe(true)
    })))
})
