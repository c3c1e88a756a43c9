/**
 * `leakproof fetch | fetch-all | first | check-status`, and the default job (`leakproof` with no
 * command: the demo server). Each handler parses, calls one program, prints.
 */
import { Args, Command, Options } from "@effect/cli"
import { Chunk, Clock, Console, Duration, Effect, Either, Layer, Option, Stream } from "effect"
import * as DurationArg from "../domain/DurationArg.js"
import type { FetchOptionsInput, FetchOutcome, InvalidFetchOptions } from "../domain/FetchOutcome.js"
import { makeOptions, summarize, SummaryBuilder } from "../domain/FetchOutcome.js"
import * as LeakCheck from "../domain/LeakCheck.js"
import { checkStatus } from "../programs/checkStatus.js"
import { fetchAll } from "../programs/fetchAll.js"
import { fetchUrls } from "../programs/fetchUrls.js"
import type { UrlSource } from "../services/FetchEngine.js"
import { first } from "../programs/first.js"
import * as UrlFetcher from "../services/UrlFetcher.js"
import * as Argv from "./Argv.js"
import { badInput, CliExit, deadlineReached, failed } from "./CliExit.js"
import * as ClusterFetch from "./ClusterFetch.js"
import type { Format } from "./FetchOutput.js"
import { endProgress, formatOutcome, printer, printSummary, resolveFormat, toJson } from "./FetchOutput.js"
import * as InputLines from "./InputLines.js"

// ---------------------------------------------------------------------------------------------
// Options shared by the fetch commands
// ---------------------------------------------------------------------------------------------

// Declared for --help; the URLs themselves are split from the flags by `Argv` (linear time) and
// read from `Argv.Positionals`.
const urlsArg = Args.text({ name: "url" }).pipe(Args.withDescription("URLs to fetch"), Args.repeated)
const file = Options.text("file").pipe(
  Options.withAlias("f"),
  Options.withDescription("read URLs from a file, one per line ('-' for stdin; blank lines and # comments skipped)"),
  Options.optional
)
const concurrency = Options.integer("concurrency").pipe(
  Options.withAlias("c"),
  Options.withDescription("at most this many requests in flight"),
  Options.withDefault(8)
)
const timeout = Options.text("timeout").pipe(Options.withDescription("per request, e.g. 500ms, 2s"), Options.withDefault("10s"))
const deadline = Options.text("deadline").pipe(
  Options.withDescription("for the whole batch, e.g. 30s, 1m; what is unfinished then is cancelled"),
  Options.optional
)
const retries = Options.integer("retries").pipe(
  Options.withDescription("extra tries for transient failures (never for a 4xx)"),
  Options.withDefault(2)
)
const maxBody = Options.integer("max-body").pipe(
  Options.withDescription("largest body in bytes; a larger one is cut off and reported"),
  Options.withDefault(10 * 1024 * 1024)
)
const format = Options.choice("format", ["table", "ndjson"]).pipe(
  Options.withDescription("one row per result (table, the default on a terminal) or one JSON object per line"),
  Options.optional
)

const common = { urls: urlsArg, file, concurrency, timeout, deadline, retries, maxBody, format }

interface Common {
  readonly file: Option.Option<string>
  readonly concurrency: number
  readonly timeout: string
  readonly deadline: Option.Option<string>
  readonly retries: number
  readonly maxBody: number
  readonly format: Option.Option<Format>
}

const duration = (option: string, text: string) =>
  Either.match(DurationArg.parse(text), {
    onLeft: (message) => Effect.fail(badInput(`--${option}: ${message}`)),
    onRight: Effect.succeed
  })

// Read line by line and decoded as a stream (fetch-all, first and check-status want them all).
const readUrls = (path: string): Effect.Effect<ReadonlyArray<string>, CliExit> =>
  Effect.map(Stream.runCollect(InputLines.urlList(path)), Chunk.toReadonlyArray)

const noUrls = () => badInput("no URLs: give them as arguments or with --file")

/**
 * The validated options (bad input: exit 2) and every URL, for the commands that need the whole
 * list before they start. The `--deadline` covers the reading too (a stdin that stays open must
 * not hold the job past it), and what is left of it goes to the job.
 */
