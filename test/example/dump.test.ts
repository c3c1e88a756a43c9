import { Effect, Exit, Fiber, Scope } from "effect"
import { Chan, LeakCheck } from "../../src/index.js"
import { expect, it } from "../../src/vitest.js"
import { awaitSuspended } from "../support/fibers.js"

it.effect("10,000 leaked handlers are one line of the grouped dump", () =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const responses = yield* Chan.make<string>()
    const handler = (i: number) =>
      Chan.send(responses, `response ${i}`).pipe(Effect.withSpan("handler"), Effect.withSpan("http.server GET"))
    let last: Fiber.RuntimeFiber<void> | undefined
    for (let i = 0; i < 10_000; i++) last = yield* Effect.forkIn(handler(i), scope)
    const ticker = yield* Effect.forkIn(Effect.never.pipe(Effect.withSpan("metrics.flush")), scope)
    yield* awaitSuspended(last!)
    yield* awaitSuspended(ticker)
    const dump = yield* LeakCheck.dumpFibersGrouped
    expect(LeakCheck.formatDump(dump, "text")).toContain("10000 x [suspended: chan send] in handler < http.server GET")
    yield* Scope.close(scope, Exit.void)
  }))

// The README example in its LeakCheck section (its output there is this file's, line numbers included).
