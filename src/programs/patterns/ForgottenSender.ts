/**
 * Seed 003, "Real-World Example: HTTP Server Goroutine Leak" (and seed 000's forgotten sender): a
 * handler starts slow work in a goroutine that sends its result on an unbuffered channel, and gives
 * up at a deadline. Nobody ever receives that result.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Option, Ref } from "effect"
import * as Chan from "../../domain/Chan.js"
import * as Demo from "./Demo.js"

/** @since 0.1.0 */
export interface ForgottenSenderOptions {
  /** Requests to handle, one after another (default 5). */
  readonly requests?: number
  /** How long the slow work takes (default 200 ms). */
  readonly work?: Duration.DurationInput
  /** The handler's deadline (default 100 ms). */
  readonly timeout?: Duration.DurationInput
  /** The seed's BAD handler: `go func() { ch <- slowWork() }()` with `ch` unbuffered. */
  readonly leaky?: boolean
}

/** @since 0.1.0 */
export interface RequestOutcome {
  readonly request: number
  readonly status: 200 | 504
  /** Fibers started by the program still alive after this request (grows by one per leak). */
  readonly liveFibers: number
}

/** @since 0.1.0 */
export interface ForgottenSenderResult extends Demo.Report {
  readonly requests: ReadonlyArray<RequestOutcome>
  /** Slow work interrupted at the deadline (fixed version). */
  readonly workInterrupted: number
}

/**
 * Fixed: `slowWork.pipe(Effect.timeoutOption(timeout))`: at the deadline the handler answers 504
 * and the work is interrupted, so the count of live fibers stays flat. Leaky: the work runs in a
 * daemon fiber and sends on an unbuffered channel; after each timed-out request one more fiber
 * stays alive forever ("Request N: Timeout → N goroutines leaked").
 *
 * @since 0.1.0
 */
export const forgottenSender = Effect.fn("forgottenSender")(function*(options: ForgottenSenderOptions = {}) {
  const requests = options.requests ?? 5
  const work = options.work ?? Duration.millis(200)
  const timeout = options.timeout ?? Duration.millis(100)
  return yield* Demo.report((journal, live) =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make(0)
      const slowWork = Effect.sleep(work).pipe(
        Effect.as("result"),
        Effect.onInterrupt(() => Ref.update(interrupted, (n) => n + 1))
      )
      const handleRequest: Effect.Effect<Option.Option<string>> = options.leaky === true
        ? Effect.gen(function*() {
          const ch = yield* Chan.make<string>()
          yield* Effect.forkDaemon(Effect.flatMap(slowWork, (r) => Chan.send(ch, r)))
          return yield* Chan.receiveTimeout(ch, timeout).pipe(Effect.option, Effect.map(Option.flatten))
        })
        : slowWork.pipe(Effect.timeoutOption(timeout))
      const outcomes: Array<RequestOutcome> = []
      for (let request = 1; request <= requests; request++) {
        const result = yield* handleRequest
        for (let i = 0; i < 16; i++) yield* Effect.yieldNow()
        const liveFibers = yield* live
        const status = Option.isSome(result) ? 200 : 504
        outcomes.push({ request, status, liveFibers })
        yield* journal.say(
          `Request ${request}: ${status === 200 ? "200 OK" : "504 Timeout"} → ${liveFibers} fiber(s) still alive`
        )
      }
      return { requests: outcomes, workInterrupted: yield* Ref.get(interrupted) }
    })
  )
})
