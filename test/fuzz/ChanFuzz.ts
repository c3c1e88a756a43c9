/**
 * A randomized, seeded fuzz of `Chan`: each scenario is built from one seed (channels of random
 * capacity; senders, receivers (some with a deadline: `receiveTimeout`), ranging consumers, selects
 * with send and receive cases with and without default and with and without a timer case
 * (`after`), `toStream` consumers with `take`, closers, interrupters, len/cap monitors; each
 * fiber with a random op budget and random yields between its operations), run to the end, and
 * checked against the invariants in `Chan`'s module doc:
 *
 * 1. exactly once: every value whose send completed is received exactly once or is still in the
 *    channel; a value whose send did not complete (interrupted, panicked, a select case that did
 *    not run) is never received and never buffered; nothing is received that was not sent;
 * 2. once `None`, always `None`: a receive that starts after one returned `None` returns `None`;
 * 3. `0 <= len <= cap` whenever it is sampled, and at the end;
 * 4. exactly one close: one `close` per channel succeeds, every other one dies with
 *    `CloseOfClosed`; a send that starts after the close dies with `SendOnClosed`;
 * 5. no fiber leaks (`LeakCheck.verifyNone` around the scenario).
 * "Received" means an operation completed with the value: a `receive`'s success, a select
 * receive case's body being called, a `forEach`/`toStream` consumer's function being called.
 * Completion is recorded in the runtime step in which the operation completed, so an interruption
 * that arrives later cannot hide it.
 *
 * Timers run on a `StepClock` that the owner moves on by 1 ms every few scheduler turns, so a
 * deadline falls due at a random point relative to the other fibers' operations (a value racing
 * the timer must be taken or left, never lost); a timed-out operation took nothing.
 *
 * Interruptions come at random points and in three forms: `Fiber.interrupt` (and wait),
 * `Fiber.interruptAsFork` (no wait), and `interruptAsFork` followed in the same step by a
 * counterpart operation on the target's channel, so the counterpart completes the target's parked
 * operation before the target sees its interruption.
 *
 * Everything random in a scenario, `select`'s poll order included (`Math.random` is replaced for
 * the scenario's duration), comes from its seed, so `LEAKPROOF_SEED=<seed>` replays it.
 */
import { Cause, Effect, Fiber, FiberId, Option, Stream } from "effect"
import * as Chan from "../../src/domain/Chan.js"
import * as LeakCheck from "../../src/domain/LeakCheck.js"
import { StepClock } from "../support/StepClock.js"

// ---------------------------------------------------------------------------------------------
// Seeded randomness
// ---------------------------------------------------------------------------------------------

/** A small seeded PRNG (mulberry32). */
export class Rng {
  private state: number
  constructor(seed: number) {
    this.state = seed >>> 0
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }
  pick<T>(xs: ReadonlyArray<T>): T {
    return xs[this.int(xs.length)]!
  }
  chance(p: number): boolean {
    return this.next() < p
  }
}

// ---------------------------------------------------------------------------------------------
// Scenario plan
// ---------------------------------------------------------------------------------------------

type CasePlan =
  | { readonly kind: "recv"; readonly chan: number }
  | { readonly kind: "send"; readonly chan: number }
  | { readonly kind: "after"; readonly ms: number } // a timer case: `onReceive(after(ms))`

type ActorPlan =
  | { readonly kind: "sender"; readonly chan: number; readonly count: number }
  | { readonly kind: "receiver"; readonly chan: number; readonly count: number; readonly timeoutMs?: number }
  | { readonly kind: "ranger"; readonly chan: number }
  | { readonly kind: "batcher"; readonly chan: number; readonly count: number; readonly max: number }
  | { readonly kind: "selector"; readonly cases: ReadonlyArray<CasePlan>; readonly withDefault: boolean; readonly count: number }
  | { readonly kind: "stream"; readonly chan: number; readonly take: number }
  | { readonly kind: "closer"; readonly chan: number }
  | { readonly kind: "interrupter"; readonly count: number; readonly mode: "await" | "fork" | "counterpart" }
  | { readonly kind: "monitor"; readonly count: number }

