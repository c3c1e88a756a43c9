import { describe, expect, it } from "../../src/vitest.js"
import { Duration, Either, FastCheck } from "effect"
import * as DurationArg from "../../src/domain/DurationArg.js"

describe("DurationArg", () => {
  it.each([
    ["500ms", 500],
    ["2s", 2000],
    ["1.5s", 1500],
    ["1m", 60_000],
    ["1m30s", 90_000],
    ["1h", 3_600_000],
    ["0s", 0],
    [" 250ms ", 250]
  ] as const)("parses %j as %i ms", (text, ms) => {
    expect(Either.map(DurationArg.parse(text), Duration.toMillis)).toEqual(Either.right(ms))
  })

  it.each(["", "5", "-1s", "abc", "1x", "s", "1s2", "1e3ms", "ms500"])("rejects %j with a one-line message", (text) => {
    const r = DurationArg.parse(text)
    expect(Either.isLeft(r)).toBe(true)
    if (Either.isLeft(r)) expect(r.left).toMatch(/^invalid duration '.*' \(expected e\.g\. 500ms, 2s, 1m, 1m30s\)$/)
  })

  it.prop("format then parse is the identity on whole milliseconds", [FastCheck.integer({ min: 0, max: 10_000_000 })], ([ms]) => {
    const back = DurationArg.parse(DurationArg.format(ms))
    expect(Either.map(back, (d) => Math.round(Duration.toMillis(d)))).toEqual(Either.right(ms))
  }, { fastCheck: { numRuns: 200 } })
})
