/**
 * Chan against the raw Effect structures, side by side in one process:
 * - 1e6 messages producer -> consumer, unbuffered (rendezvous) and buffered(64): wall rate, CPU
 *   per message (process.cpuUsage, steadier than wall time on a loaded 2-core box) and the ratio
 *   per CPU-second against Mailbox in the same run;
 * - 100k fibers parked in `send` on a channel nobody reads: bytes per parked fiber, and the time
 *   (wall and CPU) from the release until every one of them has ended, for each way of owning
 *   them: a `Scope` they were forked into (`forkIn`: one finalizer per fiber, run in turn), a
 *   `FiberSet` (interrupt all, then await all), `Fiber.interruptAll`; `Mailbox(0)` the same way;
 *   Effect's floor (fibers parked on a bare `Effect.async`); a diagnostic run under a
 *   one-queue scheduler; and Go's own way, the one Go's 85 ms figure measures: each fiber parked
 *   in `select { case out <- v: case <-done: }`, released by `close(done)`, no interruption.
 * `BENCH_QUICK=1` uses 1e5 messages and 20k parked fibers. `BENCH_ONLY=throughput|parked` runs one half.
 */
import * as os from "node:os"
import { Effect, Exit, Fiber, FiberSet, Mailbox, Queue, Scheduler, Scope } from "effect"
import * as Chan from "../src/domain/Chan.js"

const quick = process.env["BENCH_QUICK"] === "1"
const only = process.env["BENCH_ONLY"]
const N = quick ? 100_000 : 1_000_000
const PARKED = quick ? 20_000 : 100_000
/** Messages per run: a short run per case to warm up, then N. */
let count = N

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(since)
  return (d.user + d.system) / 1e6
}
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(" ")

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

console.log(`load average ${load()} at start`)

if (only !== "parked") {
  const rates: Record<string, number> = {}
  const cpuRates: Record<string, number> = {}
  // Warm up every case first: whichever runs first would otherwise pay the JIT for all of them.
  count = 20_000
  for (const make of Object.values(cases)) await Effect.runPromise(make())
  count = N
  console.log(`${N.toLocaleString("en-US")} messages, one producer fiber -> one consumer fiber`)
  for (const [name, make] of Object.entries(cases)) {
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    await Effect.runPromise(make())
    const s = (performance.now() - t0) / 1000
    const cpu = cpuSeconds(c0)
    rates[name] = N / s
    cpuRates[name] = N / cpu
    console.log(
      `  ${name.padEnd(32)} ${fmt(N / s).padStart(10)} msg/s  ${((s * 1e6) / N).toFixed(2).padStart(6)} us/msg wall  ${
        ((cpu * 1e6) / N).toFixed(2).padStart(6)
      } us/msg CPU`
    )
  }
  const perCpu = (a: string, b: string) => cpuRates[a]! / cpuRates[b]!
  const wall = (a: string, b: string) => rates[a]! / rates[b]!
  console.log("ratios (same run): per CPU-second, then wall")
  const row = (label: string, a: string, b: string) =>
    console.log(`  ${label.padEnd(40)} ${perCpu(a, b).toFixed(2).padStart(5)}x CPU  ${wall(a, b).toFixed(2).padStart(5)}x wall`)
  row("Chan unbuffered / Mailbox(0)", "Chan unbuffered", "Mailbox(0)")
  row("Chan unbuffered / Queue.bounded(0)", "Chan unbuffered", "Queue.bounded(0)")
  row("Chan(64) / Mailbox(64)", "Chan(64)", "Mailbox(64)")
  row("Chan(64) / Queue.bounded(64)", "Chan(64)", "Queue.bounded(64)")
  row("Chan(64) receiveUpTo / Mailbox takeAll", "Chan(64) receiveUpTo", "Mailbox(64) takeAll")
  row("Chan(64) receiveUpTo / Queue takeBetween", "Chan(64) receiveUpTo", "Queue.bounded(64) takeBetween")
}

// ---- parked fibers ----------------------------------------------------------------------------