interface ActorSpec {
  readonly plan: ActorPlan
  /** The fiber's op budget before the runtime yields (`withMaxOpsBeforeYield`). */
  readonly opBudget: number
  /** Up to how many `yieldNow`s it makes between two operations. */
  readonly maxYields: number
}

export interface Plan {
  readonly seed: number
  readonly capacities: ReadonlyArray<number>
  readonly actors: ReadonlyArray<ActorSpec>
  /** Scheduler turns the owner waits before interrupting every actor still alive. */
  readonly ownerTurns: number
  /** The owner moves the clock on by 1 ms every this many turns. */
  readonly clockEvery: number
}

// Below ~10 ops per quantum Effect's runtime itself can livelock an interrupted fiber; 16 is the
// smallest budget used. Consumers of `toStream` get a large budget: the stream's machinery between
// the channel and the consumer's function is many runtime steps long (see `Chan.toStream`).
const opBudgets = [16, 32, 64, 256, 2048] as const

/** The scenario a seed describes (pure: the same seed gives the same plan). */
export const plan = (seed: number): Plan => {
  const r = new Rng(seed)
  const capacities = Array.from({ length: r.chance(0.35) ? 2 : 1 }, () => r.pick([0, 0, 0, 1, 1, 2, 3, 5]))
  const chan = () => r.int(capacities.length)
  const actors: Array<ActorSpec> = []
  const add = (plan: ActorPlan, budget: number = r.pick(opBudgets)) =>
    actors.push({ plan, opBudget: budget, maxYields: r.pick([0, 0, 1, 2, 4]) })
  const n = r.range(2, 9)
  for (let i = 0; i < n; i++) {
    const roll = r.next()
    if (roll < 0.26) add({ kind: "sender", chan: chan(), count: r.range(1, 8) })
    else if (roll < 0.44) {
      const count = r.range(1, 8)
      add(r.chance(0.3) ? { kind: "receiver", chan: chan(), count, timeoutMs: r.range(0, 4) } : { kind: "receiver", chan: chan(), count })
    }
    else if (roll < 0.47) add({ kind: "ranger", chan: chan() })
    else if (roll < 0.5) add({ kind: "batcher", chan: chan(), count: r.range(1, 4), max: r.range(1, 4) })
    else if (roll < 0.68) {
      const cases = Array.from({ length: r.range(1, 3) }, (): CasePlan => ({ kind: r.chance(0.5) ? "recv" : "send", chan: chan() }))
      // Go's select with a deadline: a timer case (a default would make it pointless).
      const timed = r.chance(0.35)
      if (timed) cases.push({ kind: "after", ms: r.range(0, 4) })
      add({ kind: "selector", cases, withDefault: !timed && r.chance(0.3), count: r.range(1, 5) })
    } else if (roll < 0.76) add({ kind: "stream", chan: chan(), take: r.range(1, 6) }, 1_000_000)
    else if (roll < 0.84) add({ kind: "closer", chan: chan() })
    else if (roll < 0.96) add({ kind: "interrupter", count: r.range(1, 4), mode: r.pick(["await", "fork", "counterpart", "counterpart"] as const) })
    else add({ kind: "monitor", count: r.range(1, 6) })
  }
  // Most scenarios get at least one producer and one consumer, so values actually move.
  if (!actors.some((a) => a.plan.kind === "sender") && r.chance(0.8)) add({ kind: "sender", chan: chan(), count: r.range(1, 8) })
  if (!actors.some((a) => a.plan.kind === "interrupter") && r.chance(0.7)) {
    add({ kind: "interrupter", count: r.range(1, 3), mode: r.pick(["fork", "counterpart"] as const) })
  }
  return { seed, capacities, actors, ownerTurns: r.pick([5, 20, 60, 200]), clockEvery: r.pick([1, 2, 4, 8]) }
}

