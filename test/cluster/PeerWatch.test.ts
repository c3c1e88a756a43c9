import { Runner } from "@effect/cluster/Runner"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as RunnerHealth from "@effect/cluster/RunnerHealth"
import * as RunnerStorage from "@effect/cluster/RunnerStorage"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option, TestClock } from "effect"
import * as LeakCheck from "../../src/domain/LeakCheck.js"
import * as PeerWatch from "../../src/services/PeerWatch.js"

const addr = (port: number) => RunnerAddress.make("127.0.0.1", port)
const runner = (port: number) => new Runner({ address: addr(port), groups: ["default"], weight: 1 })

/**
 * A runner table in memory and a health check that says `alive` for the listed ports; records
 * every `setRunnerHealth` call.
 */
const world = (options: {
  readonly self: number | undefined
  readonly table: ReadonlyArray<readonly [port: number, healthy: boolean]>
  readonly alive: ReadonlyArray<number>
}) => {
  const marks: Array<string> = []
  const pinged: Array<number> = []
  const table = new Map(options.table.map(([port, healthy]) => [port, healthy]))
  const storage = Layer.succeed(RunnerStorage.RunnerStorage, {
    ...({} as RunnerStorage.RunnerStorage["Type"]),
    getRunners: Effect.sync(() => [...table].map(([port, healthy]) => [runner(port), healthy] as const)),
    setRunnerHealth: (address, healthy) =>
      Effect.sync(() => {
        marks.push(`${address.port}=${healthy}`)
        table.set(address.port, healthy)
      })
  })
  const health = Layer.succeed(RunnerHealth.RunnerHealth, {
    isAlive: (address) =>
      Effect.sync(() => {
        pinged.push(address.port)
        return options.alive.includes(address.port)
      })
  })
  const config = ShardingConfig.layer({
    runnerAddress: options.self === undefined ? Option.none() : Option.some(addr(options.self))
  })
  return { marks, pinged, layer: Layer.mergeAll(storage, health, config) }
}

describe("PeerWatch", () => {
  it.effect("marks a peer that does not answer as unhealthy; never itself, never one that answers", () =>
    Effect.gen(function*() {
      const w = world({ self: 1, table: [[1, true], [2, true], [3, true]], alive: [2] })
      const marked = yield* PeerWatch.checkPeers.pipe(Effect.provide(w.layer))
      expect(marked).toEqual(["127.0.0.1:3"])
      expect(w.marks).toEqual(["3=false"])
      expect(w.pinged.sort()).toEqual([2, 3]) // itself is never pinged
    }))

  it.effect("leaves peers already marked unhealthy alone (the library's health check restores them)", () =>
    Effect.gen(function*() {
      const w = world({ self: 1, table: [[1, true], [2, false]], alive: [] })
      expect(yield* PeerWatch.checkPeers.pipe(Effect.provide(w.layer))).toEqual([])
      expect(w.marks).toEqual([])
      expect(w.pinged).toEqual([])
    }))

  it.effect("even alone with every peer dead it never marks itself: the cluster keeps a healthy runner", () =>
    Effect.gen(function*() {
      const w = world({ self: 1, table: [[1, true], [2, true], [3, true]], alive: [] })
      yield* PeerWatch.checkPeers.pipe(Effect.provide(w.layer))
      expect(w.marks.sort()).toEqual(["2=false", "3=false"])
    }))

  it.effect("the layer checks every interval while it lives, and stops when released", () =>
    Effect.gen(function*() {
      const w = world({ self: 1, table: [[1, true], [2, true]], alive: [2] })
      const fiber = yield* LeakCheck.verifyNone(
        Effect.scoped(Effect.gen(function*() {
          yield* Layer.build(PeerWatch.layer("1 second"))
          yield* TestClock.adjust("3 seconds")
          return w.pinged.length
        }).pipe(Effect.provide(w.layer)))
      ).pipe(Effect.fork)
      const pingsWhileAlive = yield* Fiber.join(fiber)
      expect(pingsWhileAlive).toBe(4) // at once, then after 1, 2 and 3 seconds
      yield* TestClock.adjust("10 seconds")
      expect(w.pinged).toHaveLength(4)
    }))

  it.effect("a client-only member (no runner address) watches nothing", () =>
    Effect.gen(function*() {
      const w = world({ self: undefined, table: [[2, true]], alive: [] })
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Layer.build(PeerWatch.layer("1 second"))
        yield* TestClock.adjust("5 seconds")
      })).pipe(Effect.provide(w.layer))
      expect(w.pinged).toEqual([])
    }))
})
