import { describe, expect, it } from "../../../src/vitest.js"
import { Effect } from "effect"
import { doneChannel } from "../../../src/programs/patterns/DoneChannel.js"
import { runVirtual, withLeakReport } from "../../support/virtual.js"

describe("done-channel (seed 002)", () => {
  it.effect("a worker reading a nil channel stops when the parent closes done after 1 s", () =>
    Effect.gen(function*() {
      const r = yield* runVirtual(doneChannel())
      expect(r.workerExited).toBe(true)
      expect(r.events.map((e) => [e.at, e.text])).toEqual([
        [1000, "Canceling doWork goroutine after 1s..."],
        [1000, "doWork exited."],
        [1000, "Done."]
      ])
      expect(r.leftBehind).toBe(0)
    }))

  it.effect("leaky: doWork(nil) blocks forever on range strings", () =>
    Effect.gen(function*() {
      const { value: r, leak } = yield* withLeakReport(runVirtual(doneChannel({ leaky: true })))
      expect(r.workerExited).toBe(false)
      expect(r.leftBehind).toBe(1)
      expect(leak?.leaked.map((f) => f.state)).toEqual(["suspended: chan (nil)"])
    }))
})
