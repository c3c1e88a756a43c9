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
 * A successful fetch (a 2xx response whose whole body was read, within the size limit). Where the
 * body went depends on the `body` option: in `body` (`"memory"`, the default), counted only
 * (`"discard"`: `body` is empty), or streamed to `file` (`{ dir }`: `body` is empty). `bytes` is
 * always the body's length. Like Node's own small `Buffer`s, a body under 4 KiB may be a view into
 * a shared slab: read it through `body` (its `byteOffset`/`byteLength`), not through
 * `body.buffer`, and copy it (`body.slice()`) before transferring it to a worker.
 * @since 0.1.0
 */
export class Fetched extends Data.TaggedClass("Fetched")<{
  readonly url: string
  readonly status: number
  readonly body: Uint8Array
  readonly bytes: number
  /** The file the body was written to (`body: { dir }` only). */
  readonly file?: string
  readonly durationMs: number
  readonly attempts: number
}> {}

/**
 * Why a URL could not be fetched.
 * - `InvalidUrl`: not an absolute http(s) URL (never sent);
 * - `Transport`: connection refused or reset, DNS failure, a socket closed mid-body;
 * - `Status`: the final response was not 2xx (`status` says which; 3xx after too many redirects);
 * - `Timeout`: the per-request timeout elapsed (headers and body together);
 * - `BodyTooLarge`: the body passed `maxBodyBytes`; reading stopped there and the connection closed;
 * - `InvalidRedirect`: a redirect's `Location` is not a valid http(s) URL (`http://[::1:bad`);
 * - `Output`: the body could not be written to its file (`body: { dir }`);
 * - `Internal`: an exception while handling this URL that none of the above explains (a bug in
 *   leakproof or in the transport): reported as this URL's failure, never retried, never the batch's.
 *
 * Only `Transport`, `Timeout`, 5xx and 429 are retried (`isTransient`).
 *
 * @since 0.1.0
 */
export class FetchError extends Data.TaggedError("FetchError")<{
  readonly url: string
  readonly reason: FetchErrorReason
  readonly detail: string
  readonly status?: number
  readonly attempts: number
}> {
  override get message(): string {
    return `${this.reason}: ${this.detail} (${this.url})`
  }
}

/**
 * Why a URL could not be fetched (see `FetchError`).
 * @since 0.1.0
 */
export type FetchErrorReason =
  | "InvalidUrl"
  | "Transport"
  | "Status"
  | "Timeout"
  | "BodyTooLarge"
  | "InvalidRedirect"
  | "Output"
  | "Internal"

/**
 * One URL's outcome in a stream of many.
 * @since 0.1.0
 */
export type FetchOutcome = Fetched | FetchError

/**
 * Whether a failure is worth another try: transport errors, timeouts, 500-599 and 429. Never a 4xx,
 * a status outside 100-599, an invalid URL or redirect, an oversized body (the same request gives
 * the same answer), an output or internal error.
 *
 * @since 0.1.0
 */
export const isTransient = (e: FetchError): boolean =>
  e.reason === "Transport" || e.reason === "Timeout" ||
  (e.reason === "Status" && e.status !== undefined && ((e.status >= 500 && e.status <= 599) || e.status === 429))

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
  /** Where a 2xx body goes (default `"memory"`); see `BodyMode`. */
  readonly body: BodyMode
}

/**
 * Where a successful response's body goes:
 * - `"memory"`: read whole into `Fetched.body` (capped at `maxBodyBytes`);
 * - `"discard"`: counted (`Fetched.bytes`) and dropped as it arrives: memory stays flat;
 * - `{ dir }`: streamed to a file in `dir` as it arrives, never buffered whole; the socket is paused
 *   while the disk is behind. The file name is derived from the URL (`BodyFile.nameFor`); the
 *   body is written to `<name>.part-*` and renamed to `<name>` only once complete, so a failed or
 *   cancelled fetch leaves no file (only a killed process can leave a `*.part-*` file). `dir` is
 *   created if missing.
 * @since 0.1.0
 */
export type BodyMode = "memory" | "discard" | { readonly dir: string }

/** @since 0.1.0 */
export const defaults: FetchOptions = {
  concurrency: 8,
  timeout: Duration.seconds(10),
  deadline: undefined,
  retries: 2,
  retryBase: Duration.millis(100),
  maxBodyBytes: 10 * 1024 * 1024,
  maxRedirects: 5,
  userAgent: "leakproof/0.1",
  body: "memory"
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
      userAgent: o.userAgent,
      body: yield* bodyMode(o.body)
    }
  })

const bodyMode = (mode: BodyMode | undefined): Either.Either<BodyMode, InvalidFetchOptions> => {
  if (mode === undefined) return Either.right(defaults.body)
  if (mode === "memory" || mode === "discard") return Either.right(mode)
  if (typeof mode === "object" && mode !== null && typeof mode.dir === "string" && mode.dir.length > 0) {
    return Either.right({ dir: mode.dir })
  }
  return Either.left(new InvalidFetchOptions({ option: "output", detail: "expected \"memory\", \"discard\" or { dir }" }))
}

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
 * A `Summary` built incrementally from counters, so a batch of any size costs constant memory:
 * `add` each outcome as it is delivered (then drop it), `summary(total)` at any point (also from an
 * interruption handler, for "so far"). Not a fiber-safe object: one consumer adds.
 * @since 0.1.0
 */
export class SummaryBuilder {
  /** Outcomes added so far. */
  delivered = 0
  /** URLs seen so far (pulled from the source), for a total that is not known up front. */
  seen = 0
  succeeded = 0
  private sumMs = 0
  private maxMs = 0
  private slowest: string | undefined = undefined
  private readonly failures: Record<string, number> = {}

  add(o: FetchOutcome): void {
    this.delivered++
    if (o._tag === "Fetched") {
      this.succeeded++
      this.sumMs += o.durationMs
      if (this.slowest === undefined || o.durationMs > this.maxMs) {
        this.maxMs = o.durationMs
        this.slowest = o.url
      }
    } else {
      this.failures[o.reason] = (this.failures[o.reason] ?? 0) + 1
    }
  }

  /**
   * The summary for a batch of `total` URLs (default: the URLs seen); those without an outcome
   * count as cancelled.
   */
  summary(total: number = this.seen): Summary {
    return {
      total: Math.max(total, this.delivered),
      succeeded: this.succeeded,
      failed: this.delivered - this.succeeded,
      cancelled: Math.max(0, total - this.delivered),
      averageMs: this.succeeded === 0 ? 0 : this.sumMs / this.succeeded,
      maxMs: this.maxMs,
      slowest: this.slowest,
      failures: { ...this.failures }
    }
  }
}

/**
 * Folds the outcomes that were delivered into a `Summary` for a batch of `total` URLs.
 * @since 0.1.0
 */
export const summarize = (total: number, outcomes: Iterable<FetchOutcome>): Summary => {
  const b = new SummaryBuilder()
  for (const o of outcomes) b.add(o)
  return b.summary(total)
}
