/**
 * `leakproof fetch | fetch-all | first | check-status`, and the default job (`leakproof` with no
 * command: the demo server). Each handler parses, calls one program, prints.
 */
import { Args, Command, Options } from "@effect/cli"
import { Console, Effect, Either, Layer, Option, Stream } from "effect"
import * as fs from "node:fs/promises"
import * as DurationArg from "../domain/DurationArg.js"
import type { FetchOptionsInput, FetchOutcome, InvalidFetchOptions } from "../domain/FetchOutcome.js"
import { makeOptions, summarize } from "../domain/FetchOutcome.js"
import * as LeakCheck from "../domain/LeakCheck.js"
import { checkStatus } from "../programs/checkStatus.js"
import { fetchAll } from "../programs/fetchAll.js"
import { fetchUrls } from "../programs/fetchUrls.js"
import { first } from "../programs/first.js"
import * as DemoServer from "../services/DemoServer.js"
import * as UrlFetcher from "../services/UrlFetcher.js"
import { badInput, CliExit } from "./CliExit.js"
import * as ClusterFetch from "./ClusterFetch.js"
import type { Format } from "./FetchOutput.js"
import { endProgress, formatOutcome, printer, printSummary, resolveFormat, toJson } from "./FetchOutput.js"

// ---------------------------------------------------------------------------------------------
// Options shared by the fetch commands
// ---------------------------------------------------------------------------------------------

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
  readonly urls: ReadonlyArray<string>
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

const readUrls = (path: string): Effect.Effect<ReadonlyArray<string>, CliExit> =>
  Effect.tryPromise({
    try: async () => {
      if (path !== "-") return fs.readFile(path, "utf8")
      let text = ""
      for await (const chunk of process.stdin) text += String(chunk)
      return text
    },
    catch: (e) => badInput(`--file ${path}: ${e instanceof Error ? e.message : String(e)}`)
  }).pipe(Effect.map((text) => text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith("#"))))

/** Turns the parsed command line into URLs and validated fetch options (bad input: exit 2). */
const parseCommon = (c: Common) =>
  Effect.gen(function*() {
    const fromFile = Option.isSome(c.file) ? yield* readUrls(c.file.value) : []
    const urls = [...c.urls, ...fromFile]
    if (urls.length === 0) return yield* badInput("no URLs: give them as arguments or with --file")
    const input: FetchOptionsInput = {
      concurrency: c.concurrency,
      retries: c.retries,
      maxBodyBytes: c.maxBody,
      timeout: yield* duration("timeout", c.timeout),
      deadline: Option.isSome(c.deadline) ? yield* duration("deadline", c.deadline.value) : undefined
    }
    const options = yield* Either.mapLeft(makeOptions(input), (e) => badInput(e.message))
    return { urls, options, format: resolveFormat(Option.getOrUndefined(c.format)) }
  })

/**
 * Streams outcomes as they complete, then the summary. On Ctrl-C the outcomes so far stay printed
 * and the summary counts the rest as cancelled (main exits 130).
 */
const streamBatch = (
  urls: ReadonlyArray<string>,
  options: FetchOptionsInput & { readonly take?: number; readonly maxErrors?: number },
  fmt: Format
) =>
  Effect.gen(function*() {
    const delivered: Array<FetchOutcome> = []
    const print = printer(urls.length, fmt)
    const onOutcome = (o: FetchOutcome) => Effect.zipRight(Effect.sync(() => delivered.push(o)), print(o))
    const result = yield* fetchUrls(urls, { ...options, onOutcome }).pipe(
      Effect.onInterrupt(() => printSummary(summarize(urls.length, delivered), fmt))
    )
    const summary = summarize(urls.length, result.outcomes)
    yield* printSummary(summary, fmt)
    return { summary, stoppedEarly: result.stoppedEarly }
  })

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

const take = Options.integer("take").pipe(
  Options.withDescription("consume this many results, then cancel the rest"),
  Options.optional
)

export const fetchCommand = Command.make("fetch", { ...common, take, ...ClusterFetch.options }, (c) =>
  Effect.gen(function*() {
    const { format: fmt, options, urls } = yield* parseCommon(c)
    const n = Option.getOrUndefined(c.take)
    if (n !== undefined && n < 1) return yield* badInput(`invalid --take: expected an integer >= 1, got ${n}`)
    const { summary } = yield* ClusterFetch.provide(c, streamBatch(urls, n === undefined ? options : { ...options, take: n }, fmt))
    if (summary.failed > 0) return yield* new CliExit({ code: 1, message: "" })
  })).pipe(Command.withDescription("Fetch URLs concurrently; stream results as they complete, then a summary."))

