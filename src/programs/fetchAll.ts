/**
 * Seed 001's `FetchAll(ctx, sources)`, errgroup-style: run every source concurrently; all succeed ->
 * all values (in input order); the first failure interrupts the rest at once and is returned
 * together with the values that completed before it (seed 001's "partial results" extension).
 *
 * @since 0.1.0
 */
import { Data, Effect } from "effect"

/**
 * The first failure, with the values completed before it (in completion order).
 * @since 0.1.0
 */
export class FetchAllFailed<E, A> extends Data.TaggedError("FetchAllFailed")<{
  readonly error: E
  readonly completed: ReadonlyArray<A>
}> {
  override get message(): string {
    const e = this.error as { readonly message?: unknown }
    return `${typeof e?.message === "string" ? e.message : String(this.error)} (${this.completed.length} completed before it)`
  }
}

/**
 * Runs `sources` with at most `concurrency` in flight (default: all at once, like the seed).
 * A caller that is already interrupted starts nothing: no source runs, no fiber is forked.
 * Interrupting it interrupts every source in flight.
 *
 * @since 0.1.0
 */
export const fetchAll = Effect.fn("fetchAll")(function*<A, E, R>(
  sources: Iterable<Effect.Effect<A, E, R>>,
  options?: { readonly concurrency?: number | "unbounded" }
) {
  const completed: Array<A> = []
  const results = yield* Effect.forEach(
    sources,
    (source) => Effect.tap(source, (a) => Effect.sync(() => completed.push(a))),
    { concurrency: options?.concurrency ?? "unbounded" }
  ).pipe(Effect.mapError((error) => new FetchAllFailed<E, A>({ error, completed: [...completed] })))
  return results as ReadonlyArray<A>
})
