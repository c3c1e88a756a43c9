/**
 * How the fetch commands print: one line per outcome (a table row on a terminal, NDJSON when piped
 * or asked for), a progress line on stderr when it is a terminal, and a summary.
 */
import { Effect } from "effect"
import type { FetchOutcome, Summary } from "../domain/FetchOutcome.js"
import * as Stdio from "./Stdio.js"

export type Format = "table" | "ndjson"

/** Table on a terminal, NDJSON otherwise, unless `--format` says. */
export const resolveFormat = (format: Format | undefined): Format =>
  format ?? (Stdio.stdout().isTTY ? "table" : "ndjson")

const size = (bytes: number): string =>
  bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`

/** One outcome as a JSON object with a `url` field (`jq`-friendly). */
export const toJson = (o: FetchOutcome): Record<string, unknown> =>
  o._tag === "Fetched"
    ? {
      url: o.url,
      ok: true,
      status: o.status,
      bytes: o.bytes,
      ...(o.file === undefined ? {} : { file: o.file }),
      ms: Math.round(o.durationMs),
      attempts: o.attempts
    }
    : {
      url: o.url,
      ok: false,
      error: o.reason,
      message: o.message,
      ...(o.status === undefined ? {} : { status: o.status }),
      attempts: o.attempts
    }

export const formatOutcome = (o: FetchOutcome, format: Format): string => {
  if (format === "ndjson") return JSON.stringify(toJson(o))
  return o._tag === "Fetched"
    ? `${String(o.status).padStart(4)}  ${size(o.bytes).padStart(9)}  ${`${Math.round(o.durationMs)}ms`.padStart(7)}  ${o.url}${
      o.file === undefined ? "" : `  -> ${o.file}`
    }`
    : ` ERR  ${o.reason.padEnd(12)} ${o.detail}  ${o.url}`
}

export const formatSummary = (s: Summary): string => {
  const failures = Object.entries(s.failures).map(([reason, n]) => `${reason} ${n}`).join(", ")
  return [
    `summary: ${s.total} URLs: ${s.succeeded} succeeded, ${s.failed} failed${failures ? ` (${failures})` : ""}, ${s.cancelled} cancelled`,
    `         average ${Math.round(s.averageMs)}ms, max ${Math.round(s.maxMs)}ms${s.slowest ? ` (slowest: ${s.slowest})` : ""}`
  ].join("\n")
}

/**
 * Prints each outcome as it arrives (and a progress line on a terminal's stderr). Printing waits
 * while stdout's reader is behind, so a slow reader holds the producers back.
 */
export const printer = (total: number | undefined, format: Format) => {
  let done = 0
  let failed = 0
  const progress = Stdio.stderr().isTTY
  return (o: FetchOutcome): Effect.Effect<void> =>
    Effect.gen(function*() {
      done++
      if (o._tag === "FetchError") failed++
      if (progress) yield* Stdio.stderr().write("\r\u001b[2K")
      yield* Stdio.out(formatOutcome(o, format))
      if (progress) yield* Stdio.stderr().write(`[${done}${total === undefined ? "" : `/${total}`}] ${done - failed} ok, ${failed} failed`)
    })
}

/** Ends a progress line so the next output starts on a fresh line. */
export const endProgress: Effect.Effect<void> = Effect.suspend(() =>
  Stdio.stderr().isTTY ? Stdio.stderr().write("\r\u001b[2K") : Effect.void
)

/**
 * The summary goes to stdout in a table, to stderr under NDJSON (stdout stays pure JSON lines).
 * Not printed once stdout's reader has gone away: the run then stops quietly (exit 141).
 */
export const printSummary = (s: Summary, format: Format): Effect.Effect<void> =>
  Effect.suspend(() =>
    Stdio.stdout().isClosed()
      ? Effect.void
      : Effect.zipRight(endProgress, format === "ndjson" ? Stdio.err(formatSummary(s)) : Stdio.out(formatSummary(s)))
  )
