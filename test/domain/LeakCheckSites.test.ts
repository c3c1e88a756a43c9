/**
 * Where each leaked fiber was created (goleak's "created by") and where it is blocked: the user's
 * line, never a line inside Effect or leakproof's library code, recorded only while a check runs.
 */
import { describe, expect, it, unchecked } from "../../src/vitest.js"
import { Deferred, Effect, Either, Exit, Fiber, Runtime, Scope } from "effect"
import { fileURLToPath } from "node:url"
import * as Chan from "../../src/domain/Chan.js"
import * as LeakCheck from "../../src/domain/LeakCheck.js"
import { awaitSuspended } from "../support/fibers.js"
import { siteOf } from "../support/leakcheck.js"

const here = fileURLToPath(import.meta.url)
const at = (name: string) => siteOf(here, name)

/** Runs a check expected to find a leak; interrupts the leaked fibers afterwards. */
const expectLeak = <A, E>(self: Effect.Effect<A, E>, options?: LeakCheck.CheckOptions) =>
  Effect.gen(function*() {
    const result = yield* LeakCheck.verifyNone(self, { within: "20 millis", sites: true, ...options }).pipe(Effect.either)
    if (Either.isRight(result) || !(result.left instanceof LeakCheck.FiberLeak)) {
      return yield* Effect.dieMessage(`expected a FiberLeak, got ${String(result)}`)
    }
    yield* result.left.interruptLeaked
    return result.left
  })

/** A helper in user code that forks: the site is the line in here, where it forks. */
const startWorker = (jobs: Chan.Chan<number>) =>
  Effect.gen(function*() {
    return yield* Effect.forkDaemon(Chan.send(jobs, 1).pipe(Effect.withSpan("worker"))) // site: helper-fork
  })

describe("LeakCheck creation sites (goleak's \"created by\")", () => {
  it.effect("a leaked fiber shows the line that forked it and the line it is blocked at, next to its spans", () =>
    Effect.gen(function*() {
      const leak = yield* expectLeak(Effect.gen(function*() {
        const jobs = yield* Chan.make<number>(0, { name: "jobs" })
        const sender = yield* Effect.forkDaemon(Effect.gen(function*() { // site: daemon-fork
          yield* Chan.send(jobs, 1) // site: daemon-send
        }).pipe(Effect.withSpan("forgottenSender")))
        yield* awaitSuspended(sender)
      }))
      const [fiber] = leak.leaked
      expect(fiber!.createdAt).toBe(at("daemon-fork"))
      expect(fiber!.blockedAt).toBe(at("daemon-send"))
      expect(leak.message).toBe([
        "found 1 leaked fiber(s):",
        `  fiber #${fiber!.id} [suspended: chan send, started by #${fiber!.parent}] in forgottenSender`,
        "      waits to send on `jobs`, which no other fiber has received from",
        `      created at ${at("daemon-fork")}, blocked at ${at("daemon-send")}`
      ].join("\n"))
    }))

  it.effect("a fork inside a helper function shows the helper's line", () =>
    Effect.gen(function*() {
      const leak = yield* expectLeak(Effect.gen(function*() {
        const jobs = yield* Chan.make<number>()
        yield* awaitSuspended(yield* startWorker(jobs))
      }))
      expect(leak.leaked.map((f) => [f.spans, f.createdAt])).toEqual([[["worker"], at("helper-fork")]])
    }))

  it.effect("a fiber forked inside leakproof's library code shows the user's line that called it", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make() // a scope nobody closes in time: Chan.or's watcher outlives the check
      const leak = yield* expectLeak(Effect.gen(function*() {
        const a = yield* Chan.make<never>()
        const b = yield* Chan.make<never>()
        yield* Chan.or(a, b).pipe(Scope.extend(scope)) // site: or-call
      }))
      expect(leak.leaked.map((f) => f.createdAt)).toEqual([at("or-call")])
      expect(leak.leaked[0]!.state).toBe("suspended: select")
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("a grandchild shows its own parent's line, not the check's", () =>
    Effect.gen(function*() {
      const leak = yield* expectLeak(Effect.gen(function*() {
        const child = yield* Effect.fork(Effect.gen(function*() {
          const ready = yield* Deferred.make<void>()
          yield* Effect.forkDaemon(Deferred.succeed(ready, undefined).pipe(Effect.zipRight(Effect.never))) // site: grandchild
          yield* Deferred.await(ready)
        }))
        yield* Fiber.join(child)
      }))
      expect(leak.leaked.map((f) => f.createdAt)).toEqual([at("grandchild")])
    }))

  it.live("a fiber started from plain JavaScript (runFork in a callback) shows the runFork line", () =>
    Effect.gen(function*() {
      const leak = yield* expectLeak(Effect.gen(function*() {
        const runtime = yield* Effect.runtime<never>()
        const started = yield* Deferred.make<void>()
        setTimeout(() => {
          Runtime.runFork(runtime)(Deferred.succeed(started, undefined).pipe(Effect.zipRight(Effect.never))) // site: run-fork
        }, 0)
        yield* Deferred.await(started)
      }))
      expect(leak.leaked.map((f) => [f.parent, f.createdAt])).toEqual([[undefined, at("run-fork")]])
    }))

  it.effect("sites: false records nothing (and the report still names the fiber)", () =>
    Effect.gen(function*() {
      const leak = yield* expectLeak(
        Effect.gen(function*() {
          const jobs = yield* Chan.make<number>()
          yield* awaitSuspended(yield* Effect.forkDaemon(Chan.send(jobs, 1)))
        }),
        { sites: false }
      )
      expect(leak.leaked.map((f) => [f.state, f.createdAt, f.blockedAt])).toEqual([["suspended: chan send", undefined, undefined]])
    }))

  it.effect("a deadlock report shows where each blocked fiber was created", () =>
    Effect.gen(function*() {
      const deadlock = yield* Effect.flip(LeakCheck.detectDeadlock(Effect.gen(function*() {
        const results = yield* Chan.make<number>(0, { name: "results" })
        const producer = yield* Effect.fork(Chan.send(results, 1).pipe(Effect.withSpan("producer"))) // site: producer-fork
        yield* Fiber.join(producer) // site: join
      }), { sites: true }))
      const producer = deadlock.fibers.find((f) => f.spans[0] === "producer")!
      const root = deadlock.fibers.find((f) => f.id !== producer.id)!
      expect(producer.createdAt).toBe(at("producer-fork"))
      expect(root.blockedAt).toBe(at("join"))
      expect(deadlock.message).toContain(`created at ${at("producer-fork")}`)
    }))

  // Unchecked: the test itself must run outside any check (the one `it` would wrap it in).
  it.effect("production pays nothing: outside a check, yield* runs Effect's own methods", () =>
    unchecked(Effect.gen(function*() {
      const proto = Object.getPrototypeOf(Effect.void) as Record<symbol, unknown>
      const original = proto[Symbol.iterator]
      let during: unknown
      yield* LeakCheck.verifyNone(Effect.sync(() => (during = proto[Symbol.iterator])), { sites: true })
      expect(during).not.toBe(original)
      expect(proto[Symbol.iterator]).toBe(original)
      let withoutSites: unknown
      yield* LeakCheck.verifyNone(Effect.sync(() => (withoutSites = proto[Symbol.iterator])), { sites: false })
      expect(withoutSites).toBe(original)
    })))
})
