/**
 * What fetching one URL produces: `Fetched` or a `FetchError`, both naming their URL. This replaces
 * the seeds' `Result{Body, Err}` struct: a single fetch fails in the error channel with a
 * `FetchError`; a stream of many fetches carries each outcome as a value, so one URL's failure
 * never stops the others.
 *
 * @since 0.1.0
 */
import { Data, Duration, Either } from "effect"

/**
 * A successful fetch (a 2xx response whose whole body was read, within the size limit).
 * @since 0.1.0
 */
export class Fetched extends Data.TaggedClass("Fetched")<{
  readonly url: string
  readonly status: number
  readonly body: Uint8Array
  readonly durationMs: number
  readonly attempts: number
}> {}

/**
 * Why a URL could not be fetched.
 * - `InvalidUrl`: not an absolute http(s) URL (never sent);
 * - `Transport`: connection refused or reset, DNS failure, a socket closed mid-body;
 * - `Status`: the final response was not 2xx (`status` says which; 3xx after too many redirects);
 * - `Timeout`: the per-request timeout elapsed (headers and body together);
 * - `BodyTooLarge`: the body passed `maxBodyBytes`; reading stopped there and the connection closed.
 *
 * @since 0.1.0
 */
export class FetchError extends Data.TaggedError("FetchError")<{
  readonly url: string
  readonly reason: "InvalidUrl" | "Transport" | "Status" | "Timeout" | "BodyTooLarge"
  readonly detail: string
  readonly status?: number
  readonly attempts: number
}> {
  override get message(): string {
    return `${this.reason}: ${this.detail} (${this.url})`
  }
}

/**
 * One URL's outcome in a stream of many.
 * @since 0.1.0
 */
export type FetchOutcome = Fetched | FetchError

/**
 * Whether a failure is worth another try: transport errors, timeouts, 5xx and 429. Never a 4xx,
 * an invalid URL or an oversized body (the same request gives the same answer).
 *
 * @since 0.1.0
 */
export const isTransient = (e: FetchError): boolean =>
  e.reason === "Transport" || e.reason === "Timeout" ||
  (e.reason === "Status" && e.status !== undefined && (e.status >= 500 || e.status === 429))

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/**
 * How a batch of URLs is fetched. Every field has a default (`FetchOptions.defaults`).
 * @since 0.1.0
 */
export interface FetchOptions {
  /** At most this many requests in flight (default 8). */
  readonly concurrency: number
  /** Per request, headers and body together, each attempt (default 10 s). */
  readonly timeout: Duration.Duration
  /** For the whole batch; what has not completed by then is cancelled (default: none). */
  readonly deadline: Duration.Duration | undefined
  /** Extra attempts for transient failures, with exponential backoff and jitter (default 2: three tries). */
  readonly retries: number
  /** First backoff delay; doubles each retry (default 100 ms). */
  readonly retryBase: Duration.Duration
  /** A larger body is cut off and reported as `BodyTooLarge`, never buffered whole (default 10 MiB). */
  readonly maxBodyBytes: number
  /** Redirects followed before a 3xx is reported as a `Status` error (default 5). */
  readonly maxRedirects: number
  readonly userAgent: string
}

/** @since 0.1.0 */
export const defaults: FetchOptions = {
  concurrency: 8,
  timeout: Duration.seconds(10),
  deadline: undefined,
  retries: 2,
  retryBase: Duration.millis(100),
  maxBodyBytes: 10 * 1024 * 1024,
  maxRedirects: 5,
  userAgent: "leakproof/0.1"
}

/**
 * What callers pass: any subset of `FetchOptions`, durations in any `Duration.DurationInput` form
 * (`"2 seconds"`, `Duration.millis(500)`, a number of milliseconds).
 * @since 0.1.0
 */
export type FetchOptionsInput = {
  readonly [K in keyof FetchOptions]?: FetchOptions[K] extends Duration.Duration | undefined
    ? Duration.DurationInput | undefined
    : FetchOptions[K]
}

/**
 * An option value out of range. Reported before any request is made.
 * @since 0.1.0
 */
export class InvalidFetchOptions extends Data.TaggedError("InvalidFetchOptions")<{
  readonly option: string
  readonly detail: string
}> {
  override get message(): string {
    return `invalid --${this.option}: ${this.detail}`
  }
}

const positiveInt = (option: string, n: number, min: number): Either.Either<number, InvalidFetchOptions> =>
  Number.isSafeInteger(n) && n >= min
    ? Either.right(n)
    : Either.left(new InvalidFetchOptions({ option, detail: `expected an integer >= ${min}, got ${n}` }))

const positiveDuration = (
  option: string,
  input: Duration.DurationInput
): Either.Either<Duration.Duration, InvalidFetchOptions> => {
  const d = Duration.decodeUnknown(input)
  return d._tag === "Some" && Duration.toMillis(d.value) > 0
    ? Either.right(d.value)
    : Either.left(new InvalidFetchOptions({ option, detail: "expected a duration > 0" }))
}

/**
 * Fills in defaults and checks every value: `Right(options)` or the first bad option.
 * @since 0.1.0
 */
export const makeOptions = (input: FetchOptionsInput = {}): Either.Either<FetchOptions, InvalidFetchOptions> =>
  Either.gen(function*() {
    const o = { ...defaults, ...input }
    return {
      concurrency: yield* positiveInt("concurrency", o.concurrency, 1),
      retries: yield* positiveInt("retries", o.retries, 0),
      maxBodyBytes: yield* positiveInt("max-body", o.maxBodyBytes, 1),
      maxRedirects: yield* positiveInt("max-redirects", o.maxRedirects, 0),
      timeout: yield* positiveDuration("timeout", o.timeout ?? defaults.timeout),
      retryBase: yield* positiveDuration("retry-base", o.retryBase ?? defaults.retryBase),
      deadline: o.deadline === undefined ? undefined : yield* positiveDuration("deadline", o.deadline),
      userAgent: o.userAgent
    }
  })

// ---------------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------------

/**
 * What a batch came to (seed 001's metrics extension): counts, average and max duration, and the
 * slowest URL. `cancelled` counts URLs that never produced an outcome (deadline, `--take`, Ctrl-C).
 *
 * @since 0.1.0
 */
export interface Summary {
  readonly total: number
  readonly succeeded: number
  readonly failed: number
  readonly cancelled: number
  readonly averageMs: number
  readonly maxMs: number
  readonly slowest: string | undefined
  readonly failures: Readonly<Record<string, number>>
}

/**
 * Folds the outcomes that were delivered into a `Summary` for a batch of `total` URLs.
 * @since 0.1.0
 */
export const summarize = (total: number, outcomes: ReadonlyArray<FetchOutcome>): Summary => {
  let succeeded = 0
  let sumMs = 0
  let maxMs = 0
  let slowest: string | undefined
  const failures: Record<string, number> = {}
  for (const o of outcomes) {
    if (o._tag === "Fetched") {
      succeeded++
      sumMs += o.durationMs
      if (slowest === undefined || o.durationMs > maxMs) {
        maxMs = o.durationMs
        slowest = o.url
      }
    } else {
      failures[o.reason] = (failures[o.reason] ?? 0) + 1
    }
  }
  return {
    total,
    succeeded,
    failed: outcomes.length - succeeded,
    cancelled: Math.max(0, total - outcomes.length),
    averageMs: succeeded === 0 ? 0 : sumMs / succeeded,
    maxMs,
    slowest,
    failures
  }
}
