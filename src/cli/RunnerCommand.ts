/**
 * `leakproof runner --port P [--host H] [--db URL]`: a cluster runner process. It takes its share
 * of the shards in PostgreSQL and fetches the batches `leakproof fetch --cluster` submits. Runs
 * until SIGINT/SIGTERM, then shuts down gracefully (batches in flight get 10 s to finish, the rest
 * are redone by another runner) and exits 0.
 *
 * Exit codes: 0 after a graceful shutdown, 1 if it cannot listen, 2 for bad flags or no database.
 * The cluster stack is imported only when the command runs.
 */
import { Command, Options } from "@effect/cli"
import { Config, Console, Deferred, Effect, Exit, FiberId, Layer, Option } from "effect"
import { badInput, CliExit } from "./CliExit.js"

const port = Options.integer("port").pipe(
  Options.withDescription("TCP port other cluster members reach this runner on (1-32767)")
)
const host = Options.text("host").pipe(
  Options.withDescription("address to listen on and to advertise to the other members"),
  Options.withDefault("127.0.0.1")
)
const db = Options.text("db").pipe(
  Options.withDescription("the PostgreSQL URL (default: $LEAKPROOF_DB)"),
  Options.optional
)

const signals = ["SIGINT", "SIGTERM"] as const
type Listener = (...args: Array<unknown>) => void

/**
 * While the runner runs, SIGINT/SIGTERM mean "shut down gracefully and exit 0" rather than the
 * runtime's default (interrupt, exit 130/143). A second signal finds no listener: it kills the
 * process, the usual "press Ctrl-C again to force".
 */
const withOwnSignals = <A, E, R>(use: (signal: Effect.Effect<NodeJS.Signals>) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const received = Deferred.unsafeMake<NodeJS.Signals>(FiberId.none)
      const saved = signals.map((name) => [name, process.listeners(name) as Array<Listener>] as const)
      const ours = signals.map((name) => {
        const handler = () => {
          for (const [n, h] of ours) process.off(n, h)
          Deferred.unsafeDone(received, Exit.succeed(name))
        }
        return [name, handler] as const
      })
      for (const [name] of saved) process.removeAllListeners(name)
      for (const [name, handler] of ours) process.on(name, handler)
      return { received, saved, ours }
    }),
    ({ received }) => use(Deferred.await(received)),
    ({ ours, saved }) =>
      Effect.sync(() => {
        for (const [name, handler] of ours) process.off(name, handler)
        for (const [name, listeners] of saved) for (const l of listeners) process.on(name, l)
      })
  )

export const command = Command.make("runner", { port, host, db }, (args) =>
  Effect.gen(function*() {
    if (!Number.isSafeInteger(args.port) || args.port < 1 || args.port > 32767) {
      return yield* badInput(
        `--port: must be from 1 to 32767 (32768 and up is the OS's range for outgoing connections), got ${args.port}`
      )
    }
    const fromEnv = yield* Effect.orDie(Config.option(Config.string("LEAKPROOF_DB")))
    const [ClusterStack, FetchRunner] = yield* Effect.promise(() =>
      Promise.all([import("../services/ClusterStack.js"), import("../services/FetchRunner.js")])
    )
    const url = yield* ClusterStack.checkUrl(Option.getOrUndefined(Option.orElse(args.db, () => fromEnv))).pipe(
      Effect.mapError((e) => badInput(e.message))
    )
    const name = `leakproof runner ${args.host}:${args.port}`
    const stats: { batches: number; urls: number } = { batches: 0, urls: 0 }
    yield* withOwnSignals((signal) =>
      Effect.scoped(Effect.gen(function*() {
        yield* Layer.build(FetchRunner.layer({ host: args.host, port: args.port, db: url }, stats)).pipe(
          Effect.mapError((e) =>
            e._tag === "DatabaseError"
              ? badInput(e.message)
              : new CliExit({ code: 1, message: `runner: cannot listen on ${args.host}:${args.port}: ${String(e.cause ?? e)}` })
          )
        )
        yield* Console.log(`${name}: ready (database ${ClusterStack.redact(url)})`)
        const received = yield* signal
        yield* Console.log(`${name}: ${received}: shutting down (batches in flight may finish)`)
      })) // closing the scope is the graceful shutdown
    )
    yield* Console.log(`${name}: stopped after ${stats.batches} batches, ${stats.urls} URLs`)
  })).pipe(Command.withDescription("Cluster runner: fetches the batches of 'leakproof fetch --cluster' jobs (PostgreSQL)"))
