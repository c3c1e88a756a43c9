/**
 * The fetch job's wire protocol for scale-out: a job is cut into batches of URLs, each batch is one
 * persisted message to one `FetchBatch` entity on some runner, and the reply carries one small
 * outcome per URL (what the CLI prints: status, byte count, duration, attempts or error reason and
 * detail), never a body: runners fetch with `body: "discard"`, as the local CLI does.
 *
 * Why batches: a cluster message costs ~15-20 ms of CPU (client + runner + PostgreSQL) whatever it
 * carries, a fetch on undici's dispatcher ~0.1 ms: with one message per 100 URLs the cluster costs
 * more than the fetching, with one per 500 (the CLI's default) about a tenth of it (README,
 * "Scale-out").
 *
 * Identity: the message's primary key is `job/batch#generation`, where `job` is the batch's key
 * (`FetchClusterClient.jobKeys`: a hash of the options and the URLs so far, namespaced by `--job NAME`
 * when given), so a resubmitted job is answered from storage and does no work twice, and a job
 * name reused for other URLs is new work. The reply carries the digest of the URLs it answers
 * (`urlsDigest`), checked by the client. A stored reply is final, with one exception the
 * client handles: a batch that an earlier run cancelled (Ctrl-C, `--take`, a deadline) is asked
 * again under the next generation, because "cancelled" was that run's decision, not the URL's
 * outcome.
 *
 * @since 0.1.0
 */
import * as ClusterSchema from "@effect/cluster/ClusterSchema"
import * as Entity from "@effect/cluster/Entity"
import * as Rpc from "@effect/rpc/Rpc"
import { Duration, Schema } from "effect"
import { createHash } from "node:crypto"
import type { FetchErrorReason, FetchOptions, FetchOutcome } from "./FetchOutcome.js"
import { Fetched, FetchError } from "./FetchOutcome.js"

// ---------------------------------------------------------------------------------------------
// Options on the wire (durations as milliseconds; the deadline as an absolute time)
// ---------------------------------------------------------------------------------------------

/**
 * `FetchOptions` as plain numbers (Go: the options struct a job-queue message carries). `deadlineAt` is the batch's absolute deadline (ms since the
 * epoch, the client's clock): a runner that starts a batch late gives it only the time left.
 * @since 0.1.0
 */
export const WireOptions = Schema.Struct({
  concurrency: Schema.Int,
  timeoutMs: Schema.Number,
  retries: Schema.Int,
  retryBaseMs: Schema.Number,
  maxBodyBytes: Schema.Int,
  maxRedirects: Schema.Int,
  userAgent: Schema.String,
  deadlineAt: Schema.optional(Schema.Number)
})

/** @since 0.1.0 */
export type WireOptions = typeof WireOptions.Type

/**
 * Validated options to the wire; `deadlineAt` is `now + deadline` when the batch has one.
 * @since 0.1.0
 */
export const toWireOptions = (o: FetchOptions, now: number): WireOptions => ({
  concurrency: o.concurrency,
  timeoutMs: Duration.toMillis(o.timeout),
  retries: o.retries,
  retryBaseMs: Duration.toMillis(o.retryBase),
  maxBodyBytes: o.maxBodyBytes,
  maxRedirects: o.maxRedirects,
  userAgent: o.userAgent,
  ...(o.deadline === undefined ? {} : { deadlineAt: now + Duration.toMillis(o.deadline) })
})

// ---------------------------------------------------------------------------------------------
// Outcomes on the wire: the URL is the batch's `i`-th, so it is not repeated
// ---------------------------------------------------------------------------------------------

/**
 * Every `FetchErrorReason`, as the wire's literal. The check below fails to compile when
 * `FetchOutcome` gains a reason this list lacks: a runner could not otherwise send it back.
 * @since 0.1.0
 */
export const reasons = [
  "InvalidUrl",
  "Transport",
  "Status",
  "Timeout",
  "BodyTooLarge",
  "InvalidRedirect",
  "Output",
  "Internal"
] as const satisfies ReadonlyArray<FetchErrorReason>
const everyReason: [Exclude<FetchErrorReason, typeof reasons[number]>] extends [never] ? true : never = true
void everyReason

/**
 * One URL's outcome as the runner sends it back (Go: a `Result` struct without the body): `i` is the
 * URL's index in its batch.
 * @since 0.1.0
 */
export const WireOutcome = Schema.Union(
  Schema.TaggedStruct("Fetched", {
    i: Schema.Int,
    status: Schema.Int,
    bytes: Schema.Int,
    durationMs: Schema.Number,
    attempts: Schema.Int
  }),
  Schema.TaggedStruct("FetchError", {
    i: Schema.Int,
    reason: Schema.Literal(...reasons),
    detail: Schema.String,
    status: Schema.optional(Schema.Int),
    attempts: Schema.Int
  })
)

/** @since 0.1.0 */
export type WireOutcome = typeof WireOutcome.Type

/**
 * The outcome of `urls[i]` for the wire: no body, only what is printed.
 * @since 0.1.0
 */
