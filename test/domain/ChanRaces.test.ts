/**
 * The races between an interruption and a counterpart that completes a parked operation before
 * the interrupted fiber runs again (`Fiber.interruptAsFork` followed, in the same tick, by the
 * counterpart's send or receive), and `toStream` taking no more than its consumer pulls.
 * Each test is a defect found against the README's promises (issue 9.3).
 */
import { describe, expect, it } from "../../src/vitest.js"
import { Chunk, Effect, Exit, Fiber, FiberId, Option, Stream } from "effect"
import * as Chan from "../../src/domain/Chan.js"
import { parkedOn } from "../support/fibers.js"

/** Requests the interruption of `fiber` without waiting: it is processed when `fiber` next runs. */
const requestInterrupt = (fiber: Fiber.RuntimeFiber<unknown, unknown>) => Fiber.interruptAsFork(fiber, FiberId.none)

describe("Chan: an operation completed by its counterpart before the interrupted fiber ran again", () => {
  it.effect("once receive returned None on a closed channel, it never returns a value again", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<string>()
      const receiver = yield* Effect.fork(Chan.receive(ch))
      yield* parkedOn(receiver)
      yield* requestInterrupt(receiver)
      yield* Chan.send(ch, "handed over") // the parked receiver takes it before it sees the interrupt
      yield* Chan.close(ch)
      expect(yield* Chan.receive(ch)).toEqual(Option.none())
      const exit = yield* Fiber.await(receiver)
      expect(yield* Chan.receive(ch)).toEqual(Option.none())
      // the value went to exactly one receive: the one that took it
      expect(exit).toEqual(Exit.succeed(Option.some("handed over")))
    }))

  it.effect("len never exceeds cap: unbuffered stays 0 after a receiver is interrupted holding a value", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>()
      const receiver = yield* Effect.fork(Chan.receive(ch))
      yield* parkedOn(receiver)
      yield* requestInterrupt(receiver)
      yield* Chan.send(ch, 1)
      yield* Fiber.await(receiver)
      expect(yield* Chan.len(ch)).toBe(0)
    }))

  it.effect("len never exceeds cap: a full Chan(2) stays at 2", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>(2)
      const receiver = yield* Effect.fork(Chan.receive(ch))
      yield* parkedOn(receiver)
      yield* requestInterrupt(receiver)
      yield* Chan.send(ch, 1) // handed to the parked receiver
      yield* Chan.send(ch, 2)
      yield* Chan.send(ch, 3) // the buffer is full
      const exit = yield* Fiber.await(receiver)
      expect(yield* Chan.len(ch)).toBe(2)
      const rest = [yield* Chan.receive(ch), yield* Chan.receive(ch)].map(Option.getOrThrow)
      expect({ exit, rest }).toEqual({ exit: Exit.succeed(Option.some(1)), rest: [2, 3] })
    }))

  it.effect("a send whose parked value was taken completes successfully even if its interruption was requested first", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<string>()
      const sender = yield* Effect.fork(Chan.send(ch, "once"))
      yield* parkedOn(sender)
      yield* requestInterrupt(sender)
      expect(yield* Chan.receive(ch)).toEqual(Option.some("once"))
      expect(yield* Fiber.await(sender)).toEqual(Exit.void)
    }))

  it.effect("a producer that resends what an interrupted send did not deliver never sends a value twice", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>()
      const received: Array<number> = []
      for (let round = 0; round < 20; round++) {
        const sender = yield* Effect.fork(Chan.send(ch, round))
        yield* parkedOn(sender)
        yield* requestInterrupt(sender)
        if (round % 2 === 0) received.push(Option.getOrThrow(yield* Chan.receive(ch)))
        const exit = yield* Fiber.await(sender)
        // the producer's rule: an interrupted send did not deliver, so send it again
        if (Exit.isInterrupted(exit)) {
          const again = yield* Effect.fork(Chan.send(ch, round))
          received.push(Option.getOrThrow(yield* Chan.receive(ch)))
          yield* Fiber.join(again)
        }
      }
      expect(received).toEqual(Array.from({ length: 20 }, (_, i) => i))
    }))

  it.effect("a select whose send case was taken runs that case, not an interruption", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<string>()
      const other = yield* Chan.make<string>()
      const selector = yield* Effect.fork(Chan.select([
        Chan.onSend(ch, "sent by select", () => Effect.succeed("send case ran")),
        Chan.onReceive(other, () => Effect.succeed("receive case ran"))
      ]))
      yield* parkedOn(selector)
      yield* requestInterrupt(selector)
      expect(yield* Chan.receive(ch)).toEqual(Option.some("sent by select"))
      expect(yield* Fiber.await(selector)).toEqual(Exit.succeed("send case ran"))
    }))

  it.effect("a select whose receive case was handed a value runs that case with it", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<string>()
      const selector = yield* Effect.fork(Chan.select([Chan.onReceive(ch, (v) => Effect.succeed(v))]))
      yield* parkedOn(selector)
      yield* requestInterrupt(selector)
      yield* Chan.send(ch, "taken by select")
      yield* Chan.close(ch)
      expect(yield* Fiber.await(selector)).toEqual(Exit.succeed(Option.some("taken by select")))
      expect(yield* Chan.receive(ch)).toEqual(Option.none())
    }))

  it.effect("the requested interruption still ends the fiber at its next channel operation", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>()
      const out = yield* Chan.make<number>(10)
      const relay = yield* Effect.fork(Effect.forever(Effect.flatMap(Chan.receive(ch), (v) => Chan.send(out, Option.getOrThrow(v)))))
      yield* parkedOn(relay)
      yield* requestInterrupt(relay)
      yield* Chan.send(ch, 1)
      expect(Exit.isInterrupted(yield* Fiber.await(relay))).toBe(true)
      // the interruption took effect at the relay's send: it forwarded nothing
      expect(yield* Chan.len(out)).toBe(0)
    }))
})

