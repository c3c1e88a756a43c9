/**
 * `leakproof serve [--port P] [--host H] [--timeout D] [--grace D]`: the no-leak work server
 * (seed 003's HTTP handler leak, done right). Runs until SIGINT/SIGTERM, then shuts down
 * gracefully and exits 0 with no fiber left; a second signal during the shutdown exits 130/143 at
 * once. Exits 1 if it cannot listen (one line), 2 for bad flags.
 */
import { Command, Options } from "@effect/cli"
import { Console, Deferred, Duration, Effect, Either, Exit, FiberId } from "effect"
import * as DurationArg from "../domain/DurationArg.js"
import * as LeakCheck from "../domain/LeakCheck.js"
import * as WorkServer from "../services/WorkServer.js"
import { badInput, CliExit } from "./CliExit.js"

const port = Options.integer("port").pipe(
  Options.withDefault(8080),
  Options.withDescription("TCP port to listen on (0 picks a free one)")
)
const host = Options.text("host").pipe(Options.withDefault("127.0.0.1"), Options.withDescription("address to bind"))
const timeout = Options.text("timeout").pipe(
  Options.withDefault("5s"),
  Options.withDescription("request deadline for /work, e.g. 500ms, 2s")
)
const grace = Options.text("grace").pipe(
  Options.withDefault("5s"),
  Options.withDescription("on shutdown, how long in-flight requests may take before they are interrupted")
)

const duration = (flag: string, text: string): Effect.Effect<Duration.Duration, CliExit> =>
  Either.match(DurationArg.parse(text), {
    onLeft: (message) => Effect.fail(badInput(`--${flag}: ${message}`)),
    onRight: Effect.succeed
  })

const signals = { SIGINT: 2, SIGTERM: 15 } as const
type Signal = keyof typeof signals
type Listener = (...args: Array<unknown>) => void

/**
 * While the server runs, SIGINT/SIGTERM mean "shut down gracefully and exit 0", not the runtime's
 * default (interrupt the main fiber, exit 130): take the signals over for the duration of `use`,
 * and give them back afterwards. A second signal during the shutdown is the usual "press Ctrl-C
 * again to force": one line on stderr saying how many requests are cut off, then exit 128 + the
 * signal's number (130 for SIGINT, 143 for SIGTERM) at once, without waiting for the grace period.
 */
const withOwnSignals = <A, E, R>(
  use: (signal: Effect.Effect<Signal>, onForce: (cutOff: () => number) => void) => Effect.Effect<A, E, R>
) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const received = Deferred.unsafeMake<Signal>(FiberId.none)
      let cutOff = () => 0
      let first = true
      const names = Object.keys(signals) as Array<Signal>
      const saved = names.map((name) => [name, process.listeners(name) as Array<Listener>] as const)
      const ours = names.map((name) => {
        const handler = () => {
          if (first) { // the first: shut down gracefully
            first = false
            return Deferred.unsafeDone(received, Exit.succeed(name))
          }
          const n = cutOff()
          process.stderr.write(
            `leakproof: second ${name} during the shutdown: exiting now, ${n} request${n === 1 ? "" : "s"} cut off\n`
          )
          process.exit(128 + signals[name])
        }
        return [name, handler] as const
      })
      for (const [name] of saved) process.removeAllListeners(name)
      for (const [name, handler] of ours) process.on(name, handler)
      return { received, saved, ours, setCutOff: (f: () => number) => (cutOff = f) }
    }),
    ({ received, setCutOff }) => use(Deferred.await(received), setCutOff),
    ({ ours, saved }) =>
      Effect.sync(() => {
        for (const [name, handler] of ours) process.off(name, handler)
        for (const [name, listeners] of saved) for (const l of listeners) process.on(name, l)
      })
  )

export const command = Command.make("serve", { port, host, timeout, grace }, (args) =>
  Effect.gen(function*() {
    if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) {
      return yield* badInput(`--port: must be from 0 to 65535, got ${args.port}`)
    }
    const options = {
      port: args.port,
      host: args.host,
      timeout: yield* duration("timeout", args.timeout),
      grace: yield* duration("grace", args.grace)
    }
    yield* withOwnSignals((signal, onForce) =>
      Effect.gen(function*() {
        const stats = yield* Effect.scoped(Effect.gen(function*() {
          const server = yield* WorkServer.make(options).pipe(
            Effect.mapError((e) => new CliExit({ code: 1, message: e.message }))
          )
          onForce(() => Effect.runSync(server.stats).inFlight)
          yield* Console.log(
            `listening on http://${server.host}:${server.port} (deadline ${DurationArg.format(options.timeout)}; ` +
              `GET /work?ms=N, /debug/fibers, /healthz)`
          )
          const received = yield* signal
          yield* Console.log(`${received}: shutting down (grace ${DurationArg.format(options.grace)})`)
          return server.stats
        })) // closing the scope is the graceful shutdown
        const s = yield* stats
        yield* Console.log(
          `stopped: ${s.completed} completed, ${s.timedOut} timed out (504), ${s.aborted} aborted, ` +
            `${s.badRequests} bad requests; live fibers ${yield* LeakCheck.numFibers}`
        )
      })
    )
  })).pipe(Command.withDescription("HTTP work server with request deadlines, a fiber dump and graceful shutdown"))
