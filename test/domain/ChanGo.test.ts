/**
 * Go's own channel tests, ported as behaviour (golang/go `test/chan/*.go` and
 * `src/runtime/chan_test.go`): each test names the Go file or function it comes from. Where Go
 * sleeps to let a goroutine block, these wait until the fiber is parked (`parkedOn`); where Go
 * leaves goroutines running at exit, they live in a scope and `LeakCheck` proves they all end.
 */
import { describe, expect, it } from "../../src/vitest.js"
import { Effect, Fiber, Option } from "effect"
import * as Chan from "../../src/domain/Chan.js"
import { isAlive, parkedOn } from "../support/fibers.js"

/** `select { case ch <- v: true; default: false }` */
const trySend = <A>(ch: Chan.SendChan<A>, v: A): Effect.Effect<boolean> =>
  Chan.select([Chan.onSend(ch, v, () => Effect.succeed(true))], { default: () => Effect.succeed(false) })

/** `select { case v, ok := <-ch: Some(...); default: undefined }` */
const tryReceive = <A>(ch: Chan.RecvChan<A>): Effect.Effect<Option.Option<A> | undefined> =>
  Chan.select([Chan.onReceive(ch, (v) => Effect.succeed<Option.Option<A> | undefined>(v))], {
    default: () => Effect.succeed(undefined)
  })

/** Go's `testBlock(always, f)`: `f` parks on a channel and stays parked. */
const blocks = (f: Effect.Effect<unknown>): Effect.Effect<string> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(f)
    const on = yield* parkedOn(fiber)
    for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
    expect(isAlive(fiber)).toBe(true)
    yield* Fiber.interrupt(fiber)
    return on
  })

/** Go's `testBlock(never, f)`: `f` completes without waiting for anyone. */
const neverBlocks = <A, E>(f: Effect.Effect<A, E>): Effect.Effect<A, E> => f

const panicOf = <A>(f: Effect.Effect<A>): Effect.Effect<string | undefined> =>
  Effect.map(Effect.exit(f), (exit) => {
    if (exit._tag === "Success") return undefined
    const d = exit.cause._tag === "Die" ? exit.cause.defect : undefined
    return Chan.isChanPanic(d) ? d.reason : "other"
  })

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

