/**
 * The seeds' "common mistakes", each reproduced with the Chan facade: Go turns them into a panic,
 * a deadlock or a leaked goroutine; here each is a clear failure (a ChanPanic defect, a FiberLeak
 * report) or a clean stop (the owner's scope interrupts the producer), proved with LeakCheck.
 */
import { describe, expect, it } from "../../src/vitest.js"
import { Cause, Data, Effect, Exit, Fiber, Option, Ref, Scope } from "effect"
import * as Chan from "../../src/domain/Chan.js"
import * as LeakCheck from "../../src/domain/LeakCheck.js"
import { parkedOn } from "../support/fibers.js"

const panicOf = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const defect = Cause.dieOption(exit.cause)
  return Option.isSome(defect) && Chan.isChanPanic(defect.value) ? defect.value.reason : undefined
}

/**
 * Seed 000's `Fetch(ctx, urls) <-chan Result`: one producer per url forked into the caller's scope,
 * one closer that closes `out` after every producer returned. `interrupted` counts producers that
 * were interrupted (not merely finished).
 */
const fetchAll = (urls: ReadonlyArray<string>, interrupted: Ref.Ref<number>, closes: Ref.Ref<number>) =>
  Effect.gen(function*() {
    const out = yield* Chan.make<string>()
    const producers = Effect.forEach(
      urls,
      (url) => Effect.onInterrupt(Chan.send(out, `body of ${url}`), () => Ref.update(interrupted, (n) => n + 1)),
      { concurrency: "unbounded", discard: true }
    )
    // The single closer: Go's `go func() { wg.Wait(); close(out) }()`. Forked uninterruptibly
    // (the producers themselves run under `restore`), because a fiber interrupted before its first
    // step never installs its `ensuring`: the scope closing at once would leave `out` open forever.
    yield* Effect.uninterruptibleMask((restore) =>
      Effect.forkScoped(
        Effect.ensuring(restore(producers), Effect.zipRight(Ref.update(closes, (n) => n + 1), Chan.close(out)))
      )
    )
    return out as Chan.RecvChan<string>
  })

const urls = Array.from({ length: 50 }, (_, i) => `http://127.0.0.1/${i}`)

