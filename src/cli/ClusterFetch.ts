/**
 * `leakproof fetch --cluster [--db URL] [--job NAME] [--batch-size N] [--batches N] ...`: the same
 * fetch job, run by cluster runners instead of this process. Only the `UrlFetcher` changes (it is
 * the cluster-backed one), so the output, the summary, the exit codes, `--take` and Ctrl-C are
 * the local command's.
 *
 * This module is loaded with the CLI and stays light: the cluster stack is imported only when
 * `--cluster` is given.
 */
import { Options } from "@effect/cli"
import { Config, Effect, Layer, Option } from "effect"
import { badInput, CliExit } from "./CliExit.js"

/** The options `fetch` takes for the cluster. */
export const options = {
  cluster: Options.boolean("cluster").pipe(
    Options.withDescription("run the job on cluster runners ('leakproof runner') through PostgreSQL")
  ),
  db: Options.text("db").pipe(
    Options.withDescription("with --cluster: the PostgreSQL URL (default: $LEAKPROOF_DB)"),
    Options.optional
  ),
  job: Options.text("job").pipe(
    Options.withDescription("with --cluster: a name for the job's stored results; the same name with the same URLs and options gets them, with other URLs it is new work"),
    Options.optional
  ),
  batchSize: Options.integer("batch-size").pipe(
    Options.withDescription("with --cluster: URLs per message to a runner (default 500)"),
    Options.optional
  ),
  batches: Options.integer("batches").pipe(
    Options.withDescription("with --cluster: messages in flight at once, each running --concurrency requests (default 4)"),
    Options.optional
  )
}

/** Parsed cluster options. */
export interface Args {
  readonly cluster: boolean
  readonly db: Option.Option<string>
  readonly job: Option.Option<string>
  readonly batchSize: Option.Option<number>
  readonly batches: Option.Option<number>
}

const positive = (flag: string, n: number) =>
  Number.isSafeInteger(n) && n >= 1 ? Effect.void : Effect.fail(badInput(`invalid --${flag}: expected an integer >= 1, got ${n}`))

/**
 * Runs `effect` with the cluster-backed `UrlFetcher` when `--cluster` is given, as it is otherwise.
 * No database (no `--db`, no `LEAKPROOF_DB`, or it cannot be reached): one line, exit code 2.
 * The database lost mid-run: one line, exit code 1.
 */
export const provide = <A, E, R>(args: Args, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | CliExit, R> =>
  Effect.gen(function*() {
    if (!args.cluster) {
      // Every cluster-only flag, so none is silently ignored on a local run.
      const given: ReadonlyArray<readonly [string, boolean]> = [
        ["--db", Option.isSome(args.db)],
        ["--job", Option.isSome(args.job)],
        ["--batch-size", Option.isSome(args.batchSize)],
        ["--batches", Option.isSome(args.batches)]
      ]
      const stray = given.find(([, isSet]) => isSet)
      if (stray !== undefined) return yield* badInput(`${stray[0]} needs --cluster`)
      return yield* effect
    }
    const batchSize = Option.getOrElse(args.batchSize, () => 500)
    const batches = Option.getOrElse(args.batches, () => 4)
    yield* positive("batch-size", batchSize)
    yield* positive("batches", batches)
    const job = Option.getOrUndefined(args.job)
    if (job !== undefined && (job.trim() === "" || job.length > 120)) {
      return yield* badInput(`invalid --job: expected 1 to 120 characters, got '${job}'`)
    }
    const fromEnv = yield* Effect.orDie(Config.option(Config.string("LEAKPROOF_DB")))
    const [ClusterStack, FetchClusterClient] = yield* Effect.promise(() =>
      Promise.all([import("../services/ClusterStack.js"), import("../services/FetchClusterClient.js")])
    )
    const db = yield* ClusterStack.checkUrl(Option.getOrUndefined(Option.orElse(args.db, () => fromEnv))).pipe(
      Effect.mapError((e) => badInput(e.message))
    )
    const layer = FetchClusterClient.layer(db, { job, batchSize, batches }).pipe(
      Layer.mapError((e) => badInput(e.message))
    )
    return yield* effect.pipe(
      Effect.provide(layer),
      Effect.catchSomeDefect((d) =>
        d instanceof FetchClusterClient.ClusterUnavailable
          ? Option.some(Effect.fail(new CliExit({ code: 1, message: d.message })))
          : Option.none()
      )
    )
  })
