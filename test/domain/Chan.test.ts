import { describe, expect, it } from "../../src/vitest.js"
import { Cause, Chunk, Effect, Exit, Fiber, Option, Stream, TestClock } from "effect"
import * as Chan from "../../src/domain/Chan.js"
import { awaitSuspended, isAlive } from "../support/fibers.js"

/** The `ChanPanic` reason a failed exit died with, if any. */
const panicOf = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const defect = Cause.dieOption(exit.cause)
  return Option.isSome(defect) && Chan.isChanPanic(defect.value) ? defect.value.reason : undefined
}

describe("Chan: unbuffered (make(chan T))", () => {
  it.effect("a send completes only when a receiver has taken the value", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>()
      const sender = yield* Effect.fork(Chan.send(ch, 1))
      yield* awaitSuspended(sender)
      expect(isAlive(sender)).toBe(true)
      expect(yield* Chan.len(ch)).toBe(0)
      expect(yield* Chan.receive(ch)).toEqual(Option.some(1))
      yield* Fiber.join(sender)
    }))

  it.effect("a receiver waiting first gets the value handed over directly", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<string>()
      const receiver = yield* Effect.fork(Chan.receive(ch))
      yield* awaitSuspended(receiver)
      yield* Chan.send(ch, "hello")
      expect(yield* Fiber.join(receiver)).toEqual(Option.some("hello"))
    }))

  it.effect("parked senders are served in FIFO order", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>()
      const senders: Array<Fiber.RuntimeFiber<void>> = []
      for (let i = 0; i < 5; i++) {
        const f = yield* Effect.fork(Chan.send(ch, i))
        yield* awaitSuspended(f)
        senders.push(f)
      }
      const got: Array<number> = []
      for (let i = 0; i < 5; i++) got.push(Option.getOrThrow(yield* Chan.receive(ch)))
      expect(got).toEqual([0, 1, 2, 3, 4])
      yield* Fiber.joinAll(senders)
    }))

  it.effect("a sender interrupted while blocked never delivers its value", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<string>()
      const withdrawn = yield* Effect.fork(Chan.send(ch, "withdrawn"))
      yield* awaitSuspended(withdrawn)
      yield* Fiber.interrupt(withdrawn)
      const late = yield* Effect.fork(Chan.send(ch, "late"))
      yield* awaitSuspended(late)
      expect(yield* Chan.receive(ch)).toEqual(Option.some("late"))
      yield* Fiber.join(late)
      // nothing else is pending: a non-blocking receive finds nothing
      const polled = yield* Chan.select([Chan.onReceive(ch, (v) => Effect.succeed(v))], {
        default: () => Effect.succeed("nothing")
      })
      expect(polled).toBe("nothing")
    }))

  it.effect("a receiver interrupted while blocked takes nothing", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>(0)
      const gaveUp = yield* Effect.fork(Chan.receive(ch))
      yield* awaitSuspended(gaveUp)
      yield* Fiber.interrupt(gaveUp)
      const sender = yield* Effect.fork(Chan.send(ch, 7))
      yield* awaitSuspended(sender)
      expect(isAlive(sender)).toBe(true)
      expect(yield* Chan.receive(ch)).toEqual(Option.some(7))
      yield* Fiber.join(sender)
    }))
})

describe("Chan: buffered (make(chan T, n))", () => {
  it.effect("a send blocks only while n values are buffered", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>(2)
      yield* Chan.send(ch, 1)
      yield* Chan.send(ch, 2)
      expect(yield* Chan.len(ch)).toBe(2)
      expect(Chan.cap(ch)).toBe(2)
      const third = yield* Effect.fork(Chan.send(ch, 3))
      yield* awaitSuspended(third)
      expect(isAlive(third)).toBe(true)
      expect(yield* Chan.receive(ch)).toEqual(Option.some(1))
      yield* Fiber.join(third) // the freed slot took the parked value
      expect(yield* Chan.len(ch)).toBe(2)
      expect(yield* Chan.receive(ch)).toEqual(Option.some(2))
      expect(yield* Chan.receive(ch)).toEqual(Option.some(3))
    }))

  it.effect("close does not drop the buffer: values sent before close are still received, then None", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>(3)
      yield* Chan.sendAll(ch, [1, 2, 3])
      yield* Chan.close(ch)
      expect(yield* Chan.receive(ch)).toEqual(Option.some(1))
      expect(yield* Chan.receive(ch)).toEqual(Option.some(2))
      expect(yield* Chan.receive(ch)).toEqual(Option.some(3))
      expect(yield* Chan.receive(ch)).toEqual(Option.none())
      expect(yield* Chan.receive(ch)).toEqual(Option.none())
    }))

  it("make rejects a negative or fractional capacity", () => {
    expect(() => Chan.unsafeMake(-1)).toThrow(/capacity/)
    expect(() => Chan.unsafeMake(1.5)).toThrow(/capacity/)
  })
})