const parseCommon = (c: Common, command: string) =>
  Effect.gen(function*() {
    const parsed = yield* parseOptions(c)
    const deadline = parsed.options.deadline
    const started = yield* Clock.currentTimeMillis
    const reading = () => deadlineReached(`${command}: deadline reached while reading --file ${Option.getOrElse(c.file, () => "")}`)
    let fromFile: ReadonlyArray<string> = []
    if (Option.isSome(c.file)) {
      const read = readUrls(c.file.value)
      fromFile = deadline === undefined ? yield* read : yield* Effect.timeoutFail(read, { duration: deadline, onTimeout: reading })
    }
    const urls = [...(yield* Argv.Positionals), ...fromFile]
    if (urls.length === 0) return yield* noUrls()
    if (deadline === undefined) return { urls, ...parsed }
    const left = Duration.toMillis(deadline) - ((yield* Clock.currentTimeMillis) - started)
    if (left <= 0) return yield* reading()
    return { urls, format: parsed.format, options: { ...parsed.options, deadline: Duration.millis(left) } }
  })

/**
 * `fetch`'s URLs: the arguments, then the `--file` lines as they are read (never the whole file in
 * memory; the engine pulls them as slots free up). `total` is known only without `--file`.
 */
const urlSource = (c: Common) =>
  Effect.gen(function*() {
    const positionals = yield* Argv.Positionals
    if (Option.isNone(c.file)) {
      if (positionals.length === 0) return yield* noUrls()
      return { urls: positionals as UrlSource<CliExit>, total: positionals.length as number | undefined }
    }
    const lines = InputLines.urlList(c.file.value)
    return {
      urls: (positionals.length === 0 ? lines : Stream.concat(Stream.fromIterable(positionals), lines)) as UrlSource<CliExit>,
      total: undefined
    }
  })

const parseOptions = (c: Common) =>
  Effect.gen(function*() {
    const input: FetchOptionsInput = {
      concurrency: c.concurrency,
      retries: c.retries,
      maxBodyBytes: c.maxBody,
      timeout: yield* duration("timeout", c.timeout),
      deadline: Option.isSome(c.deadline) ? yield* duration("deadline", c.deadline.value) : undefined,
      // The CLI prints byte counts, never bodies: count them and let them go (flat memory).
      body: "discard"
    }
    const options = yield* Either.mapLeft(makeOptions(input), (e) => badInput(e.message))
    return { options, format: resolveFormat(Option.getOrUndefined(c.format)) }
  })

/**
 * Streams outcomes as they complete, then the summary. On Ctrl-C the outcomes so far stay printed
 * and the summary counts the rest as cancelled (main exits 130).
 */
const streamBatch = (
  urls: UrlSource<CliExit>,
  total: number | undefined,
  options: FetchOptionsInput & { readonly take?: number; readonly maxErrors?: number },
  fmt: Format
) =>
  Effect.gen(function*() {
    // Outcomes are printed and dropped; the summary comes from counters (flat memory).
    const counted = new SummaryBuilder()
    const result = yield* fetchUrls(urls, { ...options, onOutcome: printer(total, fmt), summary: counted }).pipe(
      Effect.mapError((e) => (e._tag === "InvalidFetchOptions" ? badInput(e.message) : e)),
      Effect.onInterrupt(() => printSummary(counted.summary(total), fmt))
    )
    if (result.summary.total === 0) return yield* noUrls()
    yield* printSummary(result.summary, fmt)
    // URLs without an outcome are cancelled by the deadline here; any other gap already died in
    // fetchUrls (an engine that loses outcomes is an internal error, never exit 0).
    return { summary: result.summary, unfinished: result.deadline ? result.summary.cancelled : 0, cut: result.deadline }
  })

/**
 * Exit code of a batch: 124 if the deadline cut it short (URLs cancelled in flight, or `cut`: input
 * left unread, as from a stdin still open), 1 if a result failed, else 0. URLs left without an
 * outcome though nothing stopped the batch on purpose (no `--take`, no error limit, no deadline)
 * mean the engine lost them: an internal error, never 0.
 */
const batchExit = (
  r: { readonly summary: { readonly failed: number }; readonly unfinished: number; readonly cut?: boolean },
  deadline: Duration.DurationInput | undefined
) =>
  (r.unfinished > 0 || r.cut === true) && deadline !== undefined
    ? Effect.fail(deadlineReached())
    : r.unfinished > 0
    ? Effect.die(new Error(`${r.unfinished} URL(s) ended without an outcome`))
    : r.summary.failed > 0
    ? Effect.fail(failed())
    : Effect.void

