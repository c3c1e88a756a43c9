/**
 * `leakproof demo <name> [--leaky]`: runs one program of the pattern catalogue in real time and
 * prints what happened (the seed's output lines, time-stamped) and the live fiber count before and
 * after. With `--leaky` the seed's BAD version runs and the count is left higher; the fibers it
 * leaked are then interrupted so the process can exit (Go's `main` returning does the same).
 */
import { Command, Options } from "@effect/cli"
import { Console, Effect, Fiber, Supervisor } from "effect"
import * as Demo from "../programs/patterns/Demo.js"
import { doneChannel } from "../programs/patterns/DoneChannel.js"
import { errorsAsValues } from "../programs/patterns/ErrorsAsValues.js"
import { fanOutFanIn } from "../programs/patterns/FanOutFanIn.js"
import { firstResponse } from "../programs/patterns/FirstResponse.js"
import { forgottenSender } from "../programs/patterns/ForgottenSender.js"
import { generator } from "../programs/patterns/Generator.js"
import { orChannel } from "../programs/patterns/OrChannel.js"
import { pingPong } from "../programs/patterns/PingPong.js"
import { pipeline } from "../programs/patterns/Pipeline.js"
import { rateLimited } from "../programs/patterns/RateLimited.js"
import { safeCache } from "../programs/patterns/SafeCache.js"
import { ticker } from "../programs/patterns/Ticker.js"
import { timeout } from "../programs/patterns/Timeout.js"
import { badInput } from "./CliExit.js"
import * as Stdio from "./Stdio.js"

const print = (report: Demo.Report): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (const e of report.events) yield* Console.log(`[${(e.at / 1000).toFixed(3).padStart(7)}s] ${e.text}`)
    const verdict = report.leftBehind === 0
      ? "no fiber left behind"
      : `LEAK: ${report.leftBehind} fiber(s) started by this demo are still alive`
    yield* Console.log(`live fibers: before ${report.fibersBefore}, after ${report.fibersAfter} (${verdict})`)
  })

/** Runs a demo, prints it, then interrupts whatever it leaked on purpose. */
const runDemo = <A extends Demo.Report, E>(title: string, program: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    // The title first, so a reader (or Ctrl-C) sees what is running.
    yield* Console.log(title)
    const supervisor = yield* Supervisor.track
    const report = yield* Effect.supervised(program, supervisor)
    yield* print(report)
    const leftovers = yield* supervisor.value
    if (leftovers.length > 0) {
      yield* Stdio.err(`leakproof: interrupting ${leftovers.length} leaked fiber(s) so the process can exit`)
      yield* Fiber.interruptAll(leftovers)
    }
  })

const leaky = Options.boolean("leaky").pipe(
  Options.withDescription("run the seed's BAD version, which leaks fibers (watch the count grow)")
)

const simple = <A extends Demo.Report, E>(name: string, description: string, program: Effect.Effect<A, E>) =>
  Command.make(name, {}, () => runDemo(`${name}: ${description}`, program)).pipe(Command.withDescription(description))

const withLeak = <A extends Demo.Report, E>(
  name: string,
  description: string,
  program: (leaky: boolean) => Effect.Effect<A, E>
) =>
  Command.make(name, { leaky }, ({ leaky }) =>
    runDemo(`${name}${leaky ? " --leaky (the seed's BAD version)" : ""}: ${description}`, program(leaky))).pipe(
      Command.withDescription(description)
    )

const demos = [
  withLeak(
    "done-channel",
    "a worker reading a nil channel stops when its parent closes done (seed 002)",
    (leaky) => doneChannel({ leaky })
  ),
  withLeak(
    "generator",
    "take 3 random ints from a generator, then stop it (seeds 002, 003)",
    (leaky) => generator({ leaky })
  ),
  simple("or-channel", "or(2h, 5m, 1s, 1h, 1m) is done after 1s (seed 002)", orChannel()),
  simple("pipeline", "producer → unbuffered → middle → buffered(5) → slow consumer (seed 003, 4b)", pipeline()),
  simple("fan-out-fan-in", "3 workers over one input, merged output closed once (seed 003)", fanOutFanIn()),
  withLeak(
    "first-response",
    "the first of several replies wins, the others are interrupted (seed 003, Example 6)",
    (leaky) => firstResponse({ leaky })
  ),
  withLeak(
    "timeout",
    "a 3s database call under 5s and 1s deadlines (seed 003, Examples 7, 20)",
    (leaky) => timeout({ leaky })
  ),
  simple("rate-limited", "10 calls, at most 3 in flight, with a Semaphore (seed 003, Example 12)", rateLimited()),
  withLeak(
    "ping-pong",
    "two players rally for 1s and both stop cleanly (seed 003, Example 15)",
    (leaky) => pingPong({ leaky })
  ),
  simple("ticker", "tick every 500ms, stopped after 2.25s (seed 003, Example 19)", ticker()),
  withLeak(
    "errors-as-values",
    "results paired with typed errors; stop after 3 errors (seed 002)",
    (leaky) => errorsAsValues({ leaky })
  ),
  Command.make(
    "safe-cache",
    {
      racy: Options.boolean("racy").pipe(
        Options.withDescription("use a plain Map (the seed's BAD version) and watch updates get lost")
      )
    },
    ({ racy }) =>
      runDemo(
        `safe-cache${racy ? " --racy" : ""}: 50 fibers × 100 increments on a shared map (seed 004)`,
        safeCache({ racy })
      )
  ).pipe(Command.withDescription("a shared map hammered by 50 fibers: SynchronizedRef vs a plain Map (seed 004)")),
  withLeak(
    "forgotten-sender",
    "an HTTP-style handler with a 100ms deadline over 200ms of work, 5 requests (seed 003)",
    (leaky) => forgottenSender({ leaky })
  )
] as const

/** The demos' names, in catalogue order. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const names: ReadonlyArray<string> = demos.map((d) => [...Command.getNames(d as Command.Command<any, any, any, any>)][0]!)

/** The `demo` command and its one subcommand per pattern. */
export const command = Command.make("demo", {}, () =>
  Effect.fail(
    badInput(`which demo? one of: ${names.join(", ")} (see 'leakproof demo --help')`)
  )).pipe(
  Command.withDescription("Run a pattern from the catalogue (add --leaky to see the seed's bug)"),
  Command.withSubcommands(demos)
)