describe("Chan: close (Go's panics are defects)", () => {
  it.effect("send on a closed channel dies with ChanPanic 'send on closed channel'", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>(1)
      yield* Chan.close(ch)
      const exit = yield* Effect.exit(Chan.send(ch, 1))
      expect(panicOf(exit)).toBe("SendOnClosed")
      expect(new Chan.ChanPanic({ reason: "SendOnClosed" }).message).toBe("send on closed channel")
    }))

  it.effect("a sender blocked when the channel is closed dies the same way", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>()
      const sender = yield* Effect.fork(Chan.send(ch, 1))
      yield* awaitSuspended(sender)
      yield* Chan.close(ch)
      expect(panicOf(yield* Fiber.await(sender))).toBe("SendOnClosed")
    }))

  it.effect("receivers blocked at close are woken with None", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>()
      const receivers = yield* Effect.forEach([1, 2, 3], () => Effect.fork(Chan.receive(ch)))
      for (const r of receivers) yield* awaitSuspended(r)
      yield* Chan.close(ch)
      expect(yield* Fiber.joinAll(receivers).pipe(Effect.andThen(Effect.forEach(receivers, Fiber.join)))).toEqual([
        Option.none(),
        Option.none(),
        Option.none()
      ])
    }))

  it.effect("a second close dies with 'close of closed channel'", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>()
      yield* Chan.close(ch)
      expect(yield* Chan.isClosed(ch)).toBe(true)
      expect(panicOf(yield* Effect.exit(Chan.close(ch)))).toBe("CloseOfClosed")
    }))

  it.effect("closing a nil channel dies with 'close of nil channel'", () =>
    Effect.gen(function*() {
      expect(panicOf(yield* Effect.exit(Chan.close(Chan.nil<number>())))).toBe("CloseOfNil")
    }))

  it.effect("catchAllDefect plays recover(): the panic is an ordinary defect", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>()
      yield* Chan.close(ch)
      const recovered = yield* Chan.close(ch).pipe(
        Effect.as("no panic"),
        Effect.catchAllDefect((d) => Effect.succeed(`recovered: ${(d as Chan.ChanPanic).message}`))
      )
      expect(recovered).toBe("recovered: close of closed channel")
    }))

  it("only the owner can close: a receive-only view has no close (checked by the type checker)", () => {
    const ch = Chan.unsafeMake<number>()
    const recvOnly: Chan.RecvChan<number> = ch
    const sendOnly: Chan.SendChan<number> = ch
    // @ts-expect-error a <-chan T cannot be closed
    const closeRecv = () => Chan.close(recvOnly)
    // @ts-expect-error a chan<- T cannot be received from
    const receiveSend = () => Chan.receive(sendOnly)
    expect(typeof closeRecv).toBe("function")
    expect(typeof receiveSend).toBe("function")
  })
})

