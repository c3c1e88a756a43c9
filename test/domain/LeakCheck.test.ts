import { describe, expect, it } from "../../src/vitest.js"
import { Effect, Either, Exit, Fiber, Scope, TestClock } from "effect"
import * as Chan from "../../src/domain/Chan.js"
import * as LeakCheck from "../../src/domain/LeakCheck.js"
import { awaitSuspended } from "../support/fibers.js"

/** Runs a check that is expected to find a leak, and interrupts the leaked fibers afterwards. */
const expectLeak = <A, E>(self: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const result = yield* LeakCheck.verifyNone(self, { within: "20 millis" }).pipe(Effect.either)
    if (Either.isRight(result)) return yield* Effect.fail(new Error("expected a FiberLeak, got none"))
    const error = result.left
    if (!(error instanceof LeakCheck.FiberLeak)) return yield* Effect.fail(new Error(`expected a FiberLeak, got ${String(error)}`))
    // clean up after ourselves, and prove the leaked fibers were really alive
    yield* error.interruptLeaked
    return error
  })

describe("LeakCheck (goleak for fibers)", () => {
  it.effect("catches a deliberate leak: a forkDaemon blocked forever on an unbuffered send", () =>
    Effect.gen(function*() {
      let leakedFiber: Fiber.RuntimeFiber<void> | undefined
      const leak = yield* expectLeak(Effect.gen(function*() {
        const ch = yield* Chan.make<number>()
        leakedFiber = yield* Effect.forkDaemon(Chan.send(ch, 1).pipe(Effect.withSpan("forgottenSender")))
        yield* awaitSuspended(leakedFiber)
      }))
      expect(leak.leaked).toHaveLength(1)
      const [fiber] = leak.leaked
      expect(fiber!.id).toBe(leakedFiber!.id().id)
      expect(fiber!.state).toBe("suspended: chan send")
      expect(fiber!.spans).toEqual(["forgottenSender"])
      expect(fiber!.parent).toBeTypeOf("number")
      expect(leak.message).toMatch(
        new RegExp(`found 1 leaked fiber\\(s\\):\\n  fiber #${fiber!.id} \\[suspended: chan send, started by #\\d+\\] in forgottenSender`)
      )
      expect(leakedFiber!.unsafePoll()).not.toBeNull()
    }))

  it.effect("sees fibers forked at any depth and by every fork flavour (fork, forkScoped, forkIn, forkDaemon)", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const started = yield* LeakCheck.track((tracker) =>
        Effect.gen(function*() {
          const parent = yield* Effect.fork(Effect.gen(function*() {
            yield* Effect.fork(Effect.never) // grandchild
            yield* Effect.never
          }))
          const daemon = yield* Effect.forkDaemon(Effect.never)
          const inScope = yield* Effect.forkIn(Effect.never, scope)
          const scoped = yield* Effect.forkScoped(Effect.never).pipe(Scope.extend(scope))
          for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
          const live = yield* tracker.live
          yield* Fiber.interrupt(parent)
          yield* Fiber.interrupt(daemon)
          yield* Fiber.interrupt(inScope)
          yield* Fiber.interrupt(scoped)
          yield* tracker.settle()
          return { live, started: yield* tracker.started }
        })
      )
      expect(started).toEqual({ live: 5, started: 5 })
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("a fiber still running when the region ends is reported, including one started by a child", () =>
    Effect.gen(function*() {
      const leak = yield* expectLeak(Effect.gen(function*() {
        const child = yield* Effect.fork(Effect.gen(function*() {
          yield* Effect.forkDaemon(Effect.never.pipe(Effect.withSpan("grandchild")))
        }))
        yield* Fiber.join(child)
      }))
      expect(leak.leaked.map((f) => f.spans)).toEqual([["grandchild"]])
      expect(leak.leaked[0]!.state).toBe("suspended")
    }))

  it.effect("passes a clean effect and returns its value; children interrupted with their parent do not count", () =>
    Effect.gen(function*() {
      const value = yield* LeakCheck.verifyNone(Effect.gen(function*() {
        yield* Effect.fork(Effect.never) // interrupted when the region's fiber ends
        const ch = yield* Chan.make<number>()
        yield* Effect.fork(Chan.send(ch, 1))
        return 42
      }))
      expect(value).toBe(42)
    }))

  it.effect("passes the checked effect's own failure through unchanged when nothing leaks", () =>
    Effect.gen(function*() {
      const r = yield* LeakCheck.verifyNone(Effect.fail("boom")).pipe(Effect.either)
      expect(r).toEqual(Either.left("boom"))
    }))

  it.effect("works under TestClock: sleeping producers are reported, and nothing advances virtual time", () =>
    Effect.gen(function*() {
      const before = yield* TestClock.currentTimeMillis
      const leak = yield* expectLeak(Effect.forkDaemon(Effect.sleep("1 hour").pipe(Effect.withSpan("sleeper"))))
      // (TestClock itself forks a warning fiber under a sleeper that never sees time advance)
      expect(leak.leaked.filter((f) => f.spans.includes("sleeper")).length).toBeGreaterThanOrEqual(1)
      expect(yield* TestClock.currentTimeMillis).toBe(before)
    }))

  it.effect("settle waits for scope finalizers to finish (no real sleep needed)", () =>
    LeakCheck.verifyNone(Effect.gen(function*() {
      const scope = yield* Scope.make()
      const ch = yield* Chan.make<number>()
      for (let i = 0; i < 50; i++) yield* Effect.forkIn(Chan.send(ch, i), scope)
      yield* Effect.forkDaemon(Scope.close(scope, Exit.void))
    })))

  it.effect("numFibers counts every live fiber in the process, like runtime.NumGoroutine()", () =>
    Effect.gen(function*() {
      const before = yield* LeakCheck.numFibers
      const fibers = yield* Effect.forEach([1, 2, 3], () => Effect.forkDaemon(Effect.never))
      const child = yield* Effect.fork(Effect.never)
      for (let i = 0; i < 5; i++) yield* Effect.yieldNow()
      expect(yield* LeakCheck.numFibers).toBe(before + 4)
      yield* Fiber.interruptAll([...fibers, child])
      expect(yield* LeakCheck.numFibers).toBe(before)
    }))
})


describe("LeakCheck.track", () => {
  it.effect("tracker.fibers describes the fibers alive when it runs", () =>
    LeakCheck.track((tracker) =>
      Effect.gen(function*() {
        expect(yield* tracker.fibers).toEqual([])
        const ch = yield* Chan.make<number>()
        const sender = yield* Effect.fork(Chan.send(ch, 1))
        yield* awaitSuspended(sender)
        const fibers = yield* tracker.fibers
        expect(fibers.map((f) => [f.id, f.state])).toEqual([[sender.id().id, "suspended: chan send"]])
        yield* Fiber.interrupt(sender)
      })
    ))
})