export const describePlan = (p: Plan): string =>
  [
    `seed ${p.seed}: channels ${p.capacities.map((c, i) => `#${i} cap ${c}`).join(", ")}; owner waits ${p.ownerTurns} turns, the clock moves 1 ms every ${p.clockEvery}`,
    ...p.actors.map((a, i) => `  actor ${i}: ${JSON.stringify(a.plan)} (op budget ${a.opBudget}, up to ${a.maxYields} yields between ops)`)
  ].join("\n")

// ---------------------------------------------------------------------------------------------
// Recording
// ---------------------------------------------------------------------------------------------

interface SendRecord {
  readonly chan: number
  readonly who: string
  readonly start: number
  outcome: "pending" | "ok" | "SendOnClosed" | "other"
  /** A select's send case: `pending` at the end means the select ran another case or was interrupted. */
  readonly inSelect: boolean
}

interface ReceiveRecord {
  readonly chan: number
  readonly who: string
  /** When it started; `undefined` for consumers that do not record a start (forEach, toStream). */
  readonly start: number | undefined
  /** `undefined` while pending (and forever, if it ended interrupted). */
  got: Option.Option<number> | undefined
  readonly end: { t: number }
  /** A receive with a deadline that passed first: it took nothing. */
  timedOut?: boolean
}

const NONE_YET = Number.POSITIVE_INFINITY

class Log {
  /** With `LEAKPROOF_FUZZ_TRACE=1` (replays), every event in order. */
  readonly trace: Array<string> | undefined = process.env["LEAKPROOF_FUZZ_TRACE"] === "1" ? [] : undefined
  t = 0
  nextValue = 0
  readonly sends = new Map<number, SendRecord>()
  readonly receives: Array<ReceiveRecord> = []
  readonly closes: Array<{ chan: number; t: number; outcome: "ok" | "CloseOfClosed" | "other" }> = []
  /** When each actor's interruption was first requested. */
  readonly interruptRequested = new Map<string, number>()
  readonly violations: Array<string> = []
  /** Operations that ended at their deadline (a `receiveTimeout`, a select's timer case). */
  timedOut = 0

  tick(what?: string): number {
    if (this.trace !== undefined && what !== undefined) this.trace.push(`t=${this.t} ${what}`)
    return this.t++
  }
  newValue(chan: number, inSelect: boolean, who: string): number {
    const v = this.nextValue++
    const start = this.tick(`${who} send ${v} on #${chan} starts${inSelect ? " (select case)" : ""}`)
    this.sends.set(v, { chan, who, start, outcome: "pending", inSelect })
    return v
  }
  sendDone(v: number, outcome: SendRecord["outcome"]): void {
    this.sends.get(v)!.outcome = outcome
    this.trace?.push(`t=${this.t} send ${v} ${outcome}`)
  }
  receiveStart(chan: number, recordStart: boolean, who: string): ReceiveRecord {
    const r: ReceiveRecord = {
      chan,
      who,
      start: recordStart ? this.tick(`${who} receive on #${chan} starts`) : undefined,
      got: undefined,
      end: { t: NONE_YET }
    }
    this.receives.push(r)
    return r
  }
  received(r: ReceiveRecord, got: Option.Option<number>): void {
    r.got = got
    r.end.t = this.tick(`${r.who} receive on #${r.chan} got ${Option.isSome(got) ? got.value : "None"}`)
  }
  violation(what: string): void {
    this.violations.push(`t=${this.t}: ${what}`)
  }
}

const panicReason = (cause: Cause.Cause<unknown>): string => {
  const d = Cause.dieOption(cause)
  return Option.isSome(d) && Chan.isChanPanic(d.value) ? d.value.reason : "other"
}