describe("Chan: nil channels", () => {
  it.effect("send and receive on a nil channel block until interrupted", () =>
    Effect.gen(function*() {
      const nil = Chan.nil<number>()
      const sender = yield* Effect.fork(Chan.send(nil, 1))
      const receiver = yield* Effect.fork(Chan.receive(nil))
      yield* awaitSuspended(sender)
      yield* awaitSuspended(receiver)
      yield* TestClock.adjust("1 hour")
      expect(isAlive(sender) && isAlive(receiver)).toBe(true)
      yield* Fiber.interrupt(sender)
      yield* Fiber.interrupt(receiver)
    }))

  it.effect("select skips nil channels; with only nil cases and a default, the default runs", () =>
    Effect.gen(function*() {
      const ready = yield* Chan.make<string>(1)
      yield* Chan.send(ready, "ready")
      const nil = Chan.nil<string>()
      for (let i = 0; i < 20; i++) {
        const v = yield* Chan.select([Chan.onReceive(nil, () => Effect.succeed("nil")), Chan.onReceive(ready, (o) => Effect.succeed(Option.getOrThrow(o)))])
        expect(v).toBe("ready")
        yield* Chan.send(ready, "ready")
      }
      const d = yield* Chan.select([Chan.onReceive(nil, () => Effect.succeed("nil"))], { default: () => Effect.succeed("default") })
      expect(d).toBe("default")
    }))

  it.effect("a select over nil channels only, without default, blocks until interrupted", () =>
    Effect.gen(function*() {
      const f = yield* Effect.fork(Chan.select([Chan.onReceive(Chan.nil<number>(), () => Effect.void)]))
      yield* awaitSuspended(f)
      expect(isAlive(f)).toBe(true)
      yield* Fiber.interrupt(f)
    }))
})

