/**
 * Why the squaring pool (seed 001 `ProcessNumbers`) rejects a number. Results are JavaScript
 * numbers, so a square must stay exact: inputs above 94,906,265 (whose square passes
 * `Number.MAX_SAFE_INTEGER`) fail with `SquareTooLarge` rather than lose precision silently (Go's
 * `int` would wrap around instead).
 *
 * @since 0.1.0
 */
import { Data, Effect } from "effect"

/** The largest integer whose square is still a safe integer. @since 0.1.0 */
export const maxSquarable = 94_906_265

/** @since 0.1.0 */
export class BadNumber extends Data.TaggedError("BadNumber")<{
  readonly reason: "Negative" | "NotSafeInteger" | "SquareTooLarge"
  readonly value: number
  /** Position in the input, from 0. */
  readonly index: number
}> {
  override get message(): string {
    switch (this.reason) {
      case "Negative":
        return `negative number ${this.value} at position ${this.index}`
      case "NotSafeInteger":
        return `not a safe integer: ${this.value} at position ${this.index}`
      case "SquareTooLarge":
        return `square of ${this.value} at position ${this.index} is larger than Number.MAX_SAFE_INTEGER`
    }
  }
}

/**
 * Seed 001's job: `n*n` for `n >= 0`, a `BadNumber` otherwise.
 * @since 0.1.0
 */
export const square = (value: number, index: number): Effect.Effect<number, BadNumber> =>
  !Number.isSafeInteger(value)
    ? Effect.fail(new BadNumber({ reason: "NotSafeInteger", value, index }))
    : value < 0
    ? Effect.fail(new BadNumber({ reason: "Negative", value, index }))
    : value > maxSquarable
    ? Effect.fail(new BadNumber({ reason: "SquareTooLarge", value, index }))
    : Effect.succeed(value * value)