/**
 * Runs `op` and records how it completed in the same runtime step: `matchCauseEffect`'s callbacks
 * are called by the runtime as it hands the operation's result to its continuation. An
 * interrupted operation calls neither (it stays pending). Failures are swallowed so the actor
 * can go on.
 */
const observe = <A, E>(
  op: Effect.Effect<A, E>,
  onSuccess: (a: A) => void,
  onFailure: (cause: Cause.Cause<E>) => void
): Effect.Effect<Option.Option<A>> =>
  Effect.matchCauseEffect(op, {
    onSuccess: (a) => {
      onSuccess(a)
      return Effect.succeed(Option.some(a))
    },
    onFailure: (cause) => {
      onFailure(cause)
      return Effect.succeed(Option.none())
    }
  })

// ---------------------------------------------------------------------------------------------
// Running a scenario
// ---------------------------------------------------------------------------------------------

export interface Outcome {
  readonly plan: Plan
  readonly violations: ReadonlyArray<string>
  /** Values whose send completed, and values that were received (for coverage figures). */
  readonly delivered: number
  readonly received: number
  readonly interruptedOps: number
  /** Operations that ended at their deadline. */
  readonly timedOut: number
}

const yields = (r: Rng, max: number): Effect.Effect<void> =>
  Effect.suspend(() => {
    const n = max === 0 ? 0 : r.int(max + 1)
    return n === 0 ? Effect.void : Effect.repeatN(Effect.yieldNow(), n - 1)
  })

/** Runs the scenario of `seed` (inside `LeakCheck.verifyNone`) and checks every invariant. */
export const run = (seed: number): Effect.Effect<Outcome, LeakCheck.FiberLeak | LeakCheck.Deadlock> =>
  Effect.suspend(() => {
    const p = plan(seed)
    // A second stream for decisions made while the scenario runs (targets, yields, poll order).
    const r = new Rng(seed ^ 0x5bd1e995)
    const log = new Log()
    const clock = new StepClock()
    const realRandom = Math.random
    Math.random = () => r.next()
    return LeakCheck.verifyNone(Effect.withClock(scenario(p, r, log, clock), clock)).pipe(
      Effect.ensuring(Effect.sync(() => {
        Math.random = realRandom
      })),
      Effect.map((finalBuffers) => check(p, log, finalBuffers))
    )
  })