describe("Chan.toStream takes only what its consumer pulls", () => {
  it.effect("Stream.take(toStream(ch), 1) over a buffer of 4 leaves the other 3 in the channel (range + break)", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>(4)
      yield* Chan.sendAll(ch, [1, 2, 3, 4])
      expect(Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(Chan.toStream(ch), 1)))).toEqual([1])
      expect(yield* Chan.len(ch)).toBe(3)
      yield* Chan.close(ch)
      const rest: Array<number> = []
      yield* Chan.forEach(ch, (v) => Effect.sync(() => rest.push(v)))
      expect(rest).toEqual([2, 3, 4])
    }))

  it.effect("an interrupted toStream consumer leaves every value it had not seen in the channel", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>(8)
      yield* Chan.sendAll(ch, [1, 2, 3, 4, 5])
      const seen: Array<number> = []
      const consumer = yield* Effect.fork(
        Stream.runForEach(Chan.toStream(ch), (v) => Effect.zipRight(Effect.sync(() => seen.push(v)), v === 2 ? Effect.never : Effect.void))
      )
      while (seen.length < 2) yield* Effect.yieldNow()
      yield* Fiber.interrupt(consumer)
      yield* Chan.close(ch)
      const rest: Array<number> = []
      yield* Chan.forEach(ch, (v) => Effect.sync(() => rest.push(v)))
      expect({ seen, rest }).toEqual({ seen: [1, 2], rest: [3, 4, 5] })
    }))
})

/**
 * Runs `op` and calls `record` in the runtime step in which it completed (the callbacks of
 * `matchCauseEffect` are called as the result is handed on), or never if it was interrupted.
 */
const observe = <A>(op: Effect.Effect<A>, record: (a: A) => void): Effect.Effect<void> =>
  Effect.matchCauseEffect(op, {
    onSuccess: (a) => {
      record(a)
      return Effect.void
    },
    onFailure: () => Effect.void
  })

