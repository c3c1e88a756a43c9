import { describe, expect, it, unchecked } from "../../src/vitest.js"
import { Cause, Chunk, Deferred, Effect, Either, Exit, FastCheck as fc, Fiber, Layer, Stream, TestClock } from "effect"
import * as Chan from "../../src/domain/Chan.js"
import { Fetched } from "../../src/domain/FetchOutcome.js"
import type { FetchOutcome } from "../../src/domain/FetchOutcome.js"
import { UrlFetcher } from "../../src/services/UrlFetcher.js"
import * as LeakCheck from "../../src/domain/LeakCheck.js"
import { checkStatus } from "../../src/programs/checkStatus.js"
import { fetchAll, FetchAllFailed } from "../../src/programs/fetchAll.js"
import { fetchUrls } from "../../src/programs/fetchUrls.js"
import { first } from "../../src/programs/first.js"
import * as FakeHttp from "../support/FakeHttp.js"

const url = (path: string) => `http://fake.test${path}`

class SourceError {
  readonly _tag = "SourceError"
  constructor(readonly message: string) {}
}

describe("fetchAll (seed 001)", () => {
  it.effect("TestFetchAllSuccess: all sources succeed -> all values, no error", () =>
    Effect.gen(function*() {
      const values = yield* fetchAll([Effect.succeed("a"), Effect.succeed("b").pipe(Effect.delay("10 millis")), Effect.succeed("c")])
      expect(values).toEqual(["a", "b", "c"])
    }).pipe(Effect.fork, Effect.tap(() => TestClock.adjust("10 millis")), Effect.flatMap(Fiber.join)))

  it.effect("TestFetchAllError: the first failure interrupts the rest at once and comes back with the values completed before it", () =>
    Effect.gen(function*() {
      let interrupted = 0
      const slow = Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => interrupted++)))
      const failing = Effect.fail(new SourceError("source 3 failed")).pipe(Effect.delay("20 millis"))
      const f = yield* Effect.fork(Effect.either(fetchAll<string, SourceError, never>([
        Effect.succeed("early"),
        slow,
        failing,
        slow,
        Effect.succeed("late").pipe(Effect.delay("1 hour"))
      ])))
      yield* TestClock.adjust("20 millis")
      const result = yield* Fiber.join(f)
      expect(Either.isLeft(result)).toBe(true)
      const failure = Either.getLeft(result).pipe((o) => o._tag === "Some" ? o.value : undefined)!
      expect(failure).toBeInstanceOf(FetchAllFailed)
      expect(failure.error.message).toBe("source 3 failed")
      expect(failure.completed).toEqual(["early"])
      expect(interrupted).toBe(2)
    }))

  it.effect("a failure cancels a sibling inside a timeout at once (Effect.forEach's fail-fast would wait for the timeout)", () =>
    Effect.gen(function*() {
      const f = yield* Effect.fork(Effect.either(fetchAll([
        Effect.fail(new SourceError("early failure")).pipe(Effect.delay("10 millis")),
        Effect.never.pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new SourceError("timeout") }))
      ])))
      yield* TestClock.adjust("10 millis")
      const result = yield* Fiber.join(f)
      expect(Either.isLeft(result) && result.left.error.message).toBe("early failure")
    }))

  // asserts on its own fibers (LeakCheck.track: started, settle): not checked a second time
  it.effect("TestFetchAllContextCancelled: a caller already interrupted starts no source and no fiber", () =>
    unchecked(Effect.gen(function*() {
      let ran = 0
      const source = Effect.sync(() => ran++)
      const started = yield* LeakCheck.track((tracker) =>
        Effect.gen(function*() {
          const gate = yield* Deferred.make<void>()
          const caller = yield* Effect.fork(Deferred.await(gate).pipe(Effect.zipRight(fetchAll([source, source, source]))))
          yield* Fiber.interrupt(caller) // cancelled before it got to call fetchAll
          yield* tracker.settle()
          return yield* tracker.started
        })
      )
      expect(ran).toBe(0)
      expect(started).toBe(1) // the caller itself, nothing more
    })))
})

