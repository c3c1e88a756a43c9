import { Effect, Fiber } from "effect"
import { Chan } from "../../src/index.js"
import { it } from "../../src/vitest.js"

it.effect.fails("a consumer that stops early without cancelling", () =>
  Effect.gen(function*() {
    const jobs = yield* Chan.make<number>(0, { name: "jobs" })
    const results = yield* Chan.make<number>(0, { name: "results" })
    yield* Effect.fork(Chan.sendAll(jobs, [1, 2, 3, 4, 5, 6]).pipe(Effect.withSpan("generate")))
    const square = yield* Effect.fork(
      Chan.forEach(jobs, (n) => Chan.send(results, n * n)).pipe(Effect.withSpan("square"))
    )
    for (let i = 0; i < 2; i++) yield* Chan.receive(results) // wants only two
    yield* Fiber.join(square) // bug: waits for the stage instead of cancelling it
  }).pipe(Effect.withSpan("consume")))

// The README example in its LeakCheck section (its output there is this file's, line numbers included).
