/**
 * `leakproof/vitest`: every Effect test checked by `LeakCheck.verifyNone` without wrapping it, with
 * a per-test opt-out and an ignore list (goleak's `VerifyTestMain` + `IgnoreTopFunction`). The
 * `.fails` tests are the proof that the check bites: they pass only if the test body fails.
 */
import { Clock, Effect, Layer, Context, FastCheck } from "effect"
import * as Chan from "../../src/domain/Chan.js"
import * as LeakCheck from "../../src/domain/LeakCheck.js"
import { checked, checkWith, describe, expect, it, layer, unchecked, withLeakCheck } from "../../src/vitest.js"

/** A fiber that outlives its test by 100 ms of real time, then ends by itself (no leak left behind). */
const straggler = (span: string) =>
  Effect.forkDaemon(Effect.sleep("100 millis").pipe(Effect.withClock(Clock.make()), Effect.withSpan(span)))

const expectChecked = Effect.asVoid(Effect.map(LeakCheck.isChecked, (checked) => expect(checked).toBe(true)))

describe("leakproof/vitest it: every Effect test is checked", () => {
  it.effect("a clean test passes, and runs inside a check", () =>
    Effect.gen(function*() {
      yield* expectChecked
      yield* Effect.fork(Effect.never) // a child: interrupted with the test's fiber, no leak
    }))

  it.effect.fails("a test that leaks a fiber fails with FiberLeak", () => checkWith({ within: "20 millis" }, straggler("leaky")))

  it.effect.fails("a test that deadlocks fails with Deadlock", () =>
    Effect.flatMap(Chan.make<number>(0, { name: "results" }), (results) => Chan.send(results, 1)))

  it.scoped("it.scoped: fibers forked into the test's scope end when it closes, inside the check", () =>
    Effect.gen(function*() {
      yield* expectChecked
      yield* Effect.forkScoped(Effect.never)
    }))

  it.scoped.fails("it.scoped: a daemon still fails the test", () => checkWith({ within: "20 millis" }, straggler("daemon")))

  it.live("it.live runs checked too", () => expectChecked)
  it.scopedLive("it.scopedLive runs checked too", () => Effect.zipRight(Effect.forkScoped(Effect.never), expectChecked))
  it.effect.each([1, 2, 3])("it.effect.each: case %i runs checked", () => expectChecked)
  it.effect.prop("it.effect.prop: every run is checked", [FastCheck.integer()], () => expectChecked, {
    fastCheck: { numRuns: 20 }
  })
})

describe("leakproof/vitest: opting out and ignoring", () => {
  it.effect("unchecked(body) opts one test out", () =>
    unchecked(Effect.gen(function*() {
      expect(yield* LeakCheck.isChecked).toBe(false)
      yield* straggler("allowed")
    })))

  it.effect("checkWith({ ignore: [{ span }] }) lets fibers with that span outlive the test", () =>
    checkWith({ ignore: [{ span: "metrics" }], within: "20 millis" }, Effect.asVoid(straggler("metrics"))))

  it.effect("checkWith({ ignore: [{ createdAt }] }) matches the line that forked it", () =>
    checkWith(
      { ignore: [{ createdAt: "LeakCheckVitest.test.ts" }], within: "20 millis", sites: true },
      Effect.gen(function*() {
        yield* straggler("anything") // sites come from yield* lines
      })
    ))

  it.effect("an ignore rule that does not match still fails the check", () =>
    Effect.gen(function*() {
      const leak = yield* Effect.flip(checked(straggler("other"), { ignore: [{ span: "metrics" }], within: "20 millis" }))
      expect((leak as LeakCheck.FiberLeak).leaked.map((f) => f.spans)).toEqual([["other"]])
    }).pipe(unchecked))

  const lenient = withLeakCheck({ ignore: [{ span: /^background/ }], within: "20 millis" })
  lenient.effect("withLeakCheck(defaults): a file-wide ignore list", () => Effect.asVoid(straggler("background-refresh")))
})

class Greeting extends Context.Tag("Greeting")<Greeting, string>() {}

layer(Layer.succeed(Greeting, "hello"))("leakproof/vitest layer(...): its it is checked too", (it) => {
  it.effect("a test using the layer's service runs checked", () =>
    Effect.gen(function*() {
      expect(yield* Greeting).toBe("hello")
      yield* expectChecked
    }))
  it.effect.fails("and a leak in it fails", () => checkWith({ within: "20 millis" }, straggler("in-layer")))
})
