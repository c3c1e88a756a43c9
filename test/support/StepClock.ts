/**
 * A `Clock` moved by hand, for races that need a timer to fire at an exact runtime step (and for
 * fuzzing timers cheaply): `advance(ms)` wakes every sleep that falls due, synchronously, earliest
 * first (ties in the order the sleeps started). Unlike `TestClock` it waits for nothing (no polling
 * for suspended fibers, no real timers), and an interrupted sleep is taken out of its list.
 * Provide it with `Effect.withClock(clock)`.
 */
import { Clock, Duration, Effect } from "effect"

interface Sleeper {
  readonly at: number
  readonly seq: number
  readonly wake: () => void
}

export class StepClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  /** Virtual milliseconds since the clock was made. */
  now = 0
  private seq = 0
  private sleepers: Array<Sleeper> = []

  unsafeCurrentTimeMillis(): number {
    return this.now
  }
  unsafeCurrentTimeNanos(): bigint {
    return BigInt(Math.round(this.now * 1_000_000))
  }
  readonly currentTimeMillis: Effect.Effect<number> = Effect.sync(() => this.now)
  readonly currentTimeNanos: Effect.Effect<bigint> = Effect.sync(() => this.unsafeCurrentTimeNanos())

  sleep(duration: Duration.Duration): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      const millis = Duration.toMillis(duration)
      if (millis <= 0) return resume(Effect.void)
      const sleeper: Sleeper = { at: this.now + millis, seq: this.seq++, wake: () => resume(Effect.void) }
      this.sleepers.push(sleeper)
      return Effect.sync(() => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper)
      })
    })
  }

  /** Sleeps started and not yet woken or interrupted. */
  get pending(): number {
    return this.sleepers.length
  }

  /** The time the earliest pending sleep falls due, if any. */
  get nextDue(): number | undefined {
    return this.sleepers.reduce<number | undefined>((min, s) => (min === undefined || s.at < min ? s.at : min), undefined)
  }

  /** Moves the time on by `millis` and wakes every sleep due by then, in order. Returns how many. */
  advance(millis: number): number {
    this.now += millis
    const due = this.sleepers.filter((s) => s.at <= this.now).sort((a, b) => a.at - b.at || a.seq - b.seq)
    this.sleepers = this.sleepers.filter((s) => s.at > this.now)
    for (const s of due) s.wake()
    return due.length
  }
}
