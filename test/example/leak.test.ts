import { Effect } from "effect"
import { Chan } from "../../src/index.js"
import { it } from "../../src/vitest.js"

const fetchAll = (urls: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const out = yield* Chan.make<string>(0, { name: "results" })
    for (const url of urls) {
      yield* Effect.forkDaemon(Chan.send(out, `body of ${url}`).pipe(Effect.withSpan("fetcher")))
    }
    return out
  })

it.effect.fails("forgotten sender: take the first result, forget the rest", () =>
  Effect.gen(function*() {
    const results = yield* fetchAll(["a", "b", "c"])
    yield* Chan.receive(results)
  }))

// The README example in its LeakCheck section (its output there is this file's, line numbers included).