describe("Go test/chan", () => {
  it.effect("doubleselect.go: a select over four channels runs exactly one case per iteration (no value twice)", () =>
    Effect.gen(function*() {
      const n = 20_000
      const cs = [yield* Chan.make<number>(), yield* Chan.make<number>(), yield* Chan.make<number>(), yield* Chan.make<number>()]
      const cmux = yield* Chan.make<number>()
      const sender = Effect.ensuring(
        Effect.forEach(range(n), (i) => Chan.select(cs.map((c) => Chan.onSend(c, i, () => Effect.void))), { discard: true }),
        Effect.forEach(cs, Chan.close, { discard: true })
      )
      const mux = (inp: Chan.RecvChan<number>) => Chan.forEach(inp, (v) => Chan.send(cmux, v))
      yield* Effect.fork(sender)
      yield* Effect.fork(Effect.zipRight(Effect.all(cs.map(mux), { concurrency: "unbounded" }), Chan.close(cmux)))
      const seen = new Set<number>()
      let duplicates = 0
      yield* Chan.forEach(cmux, (v) =>
        Effect.sync(() => {
          if (seen.has(v)) duplicates++
          seen.add(v)
        }))
      expect({ duplicates, received: seen.size }).toEqual({ duplicates: 0, received: n })
    }))

  it.effect.each([0, 1])("nonblock.go (buffer %i): a non-blocking operation succeeds exactly when a counterpart is ready", (buffer) =>
    Effect.gen(function*() {
      const values: ReadonlyArray<readonly [unknown, unknown]> = [[123, 234], [123456n, 234567n], [true, false], ["hello", "hello again"]]
      for (const [toReceiver, fromSender] of values) {
        const c = yield* Chan.make<unknown>(buffer)
        const sync = yield* Chan.make<boolean>()
        expect(yield* tryReceive(c)).toBeUndefined() // nothing ready
        const receiver = yield* Effect.fork(Effect.zipRight(
          Effect.flatMap(Chan.receive(c), (v) => Effect.sync(() => expect(v).toEqual(Option.some(toReceiver)))),
          Chan.send(sync, true)
        ))
        yield* parkedOn(receiver)
        expect(yield* trySend(c, toReceiver)).toBe(true) // a parked receiver is ready
        yield* Chan.receive(sync)
        const sender = yield* Effect.fork(Effect.zipRight(Chan.send(c, fromSender), Chan.send(sync, true)))
        if (buffer > 0) yield* Chan.receive(sync) // the send went to the buffer
        else yield* parkedOn(sender)
        expect(yield* tryReceive(c)).toEqual(Option.some(fromSender))
        if (buffer === 0) yield* Chan.receive(sync)
        yield* Fiber.join(sender)
      }
    }))

  it.effect("select.go: every case's expression is evaluated, nil channels are never chosen, default ends the loop", () =>
    Effect.gen(function*() {
      let counter = 0
      let shift = 0
      const getValue = () => {
        counter++
        return 1 << shift
      }
      const send = (a0: Chan.Chan<number>, b0: Chan.Chan<number>) =>
        Effect.gen(function*() {
          let a = a0
          let b = b0
          let i = 0
          while (true) {
            const done = yield* Chan.select([
              Chan.onSend(a, getValue(), () => Effect.sync(() => {
                i++
                a = Chan.nil()
                return false
              })),
              Chan.onSend(b, getValue(), () => Effect.sync(() => {
                i++
                b = Chan.nil()
                return false
              }))
            ], { default: () => Effect.succeed(true) })
            if (done) return i
            shift++
          }
        })
      const a = yield* Chan.make<number>(1)
      const b = yield* Chan.make<number>(1)
      expect(yield* send(a, b)).toBe(2)
      const av = Option.getOrThrow(yield* Chan.receive(a))
      const bv = Option.getOrThrow(yield* Chan.receive(b))
      expect(av | bv).toBe(3)
      expect(yield* send(a, Chan.nil())).toBe(1)
      expect(counter).toBe(10)
    }))

  it.effect("select3.go: which operations block, which panic, which never block", () =>
    Effect.gen(function*() {
      const nilch = Chan.nil<number>()
      const closedch = yield* Chan.make<number>()
      yield* Chan.close(closedch)
      const unreachable = () => Effect.die("control flow shouldn't reach here")
      // nil channels block, and a select never picks them
      expect(yield* blocks(Chan.send(nilch, 7))).toBe("chan (nil)")
      expect(yield* blocks(Chan.receive(nilch))).toBe("chan (nil)")
      yield* Chan.select([Chan.onSend(nilch, 7, unreachable)], { default: () => Effect.void })
      yield* Chan.select([Chan.onReceive(nilch, unreachable)], { default: () => Effect.void })
      // sending to a buffered channel with room, receiving from a closed one: never block
      yield* neverBlocks(Effect.flatMap(Chan.make<number>(1), (ch) => Chan.send(ch, 7)))
      for (let i = 0; i < 10; i++) expect(yield* neverBlocks(Chan.receive(closedch))).toEqual(Option.none())
      // sending to a closed channel panics
      expect(yield* panicOf(Chan.send(closedch, 7))).toBe("SendOnClosed")
      // receiving from a channel nobody sends to blocks; so do an empty select and nil-only selects
      expect(yield* blocks(Effect.flatMap(Chan.make<number>(), Chan.receive))).toBe("chan receive")
      yield* blocks(Chan.select([]))
      yield* blocks(Chan.select([Chan.onReceive(nilch, unreachable)]))
      yield* blocks(Chan.select([Chan.onSend(nilch, 7, unreachable)]))
      yield* blocks(Chan.select([Chan.onReceive(nilch, unreachable), Chan.onSend(nilch, 7, unreachable)]))
      expect(yield* blocks(Effect.flatMap(Chan.make<number>(), (ch) => Chan.select([Chan.onReceive(ch, unreachable)])))).toBe("select")
      // selects with a default never block
      yield* neverBlocks(Chan.select([], { default: () => Effect.void }))
      // selects with a ready case take it
      yield* neverBlocks(Effect.flatMap(Chan.make<number>(1), (ch) =>
        Chan.select([Chan.onSend(ch, 7, () => Effect.void)], { default: unreachable })))
      yield* neverBlocks(Effect.flatMap(Chan.make<number>(1), (ch) =>
        Effect.zipRight(Chan.send(ch, 7), Chan.select([Chan.onReceive(ch, () => Effect.void)], { default: unreachable }))))
      // closed channels in a select behave like the plain operations
      expect(yield* neverBlocks(Chan.select([Chan.onReceive(closedch, (v) => Effect.succeed(v))]))).toEqual(Option.none())
      expect(yield* panicOf(Chan.select([Chan.onSend(closedch, 7, () => Effect.void)]))).toBe("SendOnClosed")
      // a select does not rendezvous with itself
      expect(yield* blocks(Effect.flatMap(Chan.make<number>(), (c) =>
        Chan.select([Chan.onSend(c, 1, () => Effect.void), Chan.onReceive(c, () => Effect.void)])))).toBe("select")
    }))

  it.effect("select6.go (issue 2075): a select's losing cases leave the other waiters on their channels intact", () =>
    Effect.gen(function*() {
      const c1 = yield* Chan.make<boolean>()
      const c2 = yield* Chan.make<boolean>()
      const c3 = yield* Chan.make<boolean>()
      const a = yield* Effect.fork(Chan.receive(c1))
      yield* parkedOn(a)
      const b = yield* Effect.fork(Effect.zipRight(
        Chan.select([
          Chan.onReceive(c1, () => Effect.die("dummy")),
          Chan.onReceive(c2, () => Chan.send(c3, true))
        ]),
        Chan.receive(c1)
      ))
      yield* parkedOn(b)
      yield* Effect.fork(Chan.send(c2, true))
      yield* Chan.receive(c3)
      yield* Chan.send(c1, true)
      yield* Chan.send(c1, true)
      yield* Fiber.join(a)
      yield* Fiber.join(b)
    }))

  it.effect("select7.go: every pairing of plain, single-case and two-case select senders and receivers completes", () =>
    Effect.gen(function*() {
      const recvs: ReadonlyArray<(c: Chan.RecvChan<number>) => Effect.Effect<unknown>> = [
        (c) => Chan.receive(c),
        (c) => Chan.select([Chan.onReceive(c, () => Effect.void)]),
        (c) => Effect.flatMap(Chan.make<number>(), (c2) => Chan.select([Chan.onReceive(c, () => Effect.void), Chan.onReceive(c2, () => Effect.void)]))
      ]
      const sends: ReadonlyArray<(c: Chan.SendChan<number>) => Effect.Effect<unknown>> = [
        (c) => Chan.send(c, 1),
        (c) => Chan.select([Chan.onSend(c, 1, () => Effect.void)]),
        (c) => Effect.flatMap(Chan.make<number>(), (c2) => Chan.select([Chan.onSend(c, 1, () => Effect.void), Chan.onSend(c2, 1, () => Effect.void)]))
      ]
      for (const recv of recvs) {
        for (const send of sends) {
          const c = yield* Chan.make<number>()
          const receiver = yield* Effect.fork(recv(c))
          yield* Effect.yieldNow() // Go's runtime.Gosched()
          yield* send(c)
          yield* Fiber.join(receiver)
        }
      }
    }))

  it.scoped("sieve1.go: a daisy chain of filter fibers yields the primes below 100; closing the scope ends every filter", () =>
    Effect.scoped(Effect.gen(function*() {
      const generate = (ch: Chan.SendChan<number>) =>
        Effect.gen(function*() {
          for (let i = 2;; i++) yield* Chan.send(ch, i)
        })
      const filter = (inp: Chan.RecvChan<number>, out: Chan.SendChan<number>, prime: number) =>
        Chan.forEach(inp, (i) => (i % prime !== 0 ? Chan.send(out, i) : Effect.void))
      const sieve = (primes: Chan.SendChan<number>) =>
        Effect.gen(function*() {
          let ch = yield* Chan.make<number>()
          yield* Effect.forkScoped(generate(ch))
          while (true) {
            const prime = Option.getOrThrow(yield* Chan.receive(ch))
            yield* Chan.send(primes, prime)
            const ch1 = yield* Chan.make<number>()
            yield* Effect.forkScoped(filter(ch, ch1, prime))
            ch = ch1
          }
        })
      const primes = yield* Chan.make<number>()
      yield* Effect.forkScoped(sieve(primes))
      const got: Array<number> = []
      for (let i = 0; i < 25; i++) got.push(Option.getOrThrow(yield* Chan.receive(primes)))
      expect(got).toEqual([2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97])
    })))

  it.effect("fifo.go: a buffered channel is a FIFO, and parked receivers are served in the order they parked", () =>
    Effect.gen(function*() {
      const n = 10
      const buffered = yield* Chan.make<number>(n)
      yield* Chan.sendAll(buffered, range(n))
      for (let i = 0; i < n; i++) expect(yield* Chan.receive(buffered)).toEqual(Option.some(i))
      // SynchFifo: link i waits for the previous link, then must receive exactly i from ch
      const ch = yield* Chan.make<number>()
      const start = yield* Chan.make<number>()
      let inp: Chan.Chan<number> = start
      const links: Array<Fiber.RuntimeFiber<void>> = []
      for (let i = 0; i < n; i++) {
        const out = yield* Chan.make<number>()
        const from = inp
        links.push(yield* Effect.fork(Effect.gen(function*() {
          yield* Chan.receive(from)
          expect(yield* Chan.receive(ch)).toEqual(Option.some(i))
          yield* Chan.send(out, 1)
        })))
        inp = out
      }
      yield* Chan.send(start, 0)
      yield* Chan.sendAll(ch, range(n))
      yield* Chan.receive(inp)
      yield* Fiber.joinAll(links)
    }))

  it.effect("goroutines.go: 10,000 fibers threaded together pass one value along and all end", () =>
    Effect.gen(function*() {
      const n = 10_000
      const leftmost = yield* Chan.make<number>()
      let left = leftmost
      let right = leftmost
      for (let i = 0; i < n; i++) {
        right = yield* Chan.make<number>()
        const [l, r] = [left, right]
        yield* Effect.fork(Effect.flatMap(Chan.receive(r), (v) => Chan.send(l, Option.getOrThrow(v))))
        left = right
      }
      yield* Effect.fork(Chan.send(right, 1))
      expect(yield* Chan.receive(leftmost)).toEqual(Option.some(1))
    }), 60_000)

  it.scoped("powser1.go (Ones, Twos, Add, Sub, Cmul, Diff, Integ, MonSubst): demand-driven power series over selects with nil cases", () =>
    Effect.scoped(Effect.gen(function*() {
      // Rationals; a denominator of 0 marks the end of a series (Go's `finis`).
      interface Rat {
        readonly num: number
        readonly den: number
      }
      const gcd = (u: number, v: number): number => (u < 0 ? gcd(-u, v) : u === 0 ? v : gcd(v % u, u))
      const rat = (u: number, v = 1): Rat => {
        const g = gcd(u, v)
        return v > 0 ? { num: u / g, den: v / g } : { num: -u / g, den: -v / g }
      }
      const zero = rat(0)
      const one = rat(1)
      const finis: Rat = { num: 1, den: 0 }
      const end = (u: Rat) => (u.den === 0 ? 1 : 0)
      const add = (u: Rat, v: Rat) => {
        const g = gcd(u.den, v.den)
        return rat(u.num * (v.den / g) + v.num * (u.den / g), u.den * (v.den / g))
      }
      const mul = (u: Rat, v: Rat) => rat(u.num * v.num, u.den * v.den)
      const neg = (u: Rat) => rat(-u.num, u.den)
      // A power series is a demand channel pair: send a request, then receive the next term.
      interface PS {
        readonly req: Chan.Chan<number>
        readonly dat: Chan.Chan<Rat>
      }
      const mkPS = Effect.all({ req: Chan.make<number>(), dat: Chan.make<Rat>() })
      let seqno = 0
      const recv = <A>(ch: Chan.RecvChan<A>) => Effect.map(Chan.receive(ch), Option.getOrThrow)
      const get = (inp: PS) => Effect.zipRight(Chan.send(inp.req, ++seqno), recv(inp.dat))
      const put = (dat: Rat, out: PS) => Effect.zipRight(Chan.receive(out.req), Chan.send(out.dat, dat))
      // getn: one term from each of two series, requests and replies in whatever order they come,
      // a case being switched off by replacing its channel with nil (Go's idiom).
      const get2 = (in0: PS, in1: PS) =>
        Effect.gen(function*() {
          const req: Array<Chan.Chan<number>> = [in0.req, in1.req]
          const dat: Array<Chan.Chan<Rat>> = [Chan.nil(), Chan.nil()]
          const out: Array<Rat> = [zero, zero]
          for (let n = 4; n > 0; n--) {
            const seq = ++seqno
            yield* Chan.select([
              Chan.onSend(req[0]!, seq, () => Effect.sync(() => void ((dat[0] = in0.dat), (req[0] = Chan.nil())))),
              Chan.onSend(req[1]!, seq, () => Effect.sync(() => void ((dat[1] = in1.dat), (req[1] = Chan.nil())))),
              Chan.onReceive(dat[0]!, (it) => Effect.sync(() => void ((out[0] = Option.getOrThrow(it)), (dat[0] = Chan.nil())))),
              Chan.onReceive(dat[1]!, (it) => Effect.sync(() => void ((out[1] = Option.getOrThrow(it)), (dat[1] = Chan.nil()))))
            ])
          }
          return out as [Rat, Rat]
        })
      const copy = (inp: PS, out: PS) =>
        Effect.forever(Effect.zipRight(Chan.receive(out.req), Effect.flatMap(get(inp), (t) => Chan.send(out.dat, t))))
      const go = <A>(f: Effect.Effect<A>) => Effect.asVoid(Effect.forkScoped(f))
      const Rep = (c: Rat) => Effect.tap(mkPS, (z) => go(Effect.forever(put(c, z))))
      const Add = (U: PS, V: PS) =>
        Effect.tap(mkPS, (Z) =>
          go(Effect.gen(function*() {
            while (true) {
              yield* Chan.receive(Z.req)
              const [u, v] = yield* get2(U, V)
              switch (end(u) + 2 * end(v)) {
                case 0:
                  yield* Chan.send(Z.dat, add(u, v))
                  break
                case 1:
                  yield* Chan.send(Z.dat, v)
                  return yield* copy(V, Z)
                case 2:
                  yield* Chan.send(Z.dat, u)
                  return yield* copy(U, Z)
                case 3:
                  yield* Chan.send(Z.dat, finis)
              }
            }
          })))
      const Cmul = (c: Rat, U: PS) =>
        Effect.tap(mkPS, (Z) =>
          go(Effect.gen(function*() {
            for (let done = false; !done;) {
              yield* Chan.receive(Z.req)
              const u = yield* get(U)
              if (end(u) !== 0) done = true
              else yield* Chan.send(Z.dat, mul(c, u))
            }
            yield* Chan.send(Z.dat, finis)
          })))
      const Sub = (U: PS, V: PS) => Effect.flatMap(Cmul(neg(one), V), (negV) => Add(U, negV))
      const Diff = (U: PS) =>
        Effect.tap(mkPS, (Z) =>
          go(Effect.gen(function*() {
            yield* Chan.receive(Z.req)
            let u = yield* get(U)
            if (end(u) === 0) {
              for (let i = 1;; i++) {
                u = yield* get(U)
                if (end(u) !== 0) break
                yield* Chan.send(Z.dat, mul(rat(i), u))
                yield* Chan.receive(Z.req)
              }
            }
            yield* Chan.send(Z.dat, finis)
          })))
      const Integ = (c: Rat, U: PS) =>
        Effect.tap(mkPS, (Z) =>
          go(Effect.gen(function*() {
            yield* put(c, Z)
            for (let i = 1, done = false; !done; i++) {
              yield* Chan.receive(Z.req)
              const u = yield* get(U)
              if (end(u) !== 0) done = true
              yield* Chan.send(Z.dat, mul(rat(1, i), u))
            }
            yield* Chan.send(Z.dat, finis)
          })))
      const MonSubst = (U: PS, c0: Rat, n: number) =>
        Effect.tap(mkPS, (Z) =>
          go(Effect.gen(function*() {
            let c = one
            while (true) {
              yield* Chan.receive(Z.req)
              const u = yield* get(U)
              yield* Chan.send(Z.dat, mul(u, c))
              c = mul(c, c0)
              if (end(u) !== 0) {
                yield* Chan.send(Z.dat, finis)
                return
              }
              for (let i = 1; i < n; i++) {
                yield* Chan.receive(Z.req)
                yield* Chan.send(Z.dat, zero)
              }
            }
          })))
      const terms = (U: PS, n: number) => Effect.forEach(range(n), () => Effect.map(get(U), (r) => `${r.num}/${r.den}`))
      const Ones = yield* Rep(one)
      const Twos = yield* Rep(rat(2))
      const N = 10
      expect(yield* terms(Ones, 5)).toEqual(range(5).map(() => "1/1"))
      expect(yield* terms(yield* Add(Ones, Ones), 5)).toEqual(range(5).map(() => "2/1"))
      expect(yield* terms(yield* Add(Ones, Twos), 5)).toEqual(range(5).map(() => "3/1"))
      expect(yield* terms(yield* Diff(Ones), N)).toEqual(range(N).map((i) => `${i + 1}/1`))
      expect(yield* terms(yield* Integ(zero, Ones), N)).toEqual(["0/1", ...range(N - 1).map((i) => `1/${i + 1}`)])
      expect(yield* terms(yield* Cmul(neg(one), Twos), N)).toEqual(range(N).map(() => "-2/1"))
      expect(yield* terms(yield* Sub(Ones, Twos), 5)).toEqual(range(5).map(() => "-1/1"))
      const atan = yield* Integ(zero, yield* MonSubst(Ones, neg(one), 2)) // 0 1 0 -1/3 0 1/5 ...
      expect(yield* terms(atan, N)).toEqual(range(N).map((i) => (i % 2 === 0 ? "0/1" : `${((i - 1) / 2) % 2 === 0 ? 1 : -1}/${i}`)))
    })), 60_000)
})

