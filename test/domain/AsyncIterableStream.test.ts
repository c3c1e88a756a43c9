/**
 * AsyncIterableStream: an AsyncIterable as a Stream that ends without waiting for the source.
 */
import { Chunk, Effect, Either, Exit, FastCheck as fc, Fiber, Stream } from "effect"
import * as AsyncIterableStream from "../../src/domain/AsyncIterableStream.js"
import { describe, expect, it } from "../../src/vitest.js"

/** Yields `values`, then stalls (its next `next()` never settles); counts `return()` calls. */
const stalling = <A>(values: ReadonlyArray<A>) => {
  const seen = { returned: 0, pulled: 0 }
  const iterable: AsyncIterable<A> = {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        if (seen.pulled >= values.length) return new Promise<never>(() => {})
        return Promise.resolve({ done: false, value: values[seen.pulled++]! })
      },
      return: () => {
        seen.returned++
        return Promise.resolve({ done: true as const, value: undefined })
      }
    })
  }
  return { iterable, seen }
}

const turns = (n: number) => Effect.promise(() => new Promise<void>((r) => { let i = 0; const step = () => (++i >= n ? r() : setImmediate(step)); setImmediate(step) }))

describe("AsyncIterableStream.fromAsyncIterable", () => {
  it.effect("ends at once while a next() is pending: take, and interruption, each tell the source once", () =>
    Effect.gen(function*() {
      const a = stalling([1, 2, 3])
      expect(yield* Stream.runCollect(Stream.take(AsyncIterableStream.fromAsyncIterable(a.iterable, String), 3))).toEqual(Chunk.make(1, 2, 3))
      yield* turns(2)
      expect(a.seen.returned).toBe(1)

      const b = stalling([1])
      const got: Array<number> = []
      const f = yield* Effect.fork(Stream.runForEach(AsyncIterableStream.fromAsyncIterable(b.iterable, String), (n) => Effect.sync(() => got.push(n))))
      yield* turns(5)
      expect(got).toEqual([1])
      const exit = yield* Fiber.interrupt(f) // would never return if return() were awaited
      expect(Exit.isInterrupted(exit)).toBe(true)
      yield* turns(2)
      expect(b.seen.returned).toBe(1)
    }))

  it.effect("a source that ends is not told to stop; a next() that rejects fails the stream through onError", () =>
    Effect.gen(function*() {
      let returned = 0
      const ends: AsyncIterable<number> = {
        [Symbol.asyncIterator]: () => {
          let i = 0
          return {
            next: () => Promise.resolve(i < 2 ? { done: false, value: i++ } : { done: true as const, value: undefined }),
            return: () => (returned++, Promise.resolve({ done: true as const, value: undefined }))
          }
        }
      }
      expect(yield* Stream.runCollect(AsyncIterableStream.fromAsyncIterable(ends, String))).toEqual(Chunk.make(0, 1))
      expect(returned).toBe(0)
      async function* fails() {
        yield 1
        throw new Error("disk on fire")
      }
      const e = yield* Effect.either(Stream.runCollect(AsyncIterableStream.fromAsyncIterable(fails(), (u) => `failed: ${(u as Error).message}`)))
      expect(e).toEqual(Either.left("failed: disk on fire"))
    }))

  it.effect.prop("property: any values, any take: the first n values, in order, and one return() when cut short", [fc.array(fc.integer(), { maxLength: 20 }), fc.nat(25)], ([values, n]) =>
    Effect.gen(function*() {
      const a = stalling(values)
      const k = Math.min(n, values.length)
      const got = yield* Stream.runCollect(Stream.take(AsyncIterableStream.fromAsyncIterable(a.iterable, String), k))
      expect(Chunk.toReadonlyArray(got)).toEqual(values.slice(0, k))
      yield* turns(2)
      expect(a.seen.returned).toBe(k === 0 ? 0 : 1)
    }))
})