if (only !== "throughput") {
  const gc = (globalThis as { gc?: () => void }).gc
  const heap = () => {
    gc?.()
    gc?.()
    return process.memoryUsage().heapUsed
  }

  interface Owner {
    /** Forks one parked producer. */
    readonly fork: (effect: Effect.Effect<unknown>) => Effect.Effect<void>
    /** Releases every producer and returns once all of them have ended. */
    readonly release: Effect.Effect<void>
  }

  // forkIn: one finalizer per fiber, run one after another (interrupt, await, next).
  const inScope: Effect.Effect<Owner> = Effect.map(Scope.make(), (scope) => ({
    fork: (effect) => Effect.asVoid(Effect.forkIn(effect, scope)),
    release: Scope.close(scope, Exit.void)
  }))
  // FiberSet: one finalizer for all: interrupt every member, then await them.
  const inFiberSet: Effect.Effect<Owner> = Effect.gen(function*() {
    const scope = yield* Scope.make()
    const set = yield* Scope.extend(FiberSet.make(), scope)
    return { fork: (effect) => Effect.asVoid(FiberSet.run(set, effect)), release: Scope.close(scope, Exit.void) }
  })
  const interruptAll: Effect.Effect<Owner> = Effect.sync(() => {
    const fibers: Array<Fiber.RuntimeFiber<unknown>> = []
    return {
      fork: (effect) => Effect.map(Effect.forkDaemon(effect), (f) => void fibers.push(f)),
      release: Fiber.interruptAll(fibers)
    }
  })

  // Diagnostic only: one task queue for every fiber, drained one microtask per batch. Effect
  // 3.20+'s default scheduler gives each fiber its own runner (one microtask per fiber wake, for
  // AsyncLocalStorage isolation, Effect-TS/effect#6124); this line shows what that costs here.
  const singleQueue = (() => {
    const queue: Array<() => void> = []
    let scheduled = false
    const drain = () => {
      scheduled = false
      const tasks = queue.splice(0)
      for (const task of tasks) task()
    }
    return Scheduler.make((task) => {
      queue.push(task)
      if (!scheduled) {
        scheduled = true
        queueMicrotask(drain)
      }
    }, (fiber) => (fiber.currentOpCount > 2048 ? 0 : false))
  })()

  const parked = (
    name: string,
    owner: Effect.Effect<Owner>,
    block: Effect.Effect<(i: number) => Effect.Effect<unknown>>
  ) =>
    Effect.gen(function*() {
      const send = yield* block
      const o = yield* owner
      const before = heap()
      const t0 = performance.now()
      for (let i = 0; i < PARKED; i++) yield* o.fork(send(i))
      // let every fiber reach its parking point
      for (let i = 0; i < 8; i++) yield* Effect.yieldNow()
      const parkMs = performance.now() - t0
      const bytes = (heap() - before) / PARKED
      const c1 = process.cpuUsage()
      const t1 = performance.now()
      yield* o.release
      const releaseMs = performance.now() - t1
      const releaseCpu = cpuSeconds(c1) * 1000
      console.log(
        `  ${name.padEnd(44)} ${fmt(bytes).padStart(6)} B/fiber  park ${fmt(parkMs).padStart(6)} ms  release ${
          fmt(releaseMs).padStart(6)
        } ms wall ${fmt(releaseCpu).padStart(6)} ms CPU  (${((releaseCpu * 1000) / PARKED).toFixed(1)} us CPU/fiber)`
      )
      return releaseCpu
    })

  console.log(`\n${PARKED.toLocaleString("en-US")} fibers parked in send on a channel nobody reads, then released (load ${load()})`)
  if (gc === undefined) console.log("  (run with node --expose-gc for memory figures)")
  const chanSend = Effect.map(Chan.make<number>(0), (ch) => (i: number) => Chan.send(ch, i))
  const mailboxOffer = Effect.map(Mailbox.make<number>(0), (m) => (i: number) => m.offer(i))
  // Effect's own floor: a fiber parked on a bare `Effect.async` (no canceler, nothing to withdraw).
  const bareAsync = Effect.succeed((_: number) => Effect.async<void>((_resume) => {}))
  // Go's way: no interruption; closing `done` wakes every select, which returns normally.
  const done = Chan.unsafeMake<void>(0)
  const goDone: Effect.Effect<Owner> = Effect.sync(() => {
    const fibers: Array<Fiber.RuntimeFiber<unknown>> = []
    return {
      fork: (effect) => Effect.map(Effect.forkDaemon(effect), (f) => void fibers.push(f)),
      release: Effect.zipRight(
        Chan.close(done),
        Effect.async<void>((resume) => {
          let left = fibers.length
          const exited = () => --left === 0 && resume(Effect.void)
          for (const f of fibers) f.addObserver(exited)
        })
      )
    }
  })
  const chanSelectDone = Effect.map(
    Chan.make<number>(0),
    (ch) => (i: number) => Chan.select([Chan.onSend(ch, i, () => Effect.void), Chan.onReceive(done, () => Effect.void)])
  )
  const results: Record<string, number> = {}
  const runs: Array<[string, Effect.Effect<Owner>, Effect.Effect<(i: number) => Effect.Effect<unknown>>, boolean?]> = [
    ["Chan unbuffered, Scope (forkIn)", inScope, chanSend],
    ["Chan unbuffered, FiberSet", inFiberSet, chanSend],
    ["Chan unbuffered, Fiber.interruptAll", interruptAll, chanSend],
    ["Mailbox(0), Scope (forkIn)", inScope, mailboxOffer],
    ["Mailbox(0), FiberSet", inFiberSet, mailboxOffer],
    ["floor: bare Effect.async, FiberSet", inFiberSet, bareAsync],
    ["Go's way: Chan select send|done, close(done)", goDone, chanSelectDone],
    ["diagnostic: Chan, FiberSet, one-queue scheduler", inFiberSet, chanSend, true]
  ]
  for (const [name, owner, block, oneQueue] of runs) {
    const run = parked(name, owner, block)
    results[name] = await Effect.runPromise(oneQueue === true ? Effect.withScheduler(run, singleQueue) : run)
  }
  const r = (a: string, b: string) => (results[a]! / results[b]!).toFixed(2)
  console.log(`  release CPU, Scope (forkIn) / FiberSet: Chan ${r("Chan unbuffered, Scope (forkIn)", "Chan unbuffered, FiberSet")}x, Mailbox ${r("Mailbox(0), Scope (forkIn)", "Mailbox(0), FiberSet")}x`)
  console.log(`  release CPU, FiberSet: Mailbox(0) / Chan ${r("Mailbox(0), FiberSet", "Chan unbuffered, FiberSet")}x; Chan / Effect's floor ${r("Chan unbuffered, FiberSet", "floor: bare Effect.async, FiberSet")}x`)
  console.log(`  release CPU, close(done) / Fiber.interruptAll: ${r("Go's way: Chan select send|done, close(done)", "Chan unbuffered, Fiber.interruptAll")}x`)
  console.log("  Go reference ~85 ms, ~2.7 KB per goroutine (select send|done, close(done))")
  console.log("  (Queue.bounded is left out: interrupting N fibers parked on one Queue is O(N^2), ~117 s for 10k)")
  console.log(`load average ${load()} at end`)
}