export const checkStatusCommand = Command.make(
  "check-status",
  {
    ...common,
    maxErrors: Options.integer("max-errors").pipe(Options.withDescription("stop everything after this many errors"), Options.withDefault(3))
  },
  (c) =>
    Effect.gen(function*() {
      const { format: fmt, options, urls } = yield* parseCommon(c)
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
      if (summary.failed > 0) return yield* new CliExit({ code: 1, message: "" })
    })
).pipe(Command.withDescription("Seed 002: stream each URL's status or error; stop everything after --max-errors errors."))

export const fetchAllCommand = Command.make("fetch-all", common, (c) =>
  Effect.gen(function*() {
    const { format: fmt, options, urls } = yield* parseCommon(c)
    const fetcher = yield* UrlFetcher.UrlFetcher
    const result = yield* Effect.either(fetchAll(urls.map((u) => fetcher.get(u, options)), { concurrency: options.concurrency }))
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
    return yield* new CliExit({
      code: 1,
      message: `fetch-all: ${failure.error.message}; ${failure.completed.length} completed before it, the rest were cancelled`
    })
  })).pipe(Command.withDescription("Seed 001 FetchAll: all or nothing; the first failure cancels the rest (completed results are kept)."))

export const firstCommand = Command.make("first", common, (c) =>
  Effect.gen(function*() {
    const { format: fmt, options, urls } = yield* parseCommon(c)
    const result = yield* Effect.either(first(urls, options))
    if (Either.isRight(result)) return yield* Console.log(formatOutcome(result.right, fmt))
    for (const f of result.left.failures) {
      yield* Console.log(fmt === "ndjson" ? JSON.stringify(f._tag === "FetchError" ? toJson(f) : { error: f.message }) : ` ERR  ${f.message}`)
    }
    return yield* new CliExit({ code: 1, message: `first: all ${urls.length} failed` })
  })).pipe(Command.withDescription("Seed 001 first-win: ask every mirror at once, keep the first success, cancel the rest."))

// ---------------------------------------------------------------------------------------------
// The default job
// ---------------------------------------------------------------------------------------------

/**
 * `leakproof` with no command: start the demo server on loopback, fetch 50 of its URLs with a bound
 * and a deadline, stream the results, print the summary and the live-fiber count before and after.
 */
export const defaultJob: Effect.Effect<void, CliExit | InvalidFetchOptions> = Effect.gen(function*() {
  const before = yield* LeakCheck.numFibers
  const fmt = resolveFormat(undefined)
  yield* Effect.scoped(Effect.gen(function*() {
    const server = yield* DemoServer.make().pipe(Effect.mapError((e) => new CliExit({ code: 1, message: e.message })))
    const urls = DemoServer.demoUrls(server.baseUrl)
    yield* Console.log(
      `leakproof demo: fetching ${urls.length} URLs from ${server.baseUrl} (concurrency 8, timeout 1s, deadline 5s, max body 1 MiB)`
    )
    // The client (and its keep-alive pool) is released before the server, so closing is immediate.
    yield* streamBatch(urls, {
      concurrency: 8,
      timeout: "1 second",
      deadline: "5 seconds",
      maxBodyBytes: 1024 * 1024,
      retries: 1,
      retryBase: "50 millis"
    }, fmt).pipe(Effect.provide(FetchLayer))
  }))
  const after = yield* LeakCheck.numFibers
  yield* Console.log(`live fibers: ${before} before, ${after} after${after === before ? " (no leak)" : " (LEAK)"}`)
  yield* Console.log("try: leakproof --help, leakproof fetch --help, npm test")
})

/** What the fetch commands need from the environment. */
export const FetchLayer: Layer.Layer<UrlFetcher.UrlFetcher> = UrlFetcher.layer

export const fetchCommands = [
  fetchCommand.pipe(Command.provide(FetchLayer)),
  fetchAllCommand.pipe(Command.provide(FetchLayer)),
  firstCommand.pipe(Command.provide(FetchLayer)),
  checkStatusCommand.pipe(Command.provide(FetchLayer))
] as const
