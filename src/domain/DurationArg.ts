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
 * Renders a duration the way `parse` reads it (`1.5s`, `250ms`, `2m`), for messages and reports.
 * @since 0.1.0
 */
export const format = (d: Duration.DurationInput): string => {
  const ms = Duration.toMillis(d)
  if (ms < 1_000) return `${+ms.toFixed(3)}ms`
  if (ms < 60_000) return `${+(ms / 1_000).toFixed(3)}s`
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(3)}m`
  return `${+(ms / 3_600_000).toFixed(3)}h`
}
