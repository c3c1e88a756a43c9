/**
 * A `Stream` over an `AsyncIterable` that never waits for the iterable to agree to stop.
 *
 * `Stream.fromAsyncIterable` awaits the iterator's `return()` when the stream ends early
 * (interrupted, `take`, a deadline). An async generator cannot answer `return()` while one of its
 * `next()` calls is pending, so a source that stalls (stdin that nobody writes to and nobody
 * closes, a socket that went quiet) holds whatever ends the stream until the source produces
 * again, which may be never: a Ctrl-C, a `--deadline` or a `--take` would wait for the input.
 *
 * Here `return()` is called and not awaited (a Go goroutine blocked in `Read` is abandoned the same
 * way when its program moves on): the stream ends at once, the source is told to stop, and it
 * stops when its pending `next()` settles. Nothing is left behind in Effect: the pending `next()`
 * is a promise, not a fiber. A `return()` that rejects has nobody left to tell and is ignored.
 *
 * @since 0.1.0
 */
import { Effect, Option, Stream } from "effect"

/**
 * The values of `iterable`, in order; a `next()` that rejects fails the stream with
 * `onError(cause)`. Ending the stream early calls the iterator's `return()` without waiting.
 * @since 0.1.0
 */
export const fromAsyncIterable = <A, E>(
  iterable: AsyncIterable<A>,
  onError: (cause: unknown) => E
): Stream.Stream<A, E> =>
  Stream.unwrapScoped(Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => ({ iterator: iterable[Symbol.asyncIterator](), done: false })),
      (state) =>
        Effect.sync(() => {
          const iterator = state.iterator
          // An iterator that ended (or failed) has nothing to be told.
          if (state.done || iterator.return === undefined) return
          Promise.resolve().then(() => iterator.return!()).catch(() => {})
        })
    ),
    (state) =>
      Stream.repeatEffectOption(
        Effect.flatMap(
          Effect.tryPromise({ try: () => state.iterator.next(), catch: (e) => Option.some(onError(e)) }),
          (r) => {
            if (r.done !== true) return Effect.succeed(r.value)
            state.done = true
            return Effect.fail(Option.none())
          }
        )
      ).pipe(Stream.tapError(() => Effect.sync(() => (state.done = true))))
  ))