const scenario = (p: Plan, r: Rng, log: Log, clock: StepClock): Effect.Effect<ReadonlyArray<ReadonlyArray<number>>> =>
  Effect.gen(function*() {
    const chans = p.capacities.map((c) => Chan.unsafeMake<number>(c))
    const fibers: Array<Fiber.RuntimeFiber<unknown>> = []
    const planOf = new Map<Fiber.RuntimeFiber<unknown>, ActorPlan>()
    const checkLen = (i: number) => {
      const ch = chans[i]!
      return Effect.map(Chan.len(ch), (n) => {
        if (n < 0 || n > Chan.cap(ch)) log.violation(`len ${n} of channel #${i} outside 0..${Chan.cap(ch)}`)
      })
    }

    const sendOne = (who: string, chan: number) =>
      Effect.suspend(() => {
        const v = log.newValue(chan, false, who)
        return observe(
          Chan.send(chans[chan]!, v),
          () => log.sendDone(v, "ok"),
          (cause) => log.sendDone(v, panicReason(cause) === "SendOnClosed" ? "SendOnClosed" : "other")
        )
      })
    const receiveOne = (who: string, chan: number, timeoutMs: number | undefined) =>
      Effect.suspend(() => {
        const rec = log.receiveStart(chan, true, who)
        if (timeoutMs === undefined) {
          return observe(Chan.receive(chans[chan]!), (got) => log.received(rec, got), () => log.violation(`a receive failed`))
        }
        return observe(Chan.receiveTimeout(chans[chan]!, timeoutMs), (got) => log.received(rec, got), (cause) => {
          const error = Cause.failureOption(cause)
          if (Option.isSome(error) && Cause.isTimeoutException(error.value)) {
            rec.timedOut = true
            log.timedOut++
            log.tick(`${who} receive on #${chan} timed out`)
          } else {
            log.violation(`a receiveTimeout failed: ${Cause.pretty(cause)}`)
          }
        })
      })
    const selectOnce = (who: string, cases: ReadonlyArray<CasePlan>, withDefault: boolean) =>
      Effect.suspend(() => {
        const start = log.tick(`${who} select starts${withDefault ? " (with default)" : ""}`)
        const build = (timers: ReadonlyArray<Chan.RecvChan<number>>) => {
          let t = 0
          return cases.map((c) => {
            if (c.kind === "after") {
              return Chan.onReceive(timers[t++]!, () =>
                Effect.sync(() => {
                  log.timedOut++
                  log.tick(`${who} select timed out`)
                }))
            }
            if (c.kind === "send") {
              const v = log.newValue(c.chan, true, who)
              // The body function is called in the step the send completed in: record it there.
              return Chan.onSend(chans[c.chan]!, v, () => {
                log.sendDone(v, "ok")
                return Effect.void
              })
            }
            return Chan.onReceive(chans[c.chan]!, (got: Option.Option<number>) => {
              const rec: ReceiveRecord = { chan: c.chan, who, start, got: undefined, end: { t: NONE_YET } }
              log.receives.push(rec)
              log.received(rec, got)
              return Effect.void
            })
          })
        }
        const run = (timers: ReadonlyArray<Chan.RecvChan<number>>) => {
          const built = build(timers)
          const sel = withDefault ? Chan.select(built, { default: () => Effect.void }) : Chan.select(built)
          return observe(sel, () => {}, (cause) => {
            // A send case on a closed channel: Go's panic. Its value was not delivered.
            if (panicReason(cause) !== "SendOnClosed") log.violation(`select failed: ${Cause.pretty(cause)}`)
          })
        }
        const afters = cases.flatMap((c) => (c.kind === "after" ? [c.ms] : []))
        if (afters.length === 0) return run([])
        // The timers live in a scope around the select: gone when it returns or is interrupted.
        return Effect.scoped(Effect.flatMap(Effect.forEach(afters, (ms) => Chan.after(ms)), run))
      })

    const actor = (spec: ActorSpec, who: string): Effect.Effect<unknown> => {
      const y = yields(r, spec.maxYields)
      const a = spec.plan
      let body: Effect.Effect<unknown>
      switch (a.kind) {
        case "sender":
          body = Effect.gen(function*() {
            for (let i = 0; i < a.count; i++) {
              yield* y
              const done = yield* sendOne(who, a.chan)
              if (Option.isNone(done)) return // it panicked: the channel is closed
              yield* checkLen(a.chan)
            }
          })
          break
        case "receiver":
          body = Effect.gen(function*() {
            for (let i = 0; i < a.count; i++) {
              yield* y
              yield* receiveOne(who, a.chan, a.timeoutMs)
              yield* checkLen(a.chan)
            }
          })
          break
        case "ranger":
          body = Effect.suspend(() => {
            let rec = log.receiveStart(a.chan, false, who)
            return Effect.zipRight(
              Chan.forEach(chans[a.chan]!, (v) => {
                log.received(rec, Option.some(v))
                rec = log.receiveStart(a.chan, false, who)
                return y
              }),
              Effect.sync(() => log.received(rec, Option.none()))
            )
          })
          break
        case "batcher":
          body = Effect.gen(function*() {
            for (let i = 0; i < a.count; i++) {
              yield* y
              const start = log.tick(`${who} receiveUpTo ${a.max} on #${a.chan} starts`)
              yield* observe(Chan.receiveUpTo(chans[a.chan]!, a.max), (values) => {
                if (values.length > a.max) log.violation(`receiveUpTo ${a.max} returned ${values.length} values`)
                for (const v of values.length === 0 ? [undefined] : values) {
                  const rec: ReceiveRecord = { chan: a.chan, who, start, got: undefined, end: { t: NONE_YET } }
                  log.receives.push(rec)
                  log.received(rec, v === undefined ? Option.none() : Option.some(v))
                }
              }, () => log.violation("a receiveUpTo failed"))
            }
          })
          break
        case "selector":
          body = Effect.gen(function*() {
            for (let i = 0; i < a.count; i++) {
              yield* y
              yield* selectOnce(who, a.cases, a.withDefault)
            }
          })
          break
        case "stream":
          body = Stream.runForEach(Stream.take(Chan.toStream(chans[a.chan]!), a.take), (v) => {
            const rec = log.receiveStart(a.chan, false, who)
            log.received(rec, Option.some(v))
            return y
          })
          break
        case "closer":
          body = Effect.zipRight(
            y,
            Effect.suspend(() =>
              observe(Chan.close(chans[a.chan]!), () => {
                log.closes.push({ chan: a.chan, t: log.tick(), outcome: "ok" })
              }, (cause) => {
                log.closes.push({ chan: a.chan, t: log.tick(), outcome: panicReason(cause) === "CloseOfClosed" ? "CloseOfClosed" : "other" })
              })
            )
          )
          break
        case "interrupter":
          body = Effect.gen(function*() {
            for (let i = 0; i < a.count; i++) {
              yield* y
              const live = fibers.filter((f) => f.unsafePoll() === null && planOf.get(f)?.kind !== "interrupter")
              if (live.length === 0) return
              const target = r.pick(live)
              const victim = `actor ${fibers.indexOf(target)}`
              // Request and record in one step (the request is what the invariant is about).
              yield* Effect.sync(() => {
                const t = log.tick(`${who} interrupts (${a.mode}) ${victim}`)
                if (!log.interruptRequested.has(victim)) log.interruptRequested.set(victim, t)
                target.unsafeInterruptAsFork(FiberId.none)
              })
              if (a.mode === "await") {
                yield* Fiber.await(target)
              } else {
                if (a.mode === "counterpart") {
                  // In the same step, complete the target's parked operation if there is one.
                  const t = planOf.get(target)!
                  const chan = "chan" in t
                    ? t.chan
                    : t.kind === "selector"
                    ? r.pick(t.cases.flatMap((c) => (c.kind === "after" ? [] : [c.chan])))
                    : r.int(chans.length)
                  const wantsValue = t.kind === "sender" || (t.kind === "selector" && t.cases.some((c) => c.kind === "send"))
                  yield* wantsValue
                    ? selectOnce(who, [{ kind: "recv", chan }], true)
                    : selectOnce(who, [{ kind: "send", chan }], true)
                }
              }
            }
          })
          break
        case "monitor":
          body = Effect.gen(function*() {
            for (let i = 0; i < a.count; i++) {
              yield* y
              for (let c = 0; c < chans.length; c++) yield* checkLen(c)
            }
          })
          break
      }
      return Effect.withMaxOpsBeforeYield(body, spec.opBudget)
    }

    for (const [i, spec] of p.actors.entries()) {
      const f = yield* Effect.fork(actor(spec, `actor ${i}`))
      fibers.push(f)
      planOf.set(f, spec.plan)
    }
    for (let i = 0; i < p.ownerTurns && fibers.some((f) => f.unsafePoll() === null); i++) {
      yield* Effect.yieldNow()
      if ((i + 1) % p.clockEvery === 0) clock.advance(1)
    }
    // The owner leaves: every actor still parked (or running) is interrupted.
    yield* Fiber.interruptAll(fibers)
    // What is left in each channel (no fiber is parked on it any more).
    const finalBuffers: Array<Array<number>> = []
    for (const ch of chans) {
      const left: Array<number> = []
      let n = yield* Chan.len(ch)
      if (n < 0 || n > Chan.cap(ch)) log.violation(`final len ${n} outside 0..${Chan.cap(ch)}`)
      for (; n > 0; n--) {
        const v = yield* Chan.receive(ch)
        if (Option.isSome(v)) left.push(v.value)
        else log.violation("receive returned None with len > 0")
      }
      finalBuffers.push(left)
    }
    return finalBuffers
  })