describe("fetchAll with a bound: O(concurrency) fibers, whatever the number of sources", () => {
  it.effect("200 sources at concurrency 4: never more than 4 sources' fibers alive (not 200 parked on a semaphore)", () =>
    Effect.gen(function*() {
      const maxLive = yield* LeakCheck.track((tracker) =>
        Effect.gen(function*() {
          let max = 0
          const source = (i: number) =>
            Effect.gen(function*() {
              yield* Effect.yieldNow()
              max = Math.max(max, yield* tracker.live)
              return i
            })
          const values = yield* fetchAll(Array.from({ length: 200 }, (_, i) => source(i)), { concurrency: 4 })
          expect(values).toEqual(Array.from({ length: 200 }, (_, i) => i))
          return max
        })
      )
      expect(maxLive).toBeLessThanOrEqual(4)
    }))

  it.effect.each([[Infinity, 5], [Number.NaN, 1], [0, 1], [2.7, 2]] as const)("a bound of %s runs %s sources at once", ([bound, width]) =>
    Effect.gen(function*() {
      let running = 0
      let maxRunning = 0
      const gate = yield* Deferred.make<void>()
      const source = Effect.gen(function*() {
        maxRunning = Math.max(maxRunning, ++running)
        yield* Deferred.await(gate)
        running--
      })
      const f = yield* Effect.fork(fetchAll(Array.from({ length: 5 }, () => source), { concurrency: bound }))
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(f)
      expect(maxRunning).toBe(width)
    }))

  it.effect.prop(
    "any n, bound and failing source: values in input order, at most the bound running, the failure with only values that completed before it",
    [fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 8 }), fc.option(fc.nat(29), { nil: undefined }), fc.array(fc.nat(3), { minLength: 30, maxLength: 30 })],
    ([n, bound, failAt, yields]) =>
      LeakCheck.verifyNone(Effect.gen(function*() {
        let running = 0
        let maxRunning = 0
        const finished: Array<number> = []
        let finishedAtFailure = -1
        const source = (i: number) =>
          Effect.gen(function*() {
            maxRunning = Math.max(maxRunning, ++running)
            for (let k = 0; k < yields[i]!; k++) yield* Effect.yieldNow()
            running--
            if (i === failAt) {
              finishedAtFailure = finished.length
              return yield* Effect.fail(new SourceError(`source ${i}`))
            }
            finished.push(i)
            return i
          }).pipe(Effect.onInterrupt(() => Effect.sync(() => running--)))
        const result = yield* Effect.either(fetchAll(Array.from({ length: n }, (_, i) => source(i)), { concurrency: bound }))
        expect(maxRunning).toBeLessThanOrEqual(bound)
        expect(running).toBe(0)
        if (failAt === undefined || failAt >= n) {
          expect(Either.getOrThrow(result)).toEqual(Array.from({ length: n }, (_, i) => i))
        } else {
          const e = Either.getLeft(result).pipe((o) => (o._tag === "Some" ? o.value : undefined))!
          expect(e.error.message).toBe(`source ${failAt}`)
          // exactly what completed before the failure (a prefix of the completion order)
          expect(e.completed).toEqual(finished.slice(0, finishedAtFailure))
          expect(e.completed).not.toContain(failAt)
        }
      }))
  )
})

describe("first (seed 001 first-win)", () => {
  it.effect("the first success wins and the other mirrors are interrupted at once", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const f = yield* Effect.fork(first([url("/slow/300/a"), url("/slow/100/b"), url("/never/c"), url("/status/500")], { retries: 0 }))
      while (fake.stats.started < 4) yield* Effect.yieldNow()
      yield* TestClock.adjust("100 millis")
      const winner = yield* Fiber.join(f)
      expect(winner.url).toBe(url("/slow/100/b"))
      expect(fake.stats.interrupted).toBe(2)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("if every mirror fails, one typed error lists every failure", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const e = yield* Effect.flip(first([url("/status/404"), "nope", url("/status/410")], { retries: 0 }))
      expect(e._tag).toBe("AllFailed")
      expect(e.failures.map((f) => f.message)).toEqual([
        `Status: HTTP 404 (${url("/status/404")})`,
        "InvalidUrl: not an absolute URL (nope)",
        `Status: HTTP 410 (${url("/status/410")})`
      ])
    }).pipe(Effect.provide(fake.layer))
  })
})

describe("checkStatus (seed 002: errors as values, stop after N errors)", () => {
  it.effect("outcomes stream as values; after the 3rd error everything stops", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const urls = ["a", url("/ok/1"), "b", "c", "d", url("/never/1")]
      const outcomes = yield* Stream.runCollect(checkStatus(urls, { maxErrors: 3, concurrency: 1 }))
      expect(Chunk.toReadonlyArray(outcomes).map((o) => o._tag === "Fetched" ? `ok ${o.url}` : `${o.reason} ${o.url}`)).toEqual([
        "InvalidUrl a",
        `ok ${url("/ok/1")}`,
        "InvalidUrl b",
        "InvalidUrl c"
      ])
      // whatever the producer had started beyond that point was cancelled, not left running
      expect(fake.stats.finished).toBe(1)
      expect(fake.stats.finished + fake.stats.interrupted).toBe(fake.stats.started)
    }).pipe(Effect.provide(fake.layer))
  })
})