describe("Go src/runtime/chan_test.go", () => {
  it.effect("TestChan: for every capacity up to 20, empty blocks, full blocks, close drains then gives None, FIFO, len/cap", () =>
    Effect.gen(function*() {
      for (let cap = 0; cap < 20; cap++) {
        // receive from an empty channel blocks; so does a select without default; a select with default does not
        const empty = yield* Chan.make<number>(cap)
        expect(yield* blocks(Chan.receive(empty))).toBe("chan receive")
        expect(yield* tryReceive(empty)).toBeUndefined()
        // send to a full channel blocks; a non-blocking send does not
        const full = yield* Chan.make<number>(cap)
        yield* Chan.sendAll(full, range(cap))
        expect(yield* blocks(Chan.send(full, 0))).toBe("chan send")
        expect(yield* trySend(full, 0)).toBe(false)
        // values buffered before close are received in order, then None, repeatedly
        const closing = yield* Chan.make<number>(cap)
        yield* Chan.sendAll(closing, range(cap))
        yield* Chan.close(closing)
        for (let i = 0; i < cap; i++) expect(yield* Chan.receive(closing)).toEqual(Option.some(i))
        expect(yield* Chan.receive(closing)).toEqual(Option.none())
        expect(yield* Chan.receive(closing)).toEqual(Option.none())
        // close unblocks receivers
        const unblock = yield* Chan.make<number>(cap)
        const receivers = yield* Effect.forEach(range(2), () => Effect.fork(Chan.receive(unblock)))
        for (const r of receivers) yield* parkedOn(r)
        yield* Chan.close(unblock)
        expect(yield* Effect.forEach(receivers, Fiber.join)).toEqual([Option.none(), Option.none()])
        // FIFO with one sender, one receiver
        const fifo = yield* Chan.make<number>(cap)
        const sender = yield* Effect.fork(Chan.sendAll(fifo, range(100)))
        for (let i = 0; i < 100; i++) expect(yield* Chan.receive(fifo)).toEqual(Option.some(i))
        yield* Fiber.join(sender)
        // several senders and receivers: every value arrives once
        const many = yield* Chan.make<number>(cap)
        const senders = yield* Effect.forEach(range(4), (p) => Effect.fork(Chan.sendAll(many, range(100).map((i) => p * 100 + i))))
        const got = yield* Effect.forEach(range(4), () => Effect.fork(Effect.forEach(range(100), () => Effect.map(Chan.receive(many), Option.getOrThrow))))
        yield* Fiber.joinAll(senders)
        const all = (yield* Effect.forEach(got, Fiber.join)).flat().sort((a, b) => a - b)
        expect(all).toEqual(range(400))
        // len/cap
        const lc = yield* Chan.make<number>(cap)
        expect([yield* Chan.len(lc), Chan.cap(lc)]).toEqual([0, cap])
        yield* Chan.sendAll(lc, range(cap))
        expect([yield* Chan.len(lc), Chan.cap(lc)]).toEqual([cap, cap])
      }
    }), 60_000)

  it.effect("TestNonblockRecvRace: a non-blocking receive on a ready channel never takes the default, even as the channel closes", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 1_000; i++) {
        const c = yield* Chan.make<number>(1)
        yield* Chan.send(c, 1)
        const f = yield* Effect.fork(Chan.select([Chan.onReceive(c, () => Effect.succeed("received"))], { default: () => Effect.succeed("default") }))
        for (let k = 0; k < i % 3; k++) yield* Effect.yieldNow()
        yield* Chan.close(c)
        yield* Chan.receive(c)
        expect(yield* Fiber.join(f)).toBe("received")
      }
    }))

  it.effect.each([["", false], ["2", true]] as const)("TestNonblockSelectRace%s: a select acts on one moment's state: with one of two channels always ready it never takes the default", ([, closeC2]) =>
    Effect.gen(function*() {
      for (let i = 0; i < 1_000; i++) {
        const c1 = yield* Chan.make<number>(1)
        const c2 = yield* Chan.make<number>(closeC2 ? 0 : 1)
        yield* Chan.send(c1, 1)
        const f = yield* Effect.fork(Chan.select([Chan.onReceive(c1, () => Effect.succeed(true)), Chan.onReceive(c2, () => Effect.succeed(true))], {
          default: () => Effect.succeed(false)
        }))
        for (let k = 0; k < i % 3; k++) yield* Effect.yieldNow()
        if (closeC2) yield* Chan.close(c2)
        else yield* Chan.send(c2, 1)
        yield* tryReceive(c1)
        expect(yield* Fiber.join(f)).toBe(true)
      }
    }))

  it.effect.each([0, 10])("TestSelfSelect (capacity %i): selects sending and receiving on one channel neither deadlock nor receive their own value", (cap) =>
    Effect.gen(function*() {
      const c = yield* Chan.make<number>(cap)
      let selfReceives = 0
      const worker = (p: number) =>
        Effect.forEach(range(1_000), (i) => {
          const send = Chan.onSend(c, p, () => Effect.void)
          const recv = Chan.onReceive(c, (v: Option.Option<number>) =>
            Effect.sync(() => {
              if (cap === 0 && Option.getOrThrow(v) === p) selfReceives++
            }))
          return Chan.select(p === 0 || i % 2 === 0 ? [send, recv] : [recv, send])
        }, { discard: true })
      yield* Effect.all([worker(0), worker(1)], { concurrency: "unbounded", discard: true })
      expect(selfReceives).toBe(0)
    }))

  it.effect("TestSelectStress: plain and select senders and receivers on four channels, nil-ing finished cases, never deadlock", () =>
    Effect.gen(function*() {
      const n = 2_000
      const c = [yield* Chan.make<number>(), yield* Chan.make<number>(), yield* Chan.make<number>(2), yield* Chan.make<number>(3)]
      const plain = c.flatMap((ch) => [
        Effect.forEach(range(n), () => Chan.send(ch, 0), { discard: true }),
        Effect.forEach(range(n), () => Chan.receive(ch), { discard: true })
      ])
      const selectSender = Effect.gen(function*() {
        const counts = [0, 0, 0, 0]
        const c1: Array<Chan.Chan<number>> = [...c]
        for (let i = 0; i < 4 * n; i++) {
          yield* Chan.select([3, 2, 0, 1].map((k) => Chan.onSend(c1[k]!, 0, () => Effect.sync(() => {
            if (++counts[k]! === n) c1[k] = Chan.nil()
          }))))
        }
      })
      const selectReceiver = Effect.gen(function*() {
        const counts = [0, 0, 0, 0]
        const c1: Array<Chan.Chan<number>> = [...c]
        for (let i = 0; i < 4 * n; i++) {
          yield* Chan.select([0, 1, 2, 3].map((k) => Chan.onReceive(c1[k]!, () => Effect.sync(() => {
            if (++counts[k]! === n) c1[k] = Chan.nil()
          }))))
        }
      })
      yield* Effect.all([...plain, selectSender, selectReceiver], { concurrency: "unbounded", discard: true })
    }), 60_000)

  it.effect.each([0, 100])("TestPseudoRandomSend (capacity %i): a select with two ready send cases picks each sometimes", (cap) =>
    Effect.gen(function*() {
      const n = 100
      const c = yield* Chan.make<number>(cap)
      const receiver = yield* Effect.fork(Effect.forEach(range(n), () => Effect.zipRight(Effect.yieldNow(), Effect.map(Chan.receive(c), Option.getOrThrow))))
      for (let i = 0; i < n; i++) yield* Chan.select([Chan.onSend(c, 1, () => Effect.void), Chan.onSend(c, 0, () => Effect.void)])
      const l = yield* Fiber.join(receiver)
      const ones = l.filter((v) => v === 1).length
      expect(ones).toBeGreaterThan(n / 10)
      expect(n - ones).toBeGreaterThan(n / 10)
    }))

  it.effect("TestMultiConsumer: 23 workers ranging over one queue forward every value once; the results close after the last worker", () =>
    Effect.gen(function*() {
      const nwork = 23
      const niter = 27_183
      const pn = [2, 3, 7, 11, 13, 17, 19, 23, 27, 31]
      const q = yield* Chan.make<number>(nwork * 3)
      const r = yield* Chan.make<number>(nwork * 3)
      const workers = range(nwork).map((w) =>
        Chan.forEach(q, (v) => Effect.zipRight(pn[w % pn.length] === v ? Effect.yieldNow() : Effect.void, Chan.send(r, v)))
      )
      let expected = 0
      yield* Effect.fork(Effect.gen(function*() {
        const wg = yield* Effect.fork(Effect.all(workers, { concurrency: "unbounded", discard: true }))
        for (let i = 0; i < niter; i++) {
          const v = pn[i % pn.length]!
          expected += v
          yield* Chan.send(q, v)
        }
        yield* Chan.close(q) // no more work
        yield* Fiber.join(wg) // workers done
        yield* Chan.close(r) // so there can be no more results
      }))
      let n = 0
      let s = 0
      yield* Chan.forEach(r, (v) => Effect.sync(() => void ((n += 1), (s += v))))
      expect({ n, s }).toEqual({ n: niter, s: expected })
    }), 60_000)

  it.effect("TestSelectDuplicateChannel: a select parked twice on one channel leaves that channel's queue intact when another case wins", () =>
    Effect.gen(function*() {
      const c = yield* Chan.make<number>()
      const d = yield* Chan.make<number>()
      const e = yield* Chan.make<number>()
      const a = yield* Effect.fork(Effect.zipRight(
        Chan.select([Chan.onReceive(c, () => Effect.void), Chan.onReceive(c, () => Effect.void), Chan.onReceive(d, () => Effect.void)]),
        Chan.send(e, 9)
      ))
      yield* parkedOn(a)
      const b = yield* Effect.fork(Chan.receive(c))
      yield* parkedOn(b)
      yield* Chan.send(d, 7) // wakes a, which leaves c's queue
      yield* Chan.receive(e)
      yield* Chan.send(c, 8) // must wake b, not the select that is gone
      expect(yield* Fiber.join(b)).toEqual(Option.some(8))
    }))
})
