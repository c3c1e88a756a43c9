/**
 * Every runner watches its peers, so a dead runner's shards move within seconds whichever runner
 * dies. Go analogue: a heartbeat goroutine per node in a gossip membership.
 *
 * Why it exists: `@effect/cluster` checks runner health from a singleton that lives on one runner.
 * When that runner is the one killed, nobody pings anymore, and the dead runner keeps its shards
 * until its heartbeat row expires (the lock expiry, 15 s here, plus a refresh). With this watch,
 * each runner pings the others every `interval` with the library's own health check
 * (`RunnerHealth.isAlive`: up to 6 tries 500 ms apart, each within 10 s), and marks a peer that
 * does not answer as unhealthy in the runner table. The sharding loop of every process then
 * reassigns that peer's shards at its next refresh.
 *
 * Invariants: a runner only ever marks *other* runners unhealthy (itself stays healthy, so the
 * cluster never runs out of healthy runners through this watch); it never marks anyone healthy
 * again: the library's health check restores a peer that answers (and a restarted runner registers
 * itself as healthy). A peer wrongly marked unhealthy (it answered none of the 6 pings but was
 * alive) loses its shards for a moment; its work in flight is redone elsewhere (at-least-once).
 *
 * @since 0.1.0
 */
import * as RunnerHealth from "@effect/cluster/RunnerHealth"
import * as RunnerStorage from "@effect/cluster/RunnerStorage"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import type { Duration } from "effect"
import { Effect, Equal, Layer, Option, Schedule } from "effect"

/**
 * One round: ping every peer listed as healthy, mark the ones that do not answer as unhealthy.
 * Returns the peers it marked.
 * @since 0.1.0
 */
export const checkPeers: Effect.Effect<
  ReadonlyArray<string>,
  never,
  RunnerStorage.RunnerStorage | RunnerHealth.RunnerHealth | ShardingConfig.ShardingConfig
> = Effect.gen(function*() {
  const config = yield* ShardingConfig.ShardingConfig
  const storage = yield* RunnerStorage.RunnerStorage
  const health = yield* RunnerHealth.RunnerHealth
  const self = config.runnerAddress
  const runners = yield* storage.getRunners
  const marked: Array<string> = []
  yield* Effect.forEach(
    runners,
    ([runner, healthy]) =>
      !healthy || (Option.isSome(self) && Equal.equals(runner.address, self.value))
        ? Effect.void
        : Effect.flatMap(health.isAlive(runner.address), (alive) =>
          alive ? Effect.void : storage.setRunnerHealth(runner.address, false).pipe(
            Effect.zipRight(Effect.logWarning(`runner ${runner.address.host}:${runner.address.port} does not answer: marked unhealthy, its shards move`)),
            Effect.zipRight(Effect.sync(() => marked.push(`${runner.address.host}:${runner.address.port}`)))
          )),
    { concurrency: "unbounded", discard: true }
  )
  return marked
}).pipe(Effect.catchAllCause((cause) => Effect.as(Effect.logDebug("peer watch round failed", cause), [])))

/**
 * Runs `checkPeers` every `interval` for the layer's lifetime (nothing on a client-only member).
 * Interrupted when the layer is released.
 * @since 0.1.0
 */
export const layer = (
  interval: Duration.DurationInput
): Layer.Layer<never, never, RunnerStorage.RunnerStorage | RunnerHealth.RunnerHealth | ShardingConfig.ShardingConfig> =>
  Layer.scopedDiscard(Effect.gen(function*() {
    const config = yield* ShardingConfig.ShardingConfig
    if (Option.isNone(config.runnerAddress)) return
    yield* checkPeers.pipe(Effect.repeat(Schedule.spaced(interval)), Effect.interruptible, Effect.forkScoped)
  }))