const check = (p: Plan, log: Log, finalBuffers: ReadonlyArray<ReadonlyArray<number>>): Outcome => {
  const v = log.violations.slice()
  // 1. exactly once
  const seen = new Map<number, string>()
  const deliver = (value: number, chan: number, where: string) => {
    const s = log.sends.get(value)
    if (s === undefined) v.push(`${where} got ${value}, which was never sent`)
    else if (s.chan !== chan) v.push(`${where} on channel #${chan} got ${value}, sent on #${s.chan}`)
    const before = seen.get(value)
    if (before !== undefined) v.push(`${value} delivered twice: ${before} and ${where}`)
    seen.set(value, where)
  }
  let received = 0
  let interruptedOps = 0
  for (const rec of log.receives) {
    if (rec.got === undefined) {
      if (rec.timedOut !== true) interruptedOps++
    } else if (Option.isSome(rec.got)) {
      received++
      deliver(rec.got.value, rec.chan, `a receive on #${rec.chan}`)
    }
  }
  finalBuffers.forEach((left, chan) => left.forEach((value) => deliver(value, chan, `the final buffer of #${chan}`)))
  let delivered = 0
  for (const [value, s] of log.sends) {
    const ok = s.outcome === "ok"
    if (ok) delivered++
    if (s.outcome === "pending" && !s.inSelect) interruptedOps++
    if (ok && !seen.has(value)) v.push(`${value} was sent (send completed) but neither received nor left in channel #${s.chan}`)
    if (!ok && seen.has(value)) {
      v.push(`${value} was delivered (${seen.get(value)}) but its send ended ${s.outcome === "pending" ? "without completing (interrupted, or another select case)" : s.outcome}`)
    }
  }
  // 6. an interruption is never lost: once it was requested, the fiber completes no operation it
  //    starts (it may complete the one it was parked in: see deferred interruption in Chan)
  for (const [value, s] of log.sends) {
    const t = log.interruptRequested.get(s.who)
    if (t !== undefined && s.start > t && s.outcome === "ok") v.push(`${s.who} sent ${value} in an operation it started after its interruption was requested`)
  }
  for (const rec of log.receives) {
    const t = log.interruptRequested.get(rec.who)
    if (t !== undefined && rec.start !== undefined && rec.start > t && rec.got !== undefined) {
      v.push(`${rec.who} received in an operation it started after its interruption was requested`)
    }
  }
  // 2. once None, always None
  p.capacities.forEach((_, chan) => {
    let firstNone = NONE_YET
    for (const rec of log.receives) {
      if (rec.chan === chan && rec.got !== undefined && Option.isNone(rec.got)) firstNone = Math.min(firstNone, rec.end.t)
    }
    if (firstNone === NONE_YET) return
    for (const rec of log.receives) {
      if (rec.chan === chan && rec.start !== undefined && rec.start > firstNone && rec.got !== undefined && Option.isSome(rec.got)) {
        v.push(`a receive on #${chan} that started at t=${rec.start}, after one returned None at t=${firstNone}, got ${rec.got.value}`)
      }
    }
    if (finalBuffers[chan]!.length > 0) v.push(`channel #${chan} returned None, yet holds ${finalBuffers[chan]!.join(",")} at the end`)
  })
  // 4. exactly one close; sends that start after it panic
  p.capacities.forEach((_, chan) => {
    const closes = log.closes.filter((c) => c.chan === chan)
    const ok = closes.filter((c) => c.outcome === "ok")
    if (ok.length > 1) v.push(`channel #${chan} was closed ${ok.length} times`)
    for (const c of closes) if (c.outcome === "other") v.push(`close of #${chan} failed other than with CloseOfClosed`)
    if (ok.length === 1) {
      for (const c of closes) if (c.outcome === "CloseOfClosed" && c.t < ok[0]!.t) v.push(`close of #${chan} panicked before the channel was closed`)
      for (const [value, s] of log.sends) {
        if (s.chan === chan && !s.inSelect && s.start > ok[0]!.t && s.outcome === "ok") v.push(`send of ${value} started after #${chan} was closed and succeeded`)
      }
    } else if (closes.some((c) => c.outcome === "CloseOfClosed")) v.push(`close of #${chan} panicked, but no close succeeded`)
  })
  if (log.trace !== undefined) v.push(...(v.length > 0 ? ["trace:", ...log.trace] : []))
  return { plan: p, violations: v, delivered, received, interruptedOps, timedOut: log.timedOut }
}