/** `--deadline` around a whole program (fetch-all, first): `None` when it fired. */
const withDeadline = <A, E, R>(self: Effect.Effect<A, E, R>, deadline: Duration.DurationInput | undefined) =>
  deadline === undefined ? Effect.map(self, Option.some) : Effect.timeoutOption(self, deadline)

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

const take = Options.integer("take").pipe(
  Options.withDescription("consume this many results, then cancel the rest"),
  Options.optional
)
const output = Options.text("output").pipe(
  Options.withAlias("o"),
  Options.withDescription(
    "stream each body to a file in this directory as it arrives (created if missing); the result line names the file"
  ),
  Options.optional
)

export const fetchCommand = Command.make("fetch", { ...common, take, output, ...ClusterFetch.options }, (c) =>
  Effect.gen(function*() {
    const parsed = yield* parseOptions(c)
    const fmt = parsed.format
    const options: FetchOptionsInput = Option.isSome(c.output) ? { ...parsed.options, body: { dir: c.output.value } } : parsed.options
    const n = Option.getOrUndefined(c.take)
    if (n !== undefined && n < 1) return yield* badInput(`invalid --take: expected an integer >= 1, got ${n}`)
    if (c.cluster && Option.isSome(c.output)) return yield* badInput("--output cannot be used with --cluster (bodies stay on the runners)")
    const { total, urls } = yield* urlSource(c)
    // With --take N the exit code speaks of the N results taken, not of the ones cancelled after.
    // With --cluster only the UrlFetcher changes: the runners fetch, this process prints.
    const batch = streamBatch(urls, total, n === undefined ? options : { ...options, take: n }, fmt)
    return yield* batchExit(yield* ClusterFetch.provide(c, batch), options.deadline)
  })).pipe(Command.withDescription("Fetch URLs concurrently; stream results as they complete, then a summary."))

export const checkStatusCommand = Command.make(
  "check-status",
  {
    ...common,
    maxErrors: Options.integer("max-errors").pipe(Options.withDescription("stop everything after this many errors"), Options.withDefault(3))
  },
  (c) =>
    Effect.gen(function*() {
      const { format: fmt, options, urls } = yield* parseCommon(c, "check-status")
      if (c.maxErrors < 1) return yield* badInput(`invalid --max-errors: expected an integer >= 1, got ${c.maxErrors}`)
      const delivered: Array<FetchOutcome> = []
      const print = printer(urls.length, fmt)
      yield* Stream.runForEach(
        checkStatus(urls, { ...options, maxErrors: c.maxErrors }),
        (o) => Effect.zipRight(Effect.sync(() => delivered.push(o)), print(o))
      ).pipe(
        Effect.mapError((e) => badInput(e.message)),
        Effect.onInterrupt(() => printSummary(summarize(urls.length, delivered), fmt))
      )
      const summary = summarize(urls.length, delivered)
      const stopped = summary.failed >= c.maxErrors
      if (stopped) yield* Effect.zipRight(endProgress, Console.error(`too many errors (${summary.failed}), stopped`))
      yield* printSummary(summary, fmt)
      return yield* batchExit({ summary, unfinished: stopped ? 0 : summary.cancelled }, options.deadline)
    })
).pipe(Command.withDescription("Seed 002: stream each URL's status or error; stop everything after --max-errors errors."))

export const fetchAllCommand = Command.make("fetch-all", common, (c) =>
  Effect.gen(function*() {
    const { format: fmt, options, urls } = yield* parseCommon(c, "fetch-all")
    const fetcher = yield* UrlFetcher.UrlFetcher
    const done: Array<FetchOutcome> = []
    const sources = urls.map((u) => Effect.tap(fetcher.get(u, options), (f) => Effect.sync(() => done.push(f))))
    const timed = yield* withDeadline(Effect.either(fetchAll(sources, { concurrency: options.concurrency })), options.deadline)
    if (Option.isNone(timed)) {
      for (const f of done) yield* Console.log(formatOutcome(f, fmt))
      return yield* deadlineReached(
        `fetch-all: deadline reached; ${done.length} of ${urls.length} completed, the rest were cancelled`
      )
    }
    const result = timed.value
    if (Either.isRight(result)) {
      for (const f of result.right) yield* Console.log(formatOutcome(f, fmt))
      return
    }
    const failure = result.left
    for (const f of failure.completed) yield* Console.log(formatOutcome(f, fmt))
    const error = failure.error
    yield* Console.log(
      fmt === "ndjson" ? JSON.stringify(error._tag === "FetchError" ? toJson(error) : { error: error.message }) : ` ERR  ${error.message}`
    )
    return yield* failed(
      `fetch-all: ${failure.error.message}; ${failure.completed.length} completed before it, the rest were cancelled`
    )
  })).pipe(Command.withDescription("Seed 001 FetchAll: all or nothing; the first failure cancels the rest (completed results are kept)."))