export const toWire = (i: number, o: FetchOutcome): WireOutcome =>
  o._tag === "Fetched"
    ? { _tag: "Fetched", i, status: o.status, bytes: o.bytes, durationMs: o.durationMs, attempts: o.attempts }
    : {
      _tag: "FetchError",
      i,
      reason: o.reason,
      detail: o.detail,
      ...(o.status === undefined ? {} : { status: o.status }),
      attempts: o.attempts
    }

const EMPTY = new Uint8Array(0)

/**
 * Back to a `FetchOutcome` for `url`. A `Fetched` is what `body: "discard"` gives locally: `bytes`
 * is the body's length, `body` is empty (the bytes stayed on the runner); everything else is
 * exactly what the runner's `UrlFetcher` produced.
 * @since 0.1.0
 */
export const fromWire = (url: string, w: WireOutcome): FetchOutcome =>
  w._tag === "Fetched"
    ? new Fetched({ url, status: w.status, body: EMPTY, bytes: w.bytes, durationMs: w.durationMs, attempts: w.attempts })
    : new FetchError({
      url,
      reason: w.reason,
      detail: w.detail,
      ...(w.status === undefined ? {} : { status: w.status }),
      attempts: w.attempts
    })

// ---------------------------------------------------------------------------------------------
// The entity
// ---------------------------------------------------------------------------------------------

/**
 * What a batch came to. `run` echoes the request's run id, so a client can tell a reply stored by
 * an earlier run of the same job; `outcomes` are in completion order; URLs without an outcome were
 * cut off by the deadline; `runner` is the runner that did the work.
 * @since 0.1.0
 */
export class BatchReply extends Schema.Class<BatchReply>("leakproof/BatchReply")({
  run: Schema.String,
  runner: Schema.String,
  outcomes: Schema.Array(WireOutcome),
  /** How many URLs the runner was given. Optional only so replies stored before it still decode. */
  count: Schema.optional(Schema.Int),
  /** `urlsDigest` of the URLs the runner was given: the client refuses a reply for other URLs. */
  digest: Schema.optional(Schema.String)
}) {}

/**
 * The identity of a batch's URLs (Go analogue: a content hash), in order, length-prefixed so that
 * `["ab"]` and `["a", "b"]` differ whatever a URL contains. A runner puts it in its reply; the
 * client compares it with its own batch before printing anything, so an outcome is never printed
 * under another URL, whatever the storage holds under the batch's key.
 * @since 0.1.0
 */
export const urlsDigest = (urls: ReadonlyArray<string>): string => {
  const h = createHash("sha256")
  for (const url of urls) h.update(`${url.length}:${url}`)
  return h.digest("hex").slice(0, 32)
}

/**
 * The options a runner received could not be used (a client of another version). A typed failure
 * is stored as the batch's final reply, which is right here: the same request gives the same answer.
 * @since 0.1.0
 */
export class InvalidBatch extends Schema.TaggedError<InvalidBatch>()("InvalidBatch", {
  detail: Schema.String
}) {
  override get message(): string {
    return `invalid batch: ${this.detail}`
  }
}

/**
 * The batch request's fields: `job` names the job (resubmitting it reuses stored replies), `batch`
 * is the index of this batch in the job, `generation` is bumped when an earlier run cancelled the
 * batch, and `run` identifies the client run (not part of the key).
 * @since 0.1.0
 */
export const BatchRequest = {
  job: Schema.String,
  batch: Schema.Int,
  generation: Schema.Int,
  run: Schema.String,
  urls: Schema.Array(Schema.String),
  options: WireOptions
}

/**
 * The primary key of a batch request: one stored request and reply per job, batch and generation.
 * @since 0.1.0
 */
export const primaryKey = (r: { readonly job: string; readonly batch: number; readonly generation: number }): string =>
  `${r.job}/${r.batch}#${r.generation}`

/**
 * The entity id of a batch: one entity per batch spreads a job over every shard (and so every
 * runner); the id stays the same across generations.
 * @since 0.1.0
 */
export const entityId = (job: string, batch: number): string => `${job}/${batch}`

/**
 * `Fetch`: fetch a batch of URLs with `UrlFetcher` on a runner. Persisted: the client stores the
 * request before sending it, so a runner that dies loses nothing (another runner redoes the batch:
 * at-least-once), and a resubmitted primary key gets the stored reply.
 * @since 0.1.0
 */
export const FetchRpc = Rpc.make("Fetch", {
  payload: BatchRequest,
  success: BatchReply,
  error: InvalidBatch,
  primaryKey
}).annotate(ClusterSchema.Persisted, true)

/**
 * `Ping`: answered at once with the runner's name. Not persisted, on purpose: the cluster sends a
 * message that is not persisted only once it knows which runner owns the entity's shard (it
 * retries until then), whereas a persisted message sent earlier is only stored, and the runner
 * finds it at its next storage poll, seconds later. A client pings once before its first batch
 * (Go analogue: waiting for a connection pool to be ready before the first request).
 * @since 0.1.0
 */
export const PingRpc = Rpc.make("Ping", { success: Schema.String })

/**
 * The cluster entity type for fetch batches (Go analogue: a worker behind a durable queue).
 * @since 0.1.0
 */
export const FetchBatch = Entity.make("leakproof/FetchBatch", [FetchRpc, PingRpc])