describe("Chan: the seeds' common mistakes", () => {
  it.effect("send on a closed channel: Go panics; here the send dies with ChanPanic SendOnClosed, and catchAllDefect recovers", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>()
      yield* Chan.close(ch)
      const exit = yield* Effect.exit(Chan.send(ch, 1))
      expect(panicOf(exit)).toBe("SendOnClosed")
      const recovered = yield* Chan.send(ch, 1).pipe(
        Effect.as("sent"),
        Effect.catchAllDefect((d) => Effect.succeed(Chan.isChanPanic(d) ? `recovered: ${d.message}` : "other"))
      )
      expect(recovered).toBe("recovered: send on closed channel")
    }))

  it.effect("closing results before the workers finish makes the workers die with SendOnClosed; closing after them never does", () =>
    Effect.gen(function*() {
      const square = (results: Chan.SendChan<number>) =>
        Effect.forEach([1, 2, 3, 4], (n) => Chan.send(results, n * n), { concurrency: "unbounded", discard: true })
      // the mistake: close(results) before wg.Wait()
      const wrong = yield* Chan.make<number>()
      const workers = yield* Effect.forEach([1, 2, 3, 4], (n) => Effect.fork(Chan.send(wrong, n * n)))
      yield* Effect.forEach(workers, parkedOn)
      yield* Chan.close(wrong)
      for (const w of workers) expect(panicOf(yield* Fiber.await(w))).toBe("SendOnClosed")
      // the fix: the single closer runs after every worker returned
      const right = yield* Chan.make<number>()
      yield* Effect.fork(Effect.ensuring(square(right), Chan.close(right)))
      const got: Array<number> = []
      yield* Chan.forEach(right, (v) => Effect.sync(() => got.push(v)))
      expect(got.sort((a, b) => a - b)).toEqual([1, 4, 9, 16])
    }))

  it.effect("close twice: Go panics; here the second close dies with CloseOfClosed", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>()
      yield* Chan.close(ch)
      const exit = yield* Effect.exit(Chan.close(ch))
      expect(panicOf(exit)).toBe("CloseOfClosed")
      expect(Cause.pretty((exit as Exit.Failure<never, never>).cause)).toContain("close of closed channel")
    }))

  it.effect("close discipline: cancelling from several places at once closes the output exactly once", () =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make(0)
      const closes = yield* Ref.make(0)
      const scope = yield* Scope.make()
      const out = yield* Scope.extend(fetchAll(urls.slice(0, 10), interrupted, closes), scope)
      expect(yield* Chan.receive(out)).toEqual(Option.some("body of http://127.0.0.1/0"))
      // three cancellations racing: the scope closing twice and an interrupt of the owner's fiber
      const cancels = yield* Effect.forEach([1, 2, 3], () => Effect.fork(Scope.close(scope, Exit.void)))
      yield* Fiber.joinAll(cancels)
      expect(yield* Ref.get(closes)).toBe(1)
      expect(yield* Ref.get(interrupted)).toBe(9)
      // closed once, by the single closer, after every producer stopped
      expect(yield* Chan.receive(out)).toEqual(Option.none())
    }))

  it.effect("forgotten sender: start 50 fetchers, take one result, leave the scope: the other 49 are interrupted, none left blocked", () =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make(0)
      const closes = yield* Ref.make(0)
      const first = yield* Effect.scoped(Effect.flatMap(fetchAll(urls, interrupted, closes), Chan.receive))
      expect(Option.isSome(first)).toBe(true)
      expect(yield* Ref.get(interrupted)).toBe(49)
      expect(yield* Ref.get(closes)).toBe(1)
    }))

  it.effect("forgotten sender, Go style (producers nobody owns): LeakCheck reports each one blocked in chan send", () =>
    Effect.gen(function*() {
      const orphans: Array<Fiber.RuntimeFiber<void>> = []
      const goStyle = Effect.gen(function*() {
        const out = yield* Chan.make<string>()
        for (const url of urls.slice(0, 5)) {
          orphans.push(yield* Effect.forkDaemon(Chan.send(out, url).pipe(Effect.withSpan("fetcher"))))
        }
        return yield* Chan.receive(out)
      })
      const exit = yield* Effect.exit(LeakCheck.verifyNone(goStyle, { within: "50 millis" }))
      const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      const leak = Option.getOrThrow(failure) as LeakCheck.FiberLeak
      expect(leak._tag).toBe("FiberLeak")
      expect(leak.leaked.length).toBe(4)
      expect(leak.leaked.every((f) => f.state === "suspended: chan send" && f.spans[0] === "fetcher")).toBe(true)
      expect(leak.message.split("\n").filter((line) => line.startsWith("  fiber #")).length).toBe(4)
      yield* Fiber.interruptAll(orphans)
    }))

  it.effect("cancellation before the first receive: leaving the scope at once leaves no producer blocked in send", () =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make(0)
      const closes = yield* Ref.make(0)
      const out = yield* Effect.scoped(fetchAll(urls, interrupted, closes))
      // the output was closed once, with nothing sent: a late reader gets None instead of blocking
      expect(yield* Ref.get(closes)).toBe(1)
      expect(yield* Chan.receive(out)).toEqual(Option.none())
    }))

  it.effect("blocked writer with no done signal (newRandStream): the reader takes 3 values and leaves, the writer is interrupted and closes its channel once", () =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make(0)
      let closed = 0
      const newRandStream = Effect.gen(function*() {
        const randStream = yield* Chan.make<number>()
        let seed = 1
        yield* Effect.forkScoped(
          Effect.forever(Effect.suspend(() => Chan.send(randStream, (seed = (seed * 48271) % 2147483647)))).pipe(
            Effect.onInterrupt(() => Ref.update(interrupted, (n) => n + 1)),
            // defer close(randStream)
            Effect.ensuring(Effect.zipRight(Effect.sync(() => closed++), Chan.close(randStream)))
          )
        )
        return randStream as Chan.RecvChan<number>
      })
      const three = yield* Effect.scoped(Effect.gen(function*() {
        const rs = yield* newRandStream
        return [yield* Chan.receive(rs), yield* Chan.receive(rs), yield* Chan.receive(rs)]
      }))
      expect(three.every(Option.isSome)).toBe(true)
      expect(yield* Ref.get(interrupted)).toBe(1)
      expect(closed).toBe(1)
    }))

  it.effect("doWork(nil): ranging over a nil channel blocks forever in Go; here the owner's scope stops it and its completed channel is closed", () =>
    Effect.gen(function*() {
      const doWork = (strings: Chan.RecvChan<string>) =>
        Effect.gen(function*() {
          const completed = yield* Chan.make<never>()
          yield* Effect.forkScoped(Effect.ensuring(Chan.forEach(strings, () => Effect.void), Chan.close(completed)))
          return completed as Chan.Done
        })
      const scope = yield* Scope.make()
      const completed = yield* Scope.extend(doWork(Chan.nil<string>()), scope)
      const waiter = yield* Effect.fork(Chan.receive(completed))
      expect(yield* parkedOn(waiter)).toBe("chan receive")
      yield* Scope.close(scope, Exit.void)
      expect(yield* Fiber.join(waiter)).toEqual(Option.none())
    }))

  class Negative extends Data.TaggedError("Negative")<{ readonly n: number }> {}

  it.effect("returning on the first error leaves workers blocked on an unbuffered results channel in Go; here leaving the scope interrupts them", () =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make(0)
      const processNumbers = (nums: ReadonlyArray<number>) =>
        Effect.scoped(Effect.gen(function*() {
          const results = yield* Chan.make<Exit.Exit<number, Negative>>()
          for (const n of nums) {
            yield* Effect.forkScoped(
              Chan.send(results, n < 0 ? Exit.fail(new Negative({ n })) : Exit.succeed(n * n)).pipe(
                Effect.onInterrupt(() => Ref.update(interrupted, (k) => k + 1))
              )
            )
          }
          const squares: Array<number> = []
          for (let i = 0; i < nums.length; i++) {
            const r = Option.getOrThrow(yield* Chan.receive(results))
            if (Exit.isFailure(r)) return yield* Effect.failCause(r.cause) // return on the first error
            squares.push(r.value)
          }
          return squares
        }))
      const exit = yield* Effect.exit(processNumbers([-1, 2, 5, 7]))
      expect(exit).toEqual(Exit.fail(new Negative({ n: -1 })))
      // every worker that had not delivered was interrupted, not left blocked
      expect(yield* Ref.get(interrupted)).toBe(3)
    }))
})
