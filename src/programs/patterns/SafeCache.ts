/**
 * Seed 004, "Race Condition on Shared State": a map read and written by many fibers at once. In
 * JavaScript a plain `Map` is never torn, but a read-modify-write that yields in between (any
 * `await` or effect) loses updates just like Go's unguarded map; `SynchronizedRef` is the mutex.
 *
 * @since 0.1.0
 */
import { Effect, HashMap, Option, SynchronizedRef } from "effect"
import * as Demo from "./Demo.js"

/**
 * A concurrency-safe string → number cache (Go's map + `sync.RWMutex`). Reads never block;
 * updates are serialized, even when the update itself runs an effect (which is what a plain `Map`
 * cannot survive).
 *
 * @since 0.1.0
 */
export interface SafeCache {
  readonly get: (key: string) => Effect.Effect<Option.Option<number>>
  readonly set: (key: string, value: number) => Effect.Effect<void>
  /** Read-modify-write as one step: no other update to the cache runs in between. */
  readonly update: <E, R>(
    key: string,
    f: (current: Option.Option<number>) => Effect.Effect<number, E, R>
  ) => Effect.Effect<number, E, R>
  readonly snapshot: Effect.Effect<HashMap.HashMap<string, number>>
}

/**
 * An empty `SafeCache` backed by a `SynchronizedRef<HashMap>`.
 * @since 0.1.0
 */
export const make: Effect.Effect<SafeCache> = Effect.map(
  SynchronizedRef.make(HashMap.empty<string, number>()),
  (ref): SafeCache => ({
    get: (key) => Effect.map(SynchronizedRef.get(ref), HashMap.get(key)),
    set: (key, value) => SynchronizedRef.update(ref, HashMap.set(key, value)),
    update: (key, f) =>
      SynchronizedRef.modifyEffect(ref, (m) =>
        Effect.map(f(HashMap.get(m, key)), (v) => [v, HashMap.set(m, key, v)] as const)),
    snapshot: SynchronizedRef.get(ref)
  })
)

/** @since 0.1.0 */
export interface SafeCacheOptions {
  /** Concurrent fibers hammering the cache (default 50). */
  readonly workers?: number
  /** Increments per fiber (default 100). */
  readonly increments?: number
  /** Keys the increments are spread over (default 4). */
  readonly keys?: number
  /** The seed's BAD version: a plain `Map`, read, a yield (any I/O), then write. */
  readonly racy?: boolean
}

/** @since 0.1.0 */
export interface SafeCacheResult extends Demo.Report {
  readonly expected: number
  /** The sum of the counters after the hammer. */
  readonly actual: number
  readonly lostUpdates: number
}

/**
 * `workers × increments` concurrent increments spread over `keys` counters, each a read, a yield
 * to the scheduler (standing in for any I/O between read and write), and a write. With `racy` the
 * counters live in a plain `Map` and updates are lost; otherwise in a `SafeCache` and
 * `actual === expected`. Interrupting the program interrupts every worker; a `SafeCache` update is
 * either applied whole or not at all.
 *
 * @since 0.1.0
 */
export const safeCache = Effect.fn("safeCache")(function*(options: SafeCacheOptions = {}) {
  const workers = options.workers ?? 50
  const increments = options.increments ?? 100
  const keys = options.keys ?? 4
  return yield* Demo.report((journal) =>
    Effect.gen(function*() {
      const key = (w: number, i: number) => `k${(w + i) % keys}`
      let increment: (k: string) => Effect.Effect<void>
      let total: Effect.Effect<number>
      if (options.racy === true) {
        const map = new Map<string, number>()
        increment = (k) =>
          Effect.gen(function*() {
            const v = map.get(k) ?? 0
            yield* Effect.yieldNow()
            map.set(k, v + 1)
          })
        total = Effect.sync(() => [...map.values()].reduce((a, b) => a + b, 0))
      } else {
        const cache = yield* make
        increment = (k) =>
          Effect.asVoid(cache.update(k, (v) => Effect.as(Effect.yieldNow(), Option.getOrElse(v, () => 0) + 1)))
        total = Effect.map(cache.snapshot, (m) => [...HashMap.values(m)].reduce((a, b) => a + b, 0))
      }
      yield* journal.say(
        `${workers} fibers × ${increments} increments over ${keys} keys (${options.racy === true ? "plain Map" : "SafeCache"})`
      )
      yield* Effect.forEach(
        Array.from({ length: workers }, (_, w) => w),
        (w) => Effect.forEach(Array.from({ length: increments }, (_, i) => i), (i) => increment(key(w, i)), { discard: true }),
        { concurrency: "unbounded", discard: true }
      )
      const expected = workers * increments
      const actual = yield* total
      yield* journal.say(`expected ${expected}, got ${actual} (${expected - actual} lost updates)`)
      return { expected, actual, lostUpdates: expected - actual }
    })
  )
})
