/**
 * Durations as people type them on a command line, Go's `time.ParseDuration` subset:
 * `500ms`, `2s`, `1.5s`, `1m`, `1h`, and combinations (`1m30s`). A bare number is rejected
 * (`5` is ambiguous), as are negative or non-finite values.
 *
 * @since 0.1.0
 */
import { Duration, Either } from "effect"

const units: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }

const part = /(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)/y

/**
 * Go's `time.ParseDuration` for `ms`, `s`, `m`, `h`: `Right(duration)`, or `Left(message)` with a
 * one-line explanation fit for stderr. Pure; never throws.
 *
 * @since 0.1.0
 */
export const parse = (text: string): Either.Either<Duration.Duration, string> => {
  const input = text.trim()
  const bad = Either.left(`invalid duration '${text}' (expected e.g. 500ms, 2s, 1m, 1m30s)`)
  if (input.length === 0) return bad
  let millis = 0
  part.lastIndex = 0
  while (part.lastIndex < input.length) {
    const start = part.lastIndex
    const m = part.exec(input)
    if (m === null || m.index !== start) return bad
    millis += Number(m[1]) * units[m[2]!]!
  }
  if (!Number.isFinite(millis)) return bad
  return Either.right(Duration.millis(millis))
}

/**
 * Renders a duration the way `parse` reads it, like Go's `Duration.String` without zero parts:
 * `250ms`, `1.5s`, `1m30s`, `2h`. `parse(format(d))` gives back `d` (to the microsecond).
 * @since 0.1.0
 */
export const format = (d: Duration.DurationInput): string => {
  const total = Math.round(Duration.toMillis(d) * 1000) / 1000
  if (total < 1_000) return `${total}ms`
  const h = Math.floor(total / 3_600_000)
  const m = Math.floor((total % 3_600_000) / 60_000)
  const s = Math.round((total % 60_000)) / 1_000
  return `${h > 0 ? `${h}h` : ""}${m > 0 ? `${m}m` : ""}${s > 0 ? `${+s.toFixed(3)}s` : ""}`
}