describe("Chan: select", () => {
  it.effect("with a default, select does not block when no case is ready", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>()
      const r = yield* Chan.select([Chan.onReceive(ch, () => Effect.succeed("received")), Chan.onSend(ch, 1, () => Effect.succeed("sent"))], {
        default: () => Effect.succeed("default")
      })
      expect(r).toBe("default")
    }))

  it.effect("the default does not run when a case is ready", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>(1)
      yield* Chan.send(ch, 42)
      const r = yield* Chan.select([Chan.onReceive(ch, (v) => Effect.succeed(v))], { default: () => Effect.succeed("default") })
      expect(r).toEqual(Option.some(42))
    }))

  it.effect("a blocked select runs the case that becomes ready, and only that one", () =>
    Effect.gen(function*() {
      const a = yield* Chan.make<string>()
      const b = yield* Chan.make<string>()
      const out = yield* Chan.make<number>()
      const selector = yield* Effect.fork(
        Chan.select([
          Chan.onReceive(a, (v) => Effect.succeed(`a:${Option.getOrThrow(v)}`)),
          Chan.onReceive(b, (v) => Effect.succeed(`b:${Option.getOrThrow(v)}`)),
          Chan.onSend(out, 1, () => Effect.succeed("sent"))
        ])
      )
      yield* awaitSuspended(selector)
      yield* Chan.send(b, "x")
      expect(yield* Fiber.join(selector)).toBe("b:x")
      // the losing cases were withdrawn: nobody takes from `a`, nobody sends on `out`
      const late = yield* Effect.fork(Chan.send(a, "late"))
      yield* awaitSuspended(late)
      expect(isAlive(late)).toBe(true)
      expect(yield* Chan.select([Chan.onReceive(out, () => Effect.succeed("got"))], { default: () => Effect.succeed("none") })).toBe("none")
      yield* Fiber.interrupt(late)
    }))

  it.effect("a select send case completes when a receiver arrives", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>()
      const selector = yield* Effect.fork(Chan.select([Chan.onSend(ch, 9, () => Effect.succeed("sent"))]))
      yield* awaitSuspended(selector)
      expect(yield* Chan.receive(ch)).toEqual(Option.some(9))
      expect(yield* Fiber.join(selector)).toBe("sent")
    }))

  it.effect("a select receive case sees None when its channel is closed", () =>
    Effect.gen(function*() {
      const done = yield* Chan.make<never>()
      const selector = yield* Effect.fork(Chan.select([Chan.onReceive(done, (v) => Effect.succeed(Option.isNone(v)))]))
      yield* awaitSuspended(selector)
      yield* Chan.close(done)
      expect(yield* Fiber.join(selector)).toBe(true)
    }))

  it.effect("a select send case on a channel closed under it dies with SendOnClosed", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>()
      const selector = yield* Effect.fork(Chan.select([Chan.onSend(ch, 1, () => Effect.void)]))
      yield* awaitSuspended(selector)
      yield* Chan.close(ch)
      expect(panicOf(yield* Fiber.await(selector))).toBe("SendOnClosed")
    }))

  it.effect("an interrupted select withdraws every case", () =>
    Effect.gen(function*() {
      const a = yield* Chan.make<number>()
      const b = yield* Chan.make<number>()
      const selector = yield* Effect.fork(
        Chan.select([Chan.onReceive(a, () => Effect.void), Chan.onSend(b, 1, () => Effect.void)])
      )
      yield* awaitSuspended(selector)
      yield* Fiber.interrupt(selector)
      const r = yield* Chan.select([Chan.onSend(a, 1, () => Effect.succeed("sent a")), Chan.onReceive(b, () => Effect.succeed("got b"))], {
        default: () => Effect.succeed("nobody there")
      })
      expect(r).toBe("nobody there")
    }))

  it.effect("when several cases are ready, each is chosen about equally often (Go's random choice)", () =>
    Effect.gen(function*() {
      const a = yield* Chan.make<number>(1)
      const b = yield* Chan.make<number>(1)
      const counts = { a: 0, b: 0 }
      const rounds = 4000
      for (let i = 0; i < rounds; i++) {
        yield* Chan.send(a, i)
        yield* Chan.send(b, i)
        const which = yield* Chan.select([
          Chan.onReceive(a, () => Effect.succeed("a" as const)),
          Chan.onReceive(b, () => Effect.succeed("b" as const))
        ])
        counts[which]++
        // drain the loser so both are ready again next round
        yield* Chan.receive(which === "a" ? b : a)
      }
      expect(counts.a + counts.b).toBe(rounds)
      expect(counts.a / rounds).toBeGreaterThan(0.45)
      expect(counts.a / rounds).toBeLessThan(0.55)
    }))

  it.effect("a select never loses a value: many selectors, racing senders and interruptions, every value exactly once", () =>
    Effect.gen(function*() {
      const chans = [yield* Chan.make<number>(), yield* Chan.make<number>(1), yield* Chan.make<number>(4)]
      const perSender = 300
      const received: Array<number> = []
      const sent: Array<number> = []
      const senders = yield* Effect.forEach(chans, (ch, c) =>
        Effect.fork(Effect.forEach(Array.from({ length: perSender }, (_, i) => c * perSender + i), (v) =>
          Chan.send(ch, v).pipe(Effect.tap(() => Effect.sync(() => sent.push(v)))), { discard: true })))
      const selectOnce = Chan.select(chans.map((ch) => Chan.onReceive(ch, (v) => Effect.sync(() => {
        if (Option.isSome(v)) received.push(v.value)
      }))))
      // Selectors that get interrupted at arbitrary points, replaced by new ones, until all is sent.
      let round = 0
      while (received.length < chans.length * perSender) {
        const selectors = yield* Effect.forEach([1, 2, 3, 4], () => Effect.fork(Effect.forever(selectOnce)))
        for (let i = 0; i < (round % 7) + 1; i++) yield* Effect.yieldNow()
        yield* Fiber.interruptAll(selectors)
        round++
        if (round > 20_000) break
      }
      yield* Fiber.joinAll(senders)
      expect(sent.length).toBe(chans.length * perSender)
      expect([...received].sort((x, y) => x - y)).toEqual([...sent].sort((x, y) => x - y))
    }), 30_000)
})

