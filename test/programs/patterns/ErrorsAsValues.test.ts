import { describe, expect, it } from "../../../src/vitest.js"
import { Effect, Either, TestClock } from "effect"
import { CheckError, errorsAsValues } from "../../../src/programs/patterns/ErrorsAsValues.js"
import { runVirtual, withLeakReport } from "../../support/virtual.js"

describe("errors as values (seed 002)", () => {
  it.effect("results are paired with typed errors; after 3 errors the consumer breaks and the producer is interrupted", () =>
    Effect.gen(function*() {
      const r = yield* runVirtual(errorsAsValues())
      expect(r.results.map(Either.isLeft)).toEqual([true, false, true, true])
      expect(r.results[0]).toEqual(Either.left(new CheckError({ reason: "UnsupportedScheme", url: "a" })))
      expect(r.errors).toBe(3)
      expect(r.checked).not.toContain("d")
      expect(r.producerInterrupted).toBe(true)
      expect(r.events.map((e) => e.text)).toEqual([
        "error: Get \"a\": unsupported protocol scheme \"\"",
        "Response: 200 OK",
        "error: Get \"b\": unsupported protocol scheme \"\"",
        "error: Get \"c\": unsupported protocol scheme \"\"",
        "Too many errors, breaking!"
      ])
    }))

  it.effect("with fewer errors than the limit every URL is checked and the channel is closed", () =>
    Effect.gen(function*() {
      const r = yield* runVirtual(errorsAsValues({ urls: ["http://x", "y", "https://z"] }))
      expect(r.errors).toBe(1)
      expect(r.checked).toEqual(["http://x", "y", "https://z"])
      expect(r.producerInterrupted).toBe(false)
    }))

  it.effect("leaky: the seed's bare send blocks the producer forever once the consumer broke out", () =>
    Effect.gen(function*() {
      const { value: r, leak } = yield* withLeakReport(
        // let the producer finish checking "d" (virtual time): then it is parked on the send for good
        runVirtual(errorsAsValues({ leaky: true })).pipe(Effect.tap(() => TestClock.adjust("1 second")))
      )
      expect(r.errors).toBe(3)
      expect(r.producerInterrupted).toBe(false)
      expect(r.leftBehind).toBe(1)
      expect(leak?.leaked.map((f) => f.state)).toEqual(["suspended: chan send"])
      expect(r.checked).not.toContain("d") // when the consumer left; "d" was then checked and never read
    }))
})
