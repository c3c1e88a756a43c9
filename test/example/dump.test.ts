import { Effect, Exit, Fiber, Scope } from "effect"
import { writeFileSync } from "node:fs"
import { Chan, LeakCheck } from "../../src/index.js"
import { it } from "../../src/vitest.js"
import { awaitSuspended } from "../support/fibers.js"

it.effect("dump", () =>
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
    console.log(LeakCheck.formatDump(dump, "text"))
    writeFileSync(".scratch/dump.html", LeakCheck.formatDump(dump, "html"))
    yield* Scope.close(scope, Exit.void)
  }))