describe("Chan: ranging", () => {
  it.effect("forEach runs on every value until the channel is closed and drained (for v := range ch)", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>(2)
      const producer = yield* Effect.fork(Chan.sendAll(ch, [1, 2, 3, 4, 5]).pipe(Effect.zipRight(Chan.close(ch))))
      const seen: Array<number> = []
      yield* Chan.forEach(ch, (v) => Effect.sync(() => seen.push(v)))
      expect(seen).toEqual([1, 2, 3, 4, 5])
      yield* Fiber.join(producer)
    }))

  it.effect("toStream yields every value in order and ends at close", () =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>()
      const producer = yield* Effect.fork(Chan.sendAll(ch, [1, 2, 3]).pipe(Effect.zipRight(Chan.close(ch))))
      expect(Chunk.toReadonlyArray(yield* Stream.runCollect(Chan.toStream(ch)))).toEqual([1, 2, 3])
      yield* Fiber.join(producer)
    }))

  it.effect("interrupting a consumer that ranges over a channel leaves the producer parked, not leaked, once its scope closes", () =>
    Effect.scoped(Effect.gen(function*() {
      const ch = yield* Chan.make<number>()
      yield* Effect.forkScoped(Effect.forever(Chan.send(ch, 1)))
      const taken = yield* Stream.runCollect(Stream.take(Chan.toStream(ch), 3))
      expect(Chunk.size(taken)).toBe(3)
    })))
})

describe("Chan: or-channel (seed 002)", () => {
  it.scoped("or is done as soon as any input is done", () =>
    Effect.gen(function*() {
      const dones = [yield* Chan.make<never>(), yield* Chan.make<never>(), yield* Chan.make<never>(), yield* Chan.make<never>()]
      const any = yield* Effect.scoped(Effect.gen(function*() {
        const orDone = yield* Chan.or(...dones)
        const waiter = yield* Effect.fork(Chan.receive(orDone))
        yield* awaitSuspended(waiter)
        expect(isAlive(waiter)).toBe(true)
        yield* Chan.close(dones[2]!)
        return yield* Fiber.join(waiter)
      }))
      expect(any).toEqual(Option.none())
    }))

  it.effect("or with time-based signals completes at the earliest (virtual time)", () =>
    Effect.scoped(Effect.gen(function*() {
      const after = (ms: number) =>
        Effect.gen(function*() {
          const ch = yield* Chan.make<never>()
          yield* Effect.forkScoped(Effect.sleep(`${ms} millis`).pipe(Effect.zipRight(Chan.close(ch))))
          return ch
        })
      const signals = yield* Effect.all([after(2 * 60 * 60_000), after(5 * 60_000), after(1_000), after(60 * 60_000), after(60_000)])
      const orDone = yield* Chan.or(...signals)
      const waiter = yield* Effect.fork(Chan.receive(orDone))
      yield* TestClock.adjust("999 millis")
      expect(isAlive(waiter)).toBe(true)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(waiter)
    })))

  it.effect("or leaves no fiber behind when its scope closes before any input is done", () =>
    Effect.gen(function*() {
      const dones = [yield* Chan.make<never>(), yield* Chan.make<never>()]
      yield* Effect.scoped(Chan.or(...dones))
    }))

  it.effect("or's result is closed even when its scope closes before the watcher fiber ever ran", () =>
    Effect.gen(function*() {
      const dones = [yield* Chan.make<never>(), yield* Chan.make<never>()]
      const orDone = yield* Effect.scoped(Chan.or(...dones))
      expect(yield* Chan.isClosed(orDone)).toBe(true)
    }))

  it.effect("or of nothing is never done; or of one is that one", () =>
    Effect.gen(function*() {
      const one = yield* Chan.make<never>()
      expect(yield* Effect.scoped(Chan.or(one))).toBe(one)
      const none = yield* Effect.scoped(Chan.or())
      expect(yield* Chan.select([Chan.onReceive(none, () => Effect.succeed("done"))], { default: () => Effect.succeed("open") })).toBe("open")
    }))
})

describe("Chan: no missed wake-up when the runtime yields between trying and parking", () => {
  it.effect.each([0, 1, 4])("capacity %i: 2000 values pass with a yield every few steps", (capacity) =>
    Effect.gen(function*() {
      const ch = yield* Chan.make<number>(capacity)
      const producer = yield* Effect.fork(Chan.sendAll(ch, Array.from({ length: 2000 }, (_, i) => i)).pipe(Effect.zipRight(Chan.close(ch))))
      let sum = 0
      yield* Chan.forEach(ch, (v) => Effect.sync(() => (sum += v)))
      yield* Fiber.join(producer)
      expect(sum).toBe((1999 * 2000) / 2)
    }).pipe(Effect.withMaxOpsBeforeYield(20)))
})