export const firstCommand = Command.make("first", common, (c) =>
  Effect.gen(function*() {
    const { format: fmt, options, urls } = yield* parseCommon(c, "first")
    const timed = yield* withDeadline(Effect.either(first(urls, options)), options.deadline)
    if (Option.isNone(timed)) return yield* deadlineReached(`first: deadline reached before any of ${urls.length} succeeded`)
    const result = timed.value
    if (Either.isRight(result)) return yield* Console.log(formatOutcome(result.right, fmt))
    for (const f of result.left.failures) {
      yield* Console.log(fmt === "ndjson" ? JSON.stringify(f._tag === "FetchError" ? toJson(f) : { error: f.message }) : ` ERR  ${f.message}`)
    }
    return yield* failed(`first: all ${urls.length} failed`)
  })).pipe(Command.withDescription("Seed 001 first-win: ask every mirror at once, keep the first success, cancel the rest."))

// ---------------------------------------------------------------------------------------------
// The default job
// ---------------------------------------------------------------------------------------------

/**
 * `leakproof` with no command: start the demo server on loopback, fetch 50 of its URLs with a bound
 * and a deadline, stream the results, print the summary and the live-fiber count before and after.
 */
export const defaultJob: Effect.Effect<void, CliExit | InvalidFetchOptions> = Effect.gen(function*() {
  const deadline = "5 seconds"
  const before = yield* LeakCheck.numFibers
  const fmt = resolveFormat(undefined)
  // The HTTP server stack is loaded for this job only, not for every fetch command.
  const DemoServer = yield* Effect.promise(() => import("../services/DemoServer.js"))
  const batch = yield* Effect.scoped(Effect.gen(function*() {
    const server = yield* DemoServer.make().pipe(Effect.mapError((e) => new CliExit({ code: 1, message: e.message })))
    const urls = DemoServer.demoUrls(server.baseUrl)
    yield* Console.log(
      `leakproof demo: fetching ${urls.length} URLs from ${server.baseUrl} (concurrency 8, timeout 1s, deadline 5s, max body 1 MiB)`
    )
    // The client (and its keep-alive pool) is released before the server, so closing is immediate.
    return yield* streamBatch(urls, urls.length, {
      concurrency: 8,
      timeout: "1 second",
      deadline,
      maxBodyBytes: 1024 * 1024,
      retries: 1,
      retryBase: "50 millis"
    }, fmt).pipe(Effect.provide(FetchLayer))
  }))
  const after = yield* LeakCheck.numFibers
  yield* Console.log(`live fibers: ${before} before, ${after} after${after === before ? " (no leak)" : " (LEAK)"}`)
  yield* Console.log("try: leakproof --help, leakproof fetch --help, npm test")
  // The demo's failing URLs are what it demonstrates: its job fails only on a leak or a deadline.
  yield* batchExit({ summary: { failed: 0 }, unfinished: batch.unfinished }, deadline)
  if (after !== before) return yield* failed(`${after - before} fiber(s) leaked`)
})

/** What the fetch commands need from the environment. */
export const FetchLayer: Layer.Layer<UrlFetcher.UrlFetcher> = UrlFetcher.layer

export const fetchCommands = {
  "fetch": fetchCommand.pipe(Command.provide(FetchLayer)),
  "fetch-all": fetchAllCommand.pipe(Command.provide(FetchLayer)),
  "first": firstCommand.pipe(Command.provide(FetchLayer)),
  "check-status": checkStatusCommand.pipe(Command.provide(FetchLayer))
} as const
