/**
 * Deadlock detection: Go's "all goroutines are asleep - deadlock!", for the fibers of one checked
 * effect, with the channels named and the wait cycle spelled out. Each seed deadlock must be
 * caught at once (the test would hang otherwise), and nothing may fire while a sleep or I/O is
 * pending.
 */
import { describe, expect, it } from "../../src/vitest.js"
import { Deferred, Effect, Exit, Fiber, Option, Queue, TestClock } from "effect"
import { createServer } from "node:http"
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import { fileURLToPath } from "node:url"
import * as Chan from "../../src/domain/Chan.js"
import * as LeakCheck from "../../src/domain/LeakCheck.js"
import { eventLoopTurns, siteOf } from "../support/leakcheck.js"

const here = fileURLToPath(import.meta.url)

describe("LeakCheck deadlock detection: the seeds' classic deadlocks", () => {
  it.effect("unbuffered send with no receiver in the same fiber: Deadlock names the channel and the line", () =>
    Effect.gen(function*() {
      const before = yield* TestClock.currentTimeMillis
      const deadlock = yield* Effect.flip(LeakCheck.detectDeadlock(Effect.gen(function*() {
        const results = yield* Chan.make<number>(0, { name: "results" })
        yield* Chan.send(results, 1) // site: send-no-receiver
      }), { sites: true }))
      expect(deadlock._tag).toBe("Deadlock")
      expect(deadlock.reason).toBe("AllBlocked")
      expect(deadlock.fibers).toHaveLength(1)
      const [fiber] = deadlock.fibers
      expect(fiber!.state).toBe("suspended: chan send")
      expect(fiber!.waitsOn).toBe("waits to send on `results`, which no other fiber has received from")
      expect(fiber!.blockedAt).toBe(siteOf(here, "send-no-receiver"))
      expect(deadlock.cycles).toEqual([])
      expect(deadlock.message.split("\n")[0]).toBe(
        "the only fiber of the checked effect is blocked and no timer is pending: deadlock!"
      )
      // found at once: no virtual time passed (and the test did not hang)
      expect(yield* TestClock.currentTimeMillis).toBe(before)
    }))

  it.effect("verifyNone reports the same deadlock (and interrupts the blocked fibers)", () =>
    Effect.gen(function*() {
      let sender: Fiber.RuntimeFiber<void> | undefined
      const deadlock = yield* Effect.flip(LeakCheck.verifyNone(Effect.gen(function*() {
        const jobs = yield* Chan.make<number>(0, { name: "jobs" })
        sender = yield* Effect.fork(Chan.send(jobs, 1))
        yield* Fiber.join(sender)
      })))
      expect(deadlock._tag).toBe("Deadlock")
      expect(sender!.unsafePoll()).not.toBeNull()
      expect(Exit.isInterrupted(sender!.unsafePoll()!)).toBe(true)
    }))

  it.effect("two fibers each waiting on the other: the cycle is named through both channels", () =>
    Effect.gen(function*() {
      const deadlock = yield* Effect.flip(LeakCheck.detectDeadlock(Effect.gen(function*() {
        const ping = yield* Chan.make<number>(0, { name: "ping" })
        const pong = yield* Chan.make<number>(0, { name: "pong" })
        // the player returns every ball it gets
        yield* Effect.fork(Effect.forever(Effect.flatMap(Chan.receive(ping), (ball) =>
          Chan.send(pong, Option.getOrThrow(ball) + 1))).pipe(Effect.withSpan("player")))
        yield* Chan.send(ping, 0)
        yield* Chan.receive(pong)
        // bug: waits for a second ball without serving it
        yield* Chan.receive(pong) // site: second-ball
      }).pipe(Effect.withSpan("table")), { sites: true }))
      expect(deadlock.fibers).toHaveLength(2)
      const [table, player] = [deadlock.fibers.find((f) => f.spans[0] === "table")!, deadlock.fibers.find((f) => f.spans[0] === "player")!]
      expect(table.waitsOn).toBe(`waits to receive from \`pong\`, which only #${player.id} sends`)
      expect(table.blockedAt).toBe(siteOf(here, "second-ball"))
      expect(player.waitsOn).toBe(`waits to receive from \`ping\`, which only #${table.id} sends`)
      expect(deadlock.cycles).toHaveLength(1)
      expect(deadlock.message).toContain(
        `cycle: #${table.id} waits to receive from \`pong\`, which only #${player.id} sends -> ` +
          `#${player.id} waits to receive from \`ping\`, which only #${table.id} sends -> back to #${table.id}`
      )
    }))

  it.effect("two fibers each receiving first (no exchange yet): both are named, no cycle is claimed", () =>
    Effect.gen(function*() {
      const deadlock = yield* Effect.flip(LeakCheck.detectDeadlock(Effect.gen(function*() {
        const a = yield* Chan.make<number>(0, { name: "a" })
        const b = yield* Chan.make<number>(0, { name: "b" })
        yield* Effect.fork(Effect.flatMap(Chan.receive(a), (v) => Chan.send(b, Option.getOrThrow(v))))
        const v = yield* Chan.receive(b)
        yield* Chan.send(a, Option.getOrThrow(v))
      })))
      expect(deadlock.fibers.map((f) => f.waitsOn).sort()).toEqual([
        "waits to receive from `a`, which no other fiber has sent on",
        "waits to receive from `b`, which no other fiber has sent on"
      ])
      expect(deadlock.cycles).toEqual([])
    }))

  it.effect("a pipeline whose consumer stopped early without cancelling: the stuck stages and the join are named", () =>
    Effect.gen(function*() {
      const deadlock = yield* Effect.flip(LeakCheck.detectDeadlock(Effect.gen(function*() {
        const jobs = yield* Chan.make<number>(0, { name: "jobs" })
        const results = yield* Chan.make<number>(0, { name: "results" })
        yield* Effect.fork(Chan.sendAll(jobs, [1, 2, 3, 4, 5, 6]).pipe(Effect.zipRight(Chan.close(jobs)), Effect.withSpan("generate")))
        const square = yield* Effect.fork(
          Chan.forEach(jobs, (n) => Chan.send(results, n * n)).pipe(Effect.zipRight(Chan.close(results)), Effect.withSpan("square"))
        )
        for (let i = 0; i < 2; i++) yield* Chan.receive(results) // the consumer wanted only two
        yield* Fiber.join(square) // bug: waits for the stage instead of cancelling it
      }).pipe(Effect.withSpan("consume"))))
      const byStage = (name: string) => deadlock.fibers.find((f) => f.spans[0] === name)!
      const [generate, square, consume] = [byStage("generate"), byStage("square"), byStage("consume")]
      expect(deadlock.fibers).toHaveLength(3)
      expect(generate.waitsOn).toBe(`waits to send on \`jobs\`, which only #${square.id} receives`)
      expect(square.waitsOn).toBe(`waits to send on \`results\`, which only #${consume.id} receives`)
      expect(consume.waitsOn).toBe(`waits for #${square.id} to end (Fiber.join)`)
      expect(deadlock.cycles.map((c) => c.map((s) => s.from))).toEqual([[consume.id, square.id]])
      expect(deadlock.message).toContain(
        `cycle: #${consume.id} waits for #${square.id} to end (Fiber.join) -> ` +
          `#${square.id} waits to send on \`results\`, which only #${consume.id} receives -> back to #${consume.id}`
      )
    }))

  it.effect("Effect's own primitives: a Deferred nobody completes, a Queue nobody fills", () =>
    Effect.gen(function*() {
      const onDeferred = yield* Effect.flip(LeakCheck.detectDeadlock(Effect.gen(function*() {
        const done = yield* Deferred.make<void>()
        const waiter = yield* Effect.fork(Deferred.await(done))
        yield* Fiber.join(waiter)
      })))
      expect(onDeferred.fibers.map((f) => f.waitsOn).sort()).toEqual([
        expect.stringMatching(/^waits for #\d+ to end \(Fiber\.join\)$/),
        expect.stringMatching(/^waits on a Deferred made by #\d+$/)
      ].sort())
      const onQueue = yield* Effect.flip(LeakCheck.detectDeadlock(Effect.flatMap(Queue.bounded<number>(1), Queue.take)))
      expect(onQueue.fibers.map((f) => f.waitsOn)).toEqual(["waits on a Queue, or on a Deferred it made itself"])
    }))

  it.effect("a nil channel blocks forever: a fiber ranging over one is a deadlock", () =>
    Effect.gen(function*() {
      const deadlock = yield* Effect.flip(LeakCheck.detectDeadlock(Chan.forEach(Chan.nil<number>(), () => Effect.void)))
      expect(deadlock.fibers.map((f) => [f.state, f.waitsOn])).toEqual([["suspended: chan (nil)", "waits on a nil channel (forever)"]])
    }))

  it.effect("a check nested in another reports its own deadlock; the outer check goes on", () =>
    LeakCheck.verifyNone(Effect.gen(function*() {
      const inner = yield* Effect.flip(LeakCheck.detectDeadlock(Effect.flatMap(Chan.make<number>(0, { name: "inner" }), (ch) => Chan.send(ch, 1))))
      expect(inner.fibers.map((f) => f.waitsOn)).toEqual(["waits to send on `inner`, which no other fiber has received from"])
      return "outer finished"
    })).pipe(Effect.map((r) => expect(r).toBe("outer finished"))))
})

describe("LeakCheck deadlock detection: what must not fire", () => {
  it.effect("a virtual sleep is pending (TestClock): no deadlock, and the program finishes once time is adjusted", () =>
    Effect.gen(function*() {
      const check = yield* Effect.fork(LeakCheck.verifyNone(Effect.gen(function*() {
        const ch = yield* Chan.make<string>(0, { name: "alarm" })
        yield* Effect.fork(Effect.sleep("1 minute").pipe(Effect.zipRight(Chan.send(ch, "ring"))))
        return yield* Chan.receive(ch)
      })))
      // every fiber of the check is parked now; give the detector many chances to misfire
      while ((yield* TestClock.sleeps()).length === 0) yield* Effect.yieldNow()
      yield* eventLoopTurns(10)
      expect(check.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.join(check)).toEqual(Option.some("ring"))
    }))

  it.live("a live sleep is pending: no deadlock", () =>
    Effect.gen(function*() {
      const got = yield* LeakCheck.verifyNone(Effect.gen(function*() {
        const ch = yield* Chan.make<string>(0, { name: "alarm" })
        yield* Effect.fork(Effect.sleep("30 millis").pipe(Effect.zipRight(Chan.send(ch, "ring"))))
        return yield* Chan.receive(ch)
      }))
      expect(got).toEqual(Option.some("ring"))
    }))

  it.live("loopback I/O is pending: no deadlock while the server takes its time", () =>
    Effect.acquireUseRelease(
      Effect.async<ReturnType<typeof createServer>>((resume) => {
        const server = createServer((_req, res) => {
          setTimeout(() => res.end("slow hello"), 40)
        })
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.gen(function*() {
          const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
          const got = yield* LeakCheck.verifyNone(Effect.gen(function*() {
            const bodies = yield* Chan.make<string>(0, { name: "bodies" })
            yield* Effect.fork(
              Effect.tryPromise(() => fetch(url).then((r) => r.text())).pipe(Effect.orDie, Effect.flatMap((b) => Chan.send(bodies, b)))
            )
            return yield* Chan.receive(bodies)
          }))
          expect(got).toEqual(Option.some("slow hello"))
        }),
      (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
    ))

  it.live("a pending loopback socket read (no timer anywhere in the check): no deadlock", () =>
    Effect.acquireUseRelease(
      Effect.async<net.Server>((resume) => {
        const server = net.createServer((socket) => void setTimeout(() => socket.end("late reply"), 40))
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.gen(function*() {
          const port = (server.address() as AddressInfo).port
          const read = Effect.async<string>((resume) => {
            const socket = net.connect(port, "127.0.0.1")
            let text = ""
            socket.on("data", (chunk) => (text += chunk))
            socket.on("end", () => resume(Effect.succeed(text)))
            return Effect.sync(() => socket.destroy())
          })
          const got = yield* LeakCheck.detectDeadlock(Effect.gen(function*() {
            const replies = yield* Chan.make<string>(0, { name: "replies" })
            yield* Effect.fork(Effect.flatMap(read, (text) => Chan.send(replies, text)))
            return yield* Chan.receive(replies)
          }))
          expect(got).toEqual(Option.some("late reply"))
        }),
      (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
    ))

  it.live("plain callbacks due on later event-loop turns: the detector's second look sees the fiber was woken meanwhile", () =>
    Effect.gen(function*() {
      const got = yield* LeakCheck.detectDeadlock(Effect.gen(function*() {
        const first = yield* Deferred.make<string>()
        const second = yield* Deferred.make<string>()
        // Not timers, so only looking twice (and noticing the wake-up in between) tells this from a
        // deadlock: each callback is two turns away, and the first one sets up the second wait.
        const twoTurnsLater = (f: () => void) => setImmediate(() => setImmediate(f))
        twoTurnsLater(() => {
          twoTurnsLater(() => Deferred.unsafeDone(second, Exit.succeed("second")))
          Deferred.unsafeDone(first, Exit.succeed("first"))
        })
        return [yield* Deferred.await(first), yield* Deferred.await(second)]
      }))
      expect(got).toEqual(["first", "second"])
    }))

  it.live("a plain setTimeout a checked fiber started is a pending timer: no deadlock while its callback is due", () =>
    Effect.gen(function*() {
      const got = yield* LeakCheck.detectDeadlock(Effect.gen(function*() {
        const done = yield* Deferred.make<string>()
        setTimeout(() => Deferred.unsafeDone(done, Exit.succeed("fired")), 30)
        return yield* Deferred.await(done)
      }))
      expect(got).toBe("fired")
    }))

  it.effect("a channel made outside the check may still be used from outside: waiting on it is no deadlock", () =>
    Effect.gen(function*() {
      const outside = yield* Chan.make<number>(0, { name: "outside" })
      const check = yield* Effect.fork(LeakCheck.detectDeadlock(Chan.receive(outside)))
      yield* eventLoopTurns(10)
      expect(check.unsafePoll()).toBeNull()
      yield* Chan.send(outside, 7)
      expect(yield* Fiber.join(check)).toEqual(Option.some(7))
    }))

  it.effect("a program that finishes is never reported, however often its fibers park", () =>
    LeakCheck.verifyNone(Effect.gen(function*() {
      const ch = yield* Chan.make<number>()
      const producer = yield* Effect.fork(Chan.sendAll(ch, Array.from({ length: 200 }, (_, i) => i)).pipe(Effect.zipRight(Chan.close(ch))))
      let sum = 0
      yield* Chan.forEach(ch, (n) => Effect.andThen(eventLoopTurns(n % 20 === 0 ? 3 : 0), () => (sum += n)))
      yield* Fiber.join(producer)
      expect(sum).toBe(199 * 100)
    })))

  it.effect("with detection turned off, the same deadlock just hangs (what the check saves you from)", () =>
    Effect.gen(function*() {
      const hung = yield* Effect.fork(LeakCheck.verifyNone(
        Effect.flatMap(Chan.make<number>(0, { name: "results" }), (ch) => Chan.send(ch, 1)),
        { deadlock: false }
      ))
      yield* eventLoopTurns(10)
      expect(hung.unsafePoll()).toBeNull()
      yield* Fiber.interrupt(hung)
    }))
})