describe("Chan: an operation's outcome tells the truth wherever the scheduler yields", () => {
  it.effect("a send that returns (fast path, no park) delivered; one that does not return did not, under yields at every step and an interruption", () =>
    Effect.gen(function*() {
      const lies: Array<string> = []
      for (let budget = 16; budget < 48; budget++) {
        for (let before = 0; before < 4; before++) {
          const ch = yield* Chan.make<number>(1_000)
          let completed = 0
          const sender = yield* Effect.fork(
            Effect.gen(function*() {
              for (let i = 0; i < 200; i++) {
                yield* Effect.matchCauseEffect(Chan.send(ch, i), {
                  onSuccess: () => {
                    completed++ // in the runtime step the send completed in
                    return Effect.void
                  },
                  onFailure: () => Effect.void
                })
              }
            }).pipe(Effect.withMaxOpsBeforeYield(budget))
          )
          for (let k = 0; k < before; k++) yield* Effect.yieldNow()
          yield* requestInterrupt(sender)
          yield* Fiber.await(sender)
          const buffered = yield* Chan.len(ch)
          if (buffered !== completed) lies.push(`budget ${budget}, ${before} yields: ${buffered} buffered, ${completed} sends returned`)
        }
      }
      expect(lies).toEqual([])
    }))

  it.effect("receiveUpTo hands every value it took to its caller, under yields at every step and an interruption", () =>
    Effect.gen(function*() {
      const lost: Array<string> = []
      for (let budget = 16; budget < 48; budget++) {
        for (let before = 0; before < 4; before++) {
          const ch = yield* Chan.make<number>(1_000)
          yield* Chan.sendAll(ch, Array.from({ length: 600 }, (_, i) => i))
          let taken = 0
          const consumer = yield* Effect.fork(
            Effect.forever(observe(Chan.receiveUpTo(ch, 3), (values) => (taken += values.length))).pipe(Effect.withMaxOpsBeforeYield(budget))
          )
          for (let k = 0; k < before; k++) yield* Effect.yieldNow()
          yield* requestInterrupt(consumer)
          yield* Fiber.await(consumer)
          const left = yield* Chan.len(ch)
          if (taken + left !== 600) lost.push(`budget ${budget}, ${before} yields: ${taken} taken + ${left} left`)
        }
      }
      expect(lost).toEqual([])
    }))

  it.effect("a receive that found a value while registering its park keeps it, wherever the scheduler yields and the interruption lands", () =>
    Effect.gen(function*() {
      const lost: Array<string> = []
      // Budgets below ~10 ops can livelock Effect's own runtime when interrupted; 12 is enough
      // for the receiver to yield both before and after registering its park.
      for (let budget = 12; budget < 24; budget++) {
        for (let beforeSend = 0; beforeSend < 4; beforeSend++) {
          for (let beforeInterrupt = 0; beforeInterrupt < 6; beforeInterrupt++) {
            const ch = yield* Chan.make<number>()
            let got: Option.Option<number> | undefined
            const receiver = yield* Effect.fork(observe(Chan.receive(ch), (v) => (got = v)).pipe(Effect.withMaxOpsBeforeYield(budget)))
            for (let k = 0; k < beforeSend; k++) yield* Effect.yieldNow()
            const sender = yield* Effect.fork(Chan.send(ch, 7))
            for (let k = 0; k < beforeInterrupt; k++) yield* Effect.yieldNow()
            yield* requestInterrupt(receiver)
            yield* Fiber.await(receiver)
            // Either the receiver got 7 (and the send completed), or 7 is still on offer.
            const left = yield* Chan.select([Chan.onReceive(ch, (v) => Effect.succeed(v))], {
              default: () => Effect.succeed(Option.none())
            })
            const received = got !== undefined && Option.isSome(got) ? 1 : 0
            const stillThere = Option.isSome(left) ? 1 : 0
            if (received + stillThere !== 1) {
              lost.push(`budget ${budget}, send after ${beforeSend}, interrupt after ${beforeInterrupt} yields: received ${received}, left ${stillThere}`)
            }
            yield* Fiber.await(sender)
          }
        }
      }
      expect(lost).toEqual([])
    }))
})