/** What `runMany` found. `failing` holds the first failing outcomes (at most 20). */
export interface Summary {
  readonly scenarios: number
  readonly delivered: number
  readonly interruptedOps: number
  /** Operations that ended at their deadline. */
  readonly timedOut: number
  readonly failing: ReadonlyArray<Outcome>
  /** How many scenarios violated each kind of invariant (the violation's first words). */
  readonly byKind: ReadonlyMap<string, number>
}

/** The kind of a violation, for tallies: its message without values and times. */
export const kindOf = (violation: string): string =>
  violation.replace(/^t=\d+: /, "").replace(/-?\d+(,\d+)*/g, "N").replace(/\(.*\)/g, "(…)").slice(0, 90)

/**
 * Runs `count` scenarios from `baseSeed` (seeds `baseSeed`, `baseSeed + 1`, …). Stops at the first
 * failing one unless `keepGoing`.
 */
export const runMany = (
  baseSeed: number,
  count: number,
  options?: { readonly keepGoing?: boolean; readonly onProgress?: (done: number, summary: Summary) => void }
): Effect.Effect<Summary> =>
  Effect.gen(function*() {
    let delivered = 0
    let interruptedOps = 0
    let timedOut = 0
    const failing: Array<Outcome> = []
    const byKind = new Map<string, number>()
    let failed = 0
    const summary = (scenarios: number): Summary => ({ scenarios, delivered, interruptedOps, timedOut, failing, byKind })
    for (let i = 0; i < count; i++) {
      const seed = (baseSeed + i) >>> 0
      const outcome = yield* run(seed).pipe(
        Effect.catchAll((leak) =>
          Effect.succeed<Outcome>({ plan: plan(seed), violations: [leak.message], delivered: 0, received: 0, interruptedOps: 0, timedOut: 0 })
        )
      )
      delivered += outcome.delivered
      interruptedOps += outcome.interruptedOps
      timedOut += outcome.timedOut
      if (outcome.violations.length > 0) {
        failed++
        if (failing.length < 20) failing.push(outcome)
        for (const kind of new Set(outcome.violations.map(kindOf))) byKind.set(kind, (byKind.get(kind) ?? 0) + 1)
        if (options?.keepGoing !== true) return summary(i + 1)
      }
      if (options?.onProgress !== undefined && (i + 1) % 1000 === 0) options.onProgress(i + 1, summary(i + 1))
    }
    return summary(count)
  })

export const failure = (outcome: Outcome): Error =>
  new Error(
    `Chan fuzz: scenario LEAKPROOF_SEED=${outcome.plan.seed} violates an invariant:\n  ${
      outcome.violations.slice(0, process.env["LEAKPROOF_FUZZ_TRACE"] === "1" ? undefined : 10).join("\n  ")
    }\n${
      describePlan(outcome.plan)
    }\nreplay: LEAKPROOF_SEED=${outcome.plan.seed} npm run fuzz`
  )
