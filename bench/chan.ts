/**
 * Chan against the raw Effect structures, side by side in one process:
 * - 1e6 messages producer -> consumer, unbuffered (rendezvous) and buffered(64);
 * - 100k fibers parked in `send` on a channel nobody reads: bytes per parked fiber, and the time
 *   from closing their scope until no tracked fiber is alive.
 * `BENCH_QUICK=1` uses 1e5 messages and 20k parked fibers.
 */
import { Effect, Exit, Fiber, Mailbox, Queue, Scope } from "effect"
import * as Chan from "../src/domain/Chan.js"
import * as LeakCheck from "../src/domain/LeakCheck.js"

const quick = process.env["BENCH_QUICK"] === "1"
const N = quick ? 100_000 : 1_000_000
const PARKED = quick ? 20_000 : 100_000
/** Messages per run: a short run per case to warm up, then N. */
let count = N

const oneWay = (
  send: (i: number) => Effect.Effect<unknown>,
  receive: Effect.Effect<unknown>
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const producer = yield* Effect.fork(Effect.gen(function*() {
      for (let i = 0; i < count; i++) yield* send(i)
    }))
    for (let got = 0; got < count; got++) yield* receive
    yield* Fiber.join(producer)
  })

const batched = (
  send: (i: number) => Effect.Effect<unknown>,
  receiveMany: Effect.Effect<{ readonly length: number }>
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const producer = yield* Effect.fork(Effect.gen(function*() {
      for (let i = 0; i < count; i++) yield* send(i)
    }))
    let got = 0
    while (got < count) got += (yield* receiveMany).length
    yield* Fiber.join(producer)
  })

const cases: Record<string, () => Effect.Effect<void>> = {
  "Chan unbuffered": () => Effect.flatMap(Chan.make<number>(0), (ch) => oneWay((i) => Chan.send(ch, i), Chan.receive(ch))),
  "Queue.bounded(0)": () => Effect.flatMap(Queue.bounded<number>(0), (q) => oneWay((i) => Queue.offer(q, i), Queue.take(q))),
  "Mailbox(0)": () => Effect.flatMap(Mailbox.make<number>(0), (m) => oneWay((i) => m.offer(i), Effect.orDie(m.take))),
  "Chan(64)": () => Effect.flatMap(Chan.make<number>(64), (ch) => oneWay((i) => Chan.send(ch, i), Chan.receive(ch))),
  "Queue.bounded(64)": () => Effect.flatMap(Queue.bounded<number>(64), (q) => oneWay((i) => Queue.offer(q, i), Queue.take(q))),
  "Mailbox(64)": () => Effect.flatMap(Mailbox.make<number>(64), (m) => oneWay((i) => m.offer(i), Effect.orDie(m.take))),
  "Chan(64) receiveUpTo": () =>
    Effect.flatMap(Chan.make<number>(64), (ch) => batched((i) => Chan.send(ch, i), Chan.receiveUpTo(ch, 1024))),
  "Queue.bounded(64) takeBetween": () =>
    Effect.flatMap(Queue.bounded<number>(64), (q) => batched((i) => Queue.offer(q, i), Queue.takeBetween(q, 1, 1024))),
  "Mailbox(64) takeAll": () =>
    Effect.flatMap(Mailbox.make<number>(64), (m) => batched((i) => m.offer(i), Effect.map(m.takeAll, ([c]) => c)))
}

const rates: Record<string, number> = {}
const fmt = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 0 })

// Warm up every case first: whichever runs first would otherwise pay the JIT for all of them.
count = 20_000
for (const make of Object.values(cases)) await Effect.runPromise(make())
count = N
console.log(`${N.toLocaleString("en-US")} messages, one producer fiber -> one consumer fiber`)
for (const [name, make] of Object.entries(cases)) {
  const t0 = performance.now()
  await Effect.runPromise(make())
  const s = (performance.now() - t0) / 1000
  rates[name] = N / s
  console.log(`  ${name.padEnd(32)} ${fmt(N / s).padStart(10)} msg/s  ${((s * 1e6) / N).toFixed(2).padStart(6)} us/msg`)
}

const ratio = (a: string, b: string) => rates[a]! / rates[b]!
const verdict = (ok: boolean) => (ok ? "ok" : "MISSED")
const unbuf = ratio("Chan unbuffered", "Queue.bounded(0)")
const buf = Math.max(rates["Queue.bounded(64)"]!, rates["Mailbox(64)"]!) / rates["Chan(64)"]!
console.log("ratios (same run)")
console.log(`  Chan unbuffered / Queue.bounded(0)   ${unbuf.toFixed(2)}x  (target >= 5x: ${verdict(unbuf >= 5)})`)
console.log(`  Chan unbuffered / Mailbox(0)         ${ratio("Chan unbuffered", "Mailbox(0)").toFixed(2)}x`)
console.log(`  Chan(64) / Queue.bounded(64)         ${ratio("Chan(64)", "Queue.bounded(64)").toFixed(2)}x`)
console.log(`  Chan(64) / Mailbox(64)               ${ratio("Chan(64)", "Mailbox(64)").toFixed(2)}x`)
console.log(`  fastest raw(64) / Chan(64)           ${buf.toFixed(2)}x  (target <= 1.3x: ${verdict(buf <= 1.3)})`)
console.log(`  Chan(64) batched / Queue batched     ${ratio("Chan(64) receiveUpTo", "Queue.bounded(64) takeBetween").toFixed(2)}x`)

// ---- parked fibers ----------------------------------------------------------------------------

const gc = (globalThis as { gc?: () => void }).gc
const heap = () => {
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed
}

const parked = (name: string, block: Effect.Effect<(i: number) => Effect.Effect<unknown>>) =>
  LeakCheck.track((tracker) =>
    Effect.gen(function*() {
      const send = yield* block
      const scope = yield* Scope.make()
      const before = heap()
      const t0 = performance.now()
      for (let i = 0; i < PARKED; i++) yield* Effect.forkIn(send(i), scope)
      // let every fiber reach its parking point
      while ((yield* tracker.live) < PARKED) yield* Effect.yieldNow()
      for (let i = 0; i < 4; i++) yield* Effect.yieldNow()
      const parkMs = performance.now() - t0
      const bytes = (heap() - before) / PARKED
      const t1 = performance.now()
      yield* Scope.close(scope, Exit.void)
      yield* tracker.settle({ within: "120 seconds" })
      const releaseMs = performance.now() - t1
      console.log(
        `  ${name.padEnd(28)} ${fmt(bytes).padStart(6)} B/fiber  park ${fmt(parkMs).padStart(6)} ms  release ${fmt(releaseMs).padStart(6)} ms`
      )
      return releaseMs
    })
  )

console.log(`\n${PARKED.toLocaleString("en-US")} fibers parked in send on a channel nobody reads (forkIn a scope, then close it)`)
if (gc === undefined) console.log("  (run with node --expose-gc for memory figures)")
const chanRelease = await Effect.runPromise(
  parked("Chan unbuffered", Effect.map(Chan.make<number>(0), (ch) => (i: number) => Chan.send(ch, i)))
)
const mailboxRelease = await Effect.runPromise(
  parked("Mailbox(0)", Effect.map(Mailbox.make<number>(0), (m) => (i: number) => m.offer(i)))
)
console.log(`  release: Mailbox / Chan ${(mailboxRelease / chanRelease).toFixed(1)}x; Go reference ~85 ms, ~2.7 KB per goroutine`)
console.log("  (Queue.bounded is left out: interrupting N fibers parked on one Queue is O(N^2), ~117 s for 10k)")