describe("fetchUrls (the fetch command's job)", () => {
  it.effect("--take N: consumes N outcomes, then the rest are cancelled (the forgotten sender, done right)", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const seen: Array<string> = []
      const urls = [url("/ok/1"), url("/ok/2"), ...Array.from({ length: 8 }, (_, i) => url(`/never/${i}`))]
      const r = yield* fetchUrls(urls, { take: 2, concurrency: 10, onOutcome: (o) => Effect.sync(() => seen.push(o.url)) })
      expect(seen.sort()).toEqual([url("/ok/1"), url("/ok/2")])
      expect([r.summary.total, r.summary.succeeded, r.summary.failed, r.summary.cancelled]).toEqual([10, 2, 0, 8])
      expect(r.stoppedEarly).toBe(true)
      yield* Effect.yieldNow()
      expect(fake.stats.interrupted).toBe(8)
    }).pipe(Effect.provide(fake.layer))
  })
})

describe("fetchUrls: flat memory, lazy sources, nothing unaccounted for", () => {
  it.effect("outcomes go to onOutcome and are dropped; the result is a summary built from counters", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      let printed = 0
      const urls = [url("/ok/1"), url("/status/404"), "nope", url("/slow/30/2")]
      const f = yield* Effect.fork(fetchUrls(urls, { retries: 0, onOutcome: () => Effect.sync(() => printed++) }))
      yield* TestClock.adjust("30 millis")
      const r = yield* Fiber.join(f)
      expect(printed).toBe(4)
      expect(Object.keys(r).sort()).toEqual(["deadline", "stoppedEarly", "summary"])
      expect(r.summary).toMatchObject({ total: 4, succeeded: 2, failed: 2, cancelled: 0, failures: { Status: 1, InvalidUrl: 1 } })
      expect(r.stoppedEarly).toBe(false)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("a lazy source is pulled only as slots free up: never more than the bound ahead of the outcomes", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      let pulled = 0
      let delivered = 0
      let maxAhead = 0
      const source = Stream.fromIterable(Array.from({ length: 200 }, (_, i) => url(`/ok/${i}`))).pipe(
        Stream.rechunk(1),
        Stream.tap(() => Effect.sync(() => (maxAhead = Math.max(maxAhead, ++pulled - delivered))))
      )
      const r = yield* fetchUrls(source, { concurrency: 4, onOutcome: () => Effect.sync(() => delivered++) })
      expect(r.summary).toMatchObject({ total: 200, succeeded: 200, cancelled: 0 })
      // in flight (4) + fed ahead of the driver (4) + the output buffer (4) + one being handed over
      expect(maxAhead).toBeLessThanOrEqual(13)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("a source that fails mid-way fails the run with its error, after cancelling what was in flight", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const source = Stream.concat(Stream.make(url("/ok/1"), url("/never/2")), Stream.fail("disk on fire" as const))
      const e = yield* Effect.flip(fetchUrls(source, { concurrency: 4 }))
      expect(e).toBe("disk on fire")
      expect(fake.stats.inFlight()).toBe(0)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("the deadline: stopped early, the rest counted as cancelled", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const urls = [url("/ok/1"), url("/slow/50/2"), url("/never/3"), url("/slow/500/4")]
      const f = yield* Effect.fork(fetchUrls(urls, { deadline: "100 millis", retries: 0 }))
      yield* TestClock.adjust("100 millis")
      const r = yield* Fiber.join(f)
      expect([r.deadline, r.stoppedEarly]).toEqual([true, true])
      expect(r.summary).toMatchObject({ total: 4, succeeded: 2, cancelled: 2 })
      expect(fake.stats.inFlight()).toBe(0)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect.prop(
    "the deadline reports a cut only when something was left: every outcome in, though handed over late, is not a cut",
    [fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 80 }), fc.boolean()],
    ([n, concurrency, consumerMs, lazy]) => {
      const fake = FakeHttp.layer()
      return Effect.gen(function*() {
        const list = Array.from({ length: n }, (_, i) => url(`/ok/${i}`))
        const urls = lazy ? Stream.fromIterable(list) : list
        let seen = 0
        // The consumer is slow: the deadline fires while the engine waits to hand outcomes over.
        const f = yield* Effect.fork(fetchUrls(urls, {
          concurrency,
          deadline: "100 millis",
          onOutcome: () => Effect.zipRight(Effect.sleep(`${consumerMs} millis`), Effect.sync(() => seen++))
        }))
        for (let t = 0; t < 60 && f.unsafePoll() === null; t++) yield* TestClock.adjust("10 millis")
        const r = yield* Fiber.join(f)
        const s = r.summary
        expect(s.succeeded + s.failed + s.cancelled).toBe(s.total)
        // A cut means an outcome is missing; no cut means every URL of the source has one.
        expect(r.deadline).toBe(s.cancelled > 0 || s.total < n)
        expect(r.stoppedEarly).toBe(r.deadline)
        if (!r.deadline) expect([s.total, s.succeeded, seen]).toEqual([n, n, n])
      }).pipe(Effect.provide(fake.layer))
    }
  )

  // A lazy source that stalls: an AsyncIterable whose `next()` never settles (stdin that nobody
  // writes to and nobody closes). Whatever ends the batch must not wait for the source: an
  // AsyncIterable's `return()` cannot run while its `next()` is pending, and a feeder that is a
  // child of the batch is awaited when the batch exits.
  const stalling = (urls: ReadonlyArray<string>, onReturn: () => void = () => {}): AsyncIterable<string> => ({
    [Symbol.asyncIterator]() {
      let i = 0
      return {
        next: () => i < urls.length ? Promise.resolve({ done: false, value: urls[i++]! }) : new Promise<never>(() => {}),
        return: () => {
          onReturn()
          return Promise.resolve({ done: true, value: undefined })
        }
      }
    }
  })
  /** The fiber's exit after a bounded number of event-loop turns (undefined: still running). */
  const settled = <A, E>(f: Fiber.RuntimeFiber<A, E>) =>
    Effect.gen(function*() {
      for (let i = 0; i < 50 && f.unsafePoll() === null; i++) yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
      return f.unsafePoll() ?? undefined
    })

  it.effect("a source that stalls: the deadline ends the batch with what it had, and the source is told to stop", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      let returned = 0
      const f = yield* Effect.fork(fetchUrls(stalling([url("/ok/1"), url("/ok/2")], () => returned++), { deadline: "100 millis" }))
      yield* TestClock.adjust("100 millis")
      const exit = yield* settled(f)
      if (exit === undefined) yield* Fiber.interruptFork(f)
      expect(exit && Exit.isSuccess(exit) && exit.value).toMatchObject({ deadline: true, stoppedEarly: true, summary: { total: 2, succeeded: 2 } })
      expect(returned).toBe(1)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("a source that stalls: take ends the batch at once", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      const f = yield* Effect.fork(fetchUrls(stalling([url("/ok/1"), url("/ok/2")]), { take: 2 }))
      const exit = yield* settled(f)
      if (exit === undefined) yield* Fiber.interruptFork(f)
      expect(exit && Exit.isSuccess(exit) && exit.value).toMatchObject({ stoppedEarly: false, summary: { total: 2, succeeded: 2 } })
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("a source that stalls: interrupting the batch (Ctrl-C) ends it at once", () => {
    const fake = FakeHttp.layer()
    return Effect.gen(function*() {
      let seen = 0
      const f = yield* Effect.fork(fetchUrls(stalling([url("/ok/1")]), { onOutcome: () => Effect.sync(() => seen++) }))
      for (let i = 0; i < 50 && seen === 0; i++) yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
      expect(seen).toBe(1)
      const interrupted = yield* Effect.fork(Fiber.interrupt(f))
      const exit = yield* settled(interrupted)
      expect(exit !== undefined && Exit.isSuccess(exit) && Exit.isInterrupted(exit.value)).toBe(true)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("an engine that closes its output with URLs unaccounted for is a defect, never a quiet success", () => {
    // A broken fetcher: it delivers one outcome of two and closes, reporting a normal end.
    const broken = Layer.succeed(UrlFetcher, UrlFetcher.make({
      get: () => Effect.die("unused"),
      fetch: () => Effect.die("unused"),
      stream: () => Stream.die("unused"),
      batch: (urls: Iterable<string>) =>
        Effect.gen(function*() {
          const out = yield* Chan.make<FetchOutcome>(4)
          const all = Array.from(urls as Iterable<string>)
          yield* Chan.send(out, new Fetched({ url: all[0]!, status: 200, body: new Uint8Array(), bytes: 0, durationMs: 1, attempts: 1 }))
          yield* Chan.close(out)
          return { outcomes: out, done: Effect.succeed({ urls: all.length, delivered: 1, deadline: false }) }
        })
    } as unknown as ConstructorParameters<typeof UrlFetcher>[0]))
    return Effect.gen(function*() {
      const exit = yield* Effect.exit(fetchUrls([url("/ok/1"), url("/ok/2")]))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain("1 of 2 URLs unaccounted for")
    }).pipe(Effect.provide(broken))
  })
})

describe("this file's tests are leak-checked", () => {
  it.effect("(sentinel) an Effect test here runs inside LeakCheck.verifyNone (leakproof/vitest's it)", () =>
    Effect.map(LeakCheck.isChecked, (checked) => expect(checked).toBe(true)))
})
