/**
 * Seed 002, "Use a `done` channel": a worker reading from an input that never delivers (a nil
 * channel) stops when its parent closes `done`.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Option, Ref } from "effect"
import * as Chan from "../../domain/Chan.js"
import * as DurationArg from "../../domain/DurationArg.js"
import * as Demo from "./Demo.js"

/** @since 0.1.0 */
export interface DoneChannelOptions {
  /** When the parent closes `done` (default 1 s, as in the seed). */
  readonly cancelAfter?: Duration.DurationInput
  /** The seed's BAD version: `doWork(nil)` with no `done`, forked with no owner. */
  readonly leaky?: boolean
}

/** @since 0.1.0 */
export interface DoneChannelResult extends Demo.Report {
  /** Whether `doWork`'s goroutine (fiber) had exited when the program returned. */
  readonly workerExited: boolean
}

/**
 * Go's `doWork(done, strings)` with `strings == nil`. Fixed: the worker `select`s on `strings` and
 * `done`; the parent closes `done` after `cancelAfter`, waits for `terminated` to be closed, and the
 * worker has exited. Leaky: `doWork(nil)` ranges over a nil channel forever; the program returns
 * with the worker still parked (`workerExited: false`, one more live fiber), like the seed.
 *
 * Interruption of the program interrupts the fixed worker (it is forked into the program's scope).
 *
 * @since 0.1.0
 */
export const doneChannel = Effect.fn("doneChannel")(function*(options: DoneChannelOptions = {}) {
  const cancelAfter = options.cancelAfter ?? Duration.seconds(1)
  return yield* Demo.report((journal) =>
    Effect.gen(function*() {
      const exited = yield* Ref.make(false)
      const onExit = Effect.zipRight(Ref.set(exited, true), journal.say("doWork exited."))
      const strings = Chan.nil<string>()
      if (options.leaky === true) {
        // `go func() { for s := range strings { … } }()`: nobody owns it and nothing stops it.
        yield* Effect.forkDaemon(Chan.forEach(strings, journal.say).pipe(Effect.ensuring(onExit)))
        yield* journal.say("Done.")
        return { workerExited: yield* Ref.get(exited) }
      }
      yield* Effect.scoped(Effect.gen(function*() {
        const done = yield* Chan.make<never>()
        const terminated = yield* Chan.make<never>()
        const doWork = Effect.gen(function*() {
          while (true) {
            const stop = yield* Chan.select([
              Chan.onReceive(strings, (s) =>
                Option.isSome(s) ? Effect.as(journal.say(s.value), false) : Effect.succeed(true)),
              Chan.onReceive(done, () => Effect.succeed(true))
            ])
            if (stop) return
          }
        }).pipe(Effect.ensuring(Effect.zipRight(onExit, Chan.close(terminated))))
        yield* Effect.forkScoped(doWork)
        yield* Effect.forkScoped(
          Effect.sleep(cancelAfter).pipe(
            Effect.zipRight(journal.say(`Canceling doWork goroutine after ${DurationArg.format(cancelAfter)}...`)),
            Effect.zipRight(Chan.close(done))
          )
        )
        yield* Chan.receive(terminated)
      }))
      yield* journal.say("Done.")
      return { workerExited: yield* Ref.get(exited) }
    })
  )
})
