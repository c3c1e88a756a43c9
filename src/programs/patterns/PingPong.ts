/**
 * Seed 003, Example 15 and "The Ping-Pong Example: Is It a Leak?": two players hit a ball back and
 * forth over unbuffered channels; the game must end with both players stopped.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Fiber, Option, Ref } from "effect"
import * as Chan from "../../domain/Chan.js"
import * as Demo from "./Demo.js"

/** @since 0.1.0 */
export interface PingPongOptions {
  /** How long a player holds the ball before hitting it back (default 100 ms). */
  readonly hold?: Duration.DurationInput
  /** How long the game lasts (default 1 s). */
  readonly playFor?: Duration.DurationInput
  /** Example 15's Go: infinite players with no way to stop; `main` just returns. */
  readonly leaky?: boolean
}

/** @since 0.1.0 */
export interface PingPongResult extends Demo.Report {
  /** How many times a player received the ball. */
  readonly hits: number
  /** Players that stopped (fixed: both). */
  readonly stopped: ReadonlyArray<string>
}

/**
 * Fixed: both players `select` on the ball *and* on `done`, when receiving and when hitting back.
 * The seed's "better version" selects only when receiving; its bare `send <- ball` can still block
 * forever if `done` closes while a player holds the ball; here it cannot. After `playFor` the
 * parent closes `done` and joins both players: "Ping stopped", "Pong stopped". Both are also owned
 * by the program's `Scope`, so interrupting the program stops them. Leaky: two daemon players loop
 * forever and are still rallying when the program returns (two more live fibers).
 *
 * @since 0.1.0
 */
export const pingPong = Effect.fn("pingPong")(function*(options: PingPongOptions = {}) {
  const hold = options.hold ?? Duration.millis(100)
  const playFor = options.playFor ?? Duration.seconds(1)
  return yield* Demo.report((journal) =>
    Effect.gen(function*() {
      const hits = yield* Ref.make(0)
      const stopped = yield* Ref.make<ReadonlyArray<string>>([])
      const ping = yield* Chan.make<string>()
      const pong = yield* Chan.make<string>()
      const received = (name: string, ball: string) =>
        Effect.zipRight(Ref.update(hits, (n) => n + 1), journal.say(`${name} received: ${ball}`))

      if (options.leaky === true) {
        const player = (name: string, receive: Chan.RecvChan<string>, send: Chan.SendChan<string>) =>
          Effect.forever(Effect.gen(function*() {
            const ball = Option.getOrThrow(yield* Chan.receive(receive))
            yield* received(name, ball)
            yield* Effect.sleep(hold)
            yield* Chan.send(send, ball)
          }))
        yield* Effect.forkDaemon(player("Ping", ping, pong))
        yield* Effect.forkDaemon(player("Pong", pong, ping))
        yield* Chan.send(ping, "ball")
        yield* Effect.sleep(playFor)
        yield* journal.say("Game over!")
        return { hits: yield* Ref.get(hits), stopped: yield* Ref.get(stopped) }
      }

      yield* Effect.scoped(Effect.gen(function*() {
        const done = yield* Chan.make<never>()
        const player = (name: string, receive: Chan.RecvChan<string>, send: Chan.SendChan<string>) =>
          Effect.gen(function*() {
            while (true) {
              const ball = yield* Chan.select([
                Chan.onReceive(receive, Effect.succeed),
                Chan.onReceive(done, () => Effect.succeed(Option.none<string>()))
              ])
              if (Option.isNone(ball)) break
              yield* received(name, ball.value)
              yield* Effect.sleep(hold)
              const hit = yield* Chan.select([
                Chan.onSend(send, ball.value, () => Effect.succeed(true)),
                Chan.onReceive(done, () => Effect.succeed(false))
              ])
              if (!hit) break
            }
            yield* Ref.update(stopped, (s) => [...s, name])
            yield* journal.say(`${name} stopped`)
          })
        const players = [
          yield* Effect.forkScoped(player("Ping", ping, pong)),
          yield* Effect.forkScoped(player("Pong", pong, ping))
        ]
        yield* Chan.send(ping, "ball")
        yield* Effect.sleep(playFor)
        yield* Chan.close(done)
        yield* Fiber.joinAll(players)
      }))
      yield* journal.say("Game over!")
      return { hits: yield* Ref.get(hits), stopped: yield* Ref.get(stopped) }
    })
  )
})
