/**
 * The CLI's main loop in-process, against streams the test controls: whatever the exit code, the
 * process exits only after every byte written has left; back-pressure reaches the producer; a
 * closed pipe, a signal and a defect each end the run with the table's code.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, FastCheck as fc, Fiber, FiberStatus } from "effect"
import { Writable } from "node:stream"
import { badInput, CliExit, deadlineReached, ExitCode, failed, strongest } from "../../src/cli/CliExit.js"
import * as RunMain from "../../src/cli/RunMain.js"
import * as Stdio from "../../src/cli/Stdio.js"

/** A pipe reader that takes each chunk only on a later turn of the event loop (a slow reader). */
const slowSink = (highWaterMark = 1024) => {
  const received: Array<string> = []
  const sink = new Writable({
    highWaterMark,
    decodeStrings: false,
    write(chunk: string | Buffer, _enc, cb) {
      received.push(chunk.toString())
      setImmediate(cb)
    }
  })
  return { sink, text: () => received.join("") }
}

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs `program` under `RunMain` with slow stdout/stderr; resolves when it calls `exit`, with what
 * the readers had received at that moment.
 */
const run = (
  program: (io: { readonly out: Stdio.Writer; readonly signal: (s: NodeJS.Signals) => void }) => Effect.Effect<void, unknown>,
  options: { readonly stdout?: ReturnType<typeof slowSink>; readonly debug?: boolean } = {}
) =>
  new Promise<Run>((resolve) => {
    // By default a buffer larger than most outputs here: the writes return at once, and all of it
    // is still queued when the program ends.
    const out = options.stdout ?? slowSink(64 * 1024)
    const err = slowSink()
    const handlers = new Map<NodeJS.Signals, () => void>()
    const host: RunMain.Host = {
      stdout: Stdio.make(out.sink),
      stderr: Stdio.make(err.sink),
      exit: (code) => resolve({ code, stdout: out.text(), stderr: err.text() }),
      onSignal: (s, h) => handlers.set(s, h),
      offSignal: (s) => handlers.delete(s),
      debug: options.debug ?? false
    }
    RunMain.runMain(program({ out: host.stdout, signal: (s) => handlers.get(s)?.() }), host)
  })

const line = (i: number) => `${String(i).padStart(6, "0")} ${"x".repeat(120)}\n`
const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => line(from + i)).join("")

/** Writes lines [from, to) one write each. */
const writeLines = (out: Stdio.Writer, from: number, to: number) =>
  Effect.forEach(Array.from({ length: to - from }, (_, i) => from + i), (i) => out.write(line(i)), { discard: true })

describe("RunMain: nothing written is lost, whatever the exit code", () => {
  const N = 2_000 // ~250 KB through a 1 KB buffer and a reader that takes a chunk per event-loop turn

  it.each([
    ["success", 0, Effect.void],
    ["a failure the job reports", 1, Effect.fail(failed())],
    ["bad input", 2, Effect.fail(badInput("bad"))],
    ["a defect", 70, Effect.die(new Error("boom"))],
    ["an untyped failure", 70, Effect.fail(new Error("untyped"))],
    ["the deadline", 124, Effect.fail(deadlineReached())]
  ] as const)("%s: exit %i after the reader has every byte", async (_name, code, end) => {
    const r = await run(({ out }) => Effect.zipRight(writeLines(out, 0, N), end))
    expect(r.code).toBe(code)
    expect(r.stdout).toBe(lines(0, N))
  })

  it.each([["SIGINT", 130], ["SIGTERM", 143]] as const)(
    "%s: the program is interrupted, what its finalizer prints still arrives, exit %i",
    async (signal, code) => {
      const r = await run(({ out, signal: send }) =>
        Effect.gen(function*() {
          yield* writeLines(out, 0, N)
          const parked = yield* Effect.fork(Effect.never.pipe(Effect.onInterrupt(() => writeLines(out, N, 2 * N))))
          yield* Effect.yieldNow()
          send(signal)
          yield* Fiber.join(parked)
        })
      )
      expect(r.code).toBe(code)
      expect(r.stdout).toBe(lines(0, 2 * N))
    }
  )

  it("a defect while interrupted by SIGINT is still an internal error: 70 wins over 130", async () => {
    const r = await run(({ signal }) =>
      Effect.gen(function*() {
        yield* Effect.sync(() => signal("SIGINT"))
        yield* Effect.never
      }).pipe(Effect.onInterrupt(() => Effect.die(new Error("finalizer broke"))))
    )
    expect(r.code).toBe(70)
    expect(r.stderr).toBe("leakproof: internal error: Error: finalizer broke\n")
  })

  it("an internal error is one line; the cause follows only in debug mode", async () => {
    const quiet = await run(() => Effect.die(new TypeError("Invalid URL")))
    expect(quiet.stderr).toBe("leakproof: internal error: TypeError: Invalid URL\n")
    const debug = await run(() => Effect.die(new TypeError("Invalid URL")), { debug: true })
    expect(debug.stderr.split("\n")[0]).toBe("leakproof: internal error: TypeError: Invalid URL")
    expect(debug.stderr).toMatch(/\n\s+at /)
  })

  it("a CliExit message is one line on stderr", async () => {
    const r = await run(() => Effect.fail(new CliExit({ code: 2, message: "--workers must be a positive integer, got 0" })))
    expect(r).toEqual({ code: 2, stdout: "", stderr: "leakproof: --workers must be a positive integer, got 0\n" })
  })

  it("an interruption nobody asked for (no signal, stdout open) is an internal error, never 0", async () => {
    const r = await run(() => Effect.interrupt)
    expect(r.code).toBe(70)
  })

  it("a second signal exits at once with its code", async () => {
    const r = await run(({ signal }) =>
      Effect.gen(function*() {
        signal("SIGINT")
        yield* Effect.never
      }).pipe(Effect.onInterrupt(() => Effect.sync(() => signal("SIGTERM")).pipe(Effect.zipRight(Effect.never))))
    )
    expect(r.code).toBe(143)
  })

  it("property: any sequence of writes and any ending arrives whole, in order, before exit", () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 0, maxLength: 60 }),
        fc.constantFrom(0, 1, 2, 70, 124),
        fc.integer({ min: 1, max: 4096 }),
        async (sizes, code, hwm) => {
          const texts = sizes.map((n, i) => String.fromCharCode(97 + (i % 26)).repeat(n))
          const end = code === 0
            ? Effect.void
            : code === 70
            ? Effect.die("boom")
            : Effect.fail(new CliExit({ code, message: "" }))
          const r = await run(({ out }) => Effect.zipRight(Effect.forEach(texts, out.write, { discard: true }), end), {
            stdout: slowSink(hwm)
          })
          expect(r.code).toBe(code)
          expect(r.stdout).toBe(texts.join(""))
        }
      ),
      { numRuns: 60 }
    ))
})

describe("Stdio: back-pressure and a closed pipe", () => {
  /** A reader that takes nothing until `release()`. */
  const heldSink = () => {
    const pending: Array<() => void> = []
    let bytes = 0
    const sink = new Writable({
      highWaterMark: 64,
      write(chunk: Buffer, _enc, cb) {
        bytes += chunk.length
        pending.push(cb)
      }
    })
    return {
      sink,
      bytes: () => bytes,
      release: () => {
        for (const cb of pending.splice(0)) cb()
      }
    }
  }

  it.live("a producer printing to a full pipe parks: memory stays at the buffer, not the output", () =>
    Effect.gen(function*() {
      const held = heldSink()
      const out = Stdio.make(held.sink)
      let written = 0
      const producer = yield* Effect.fork(
        Effect.forEach(Array.from({ length: 1000 }), () => Effect.zipRight(out.write("y".repeat(100)), Effect.sync(() => written++)), {
          discard: true
        })
      )
      yield* Effect.yieldNow()
      for (let i = 0; i < 100 && !FiberStatus.isSuspended(yield* Fiber.status(producer)); i++) yield* Effect.yieldNow()
      expect(FiberStatus.isSuspended(yield* Fiber.status(producer))).toBe(true)
      // The first write exceeded the 64-byte mark; the producer waits for 'drain' after it.
      expect(written).toBe(0)
      expect(held.sink.writableLength).toBeLessThanOrEqual(100)
      // Let the reader catch up repeatedly: the producer finishes, one buffer at a time.
      while (producer.unsafePoll() === null) {
        held.release()
        yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
        expect(held.sink.writableLength).toBeLessThanOrEqual(100)
      }
      expect(written).toBe(1000)
      held.release()
      yield* out.flush
      expect(held.bytes()).toBe(100_000)
    }))

  it.live("EPIPE: `closed` completes, a parked write resumes, later writes are dropped, no 'error' is thrown", () =>
    Effect.gen(function*() {
      const held = heldSink()
      const out = Stdio.make(held.sink)
      const parked = yield* Effect.fork(Effect.zipRight(out.write("z".repeat(100)), out.write("more")))
      yield* Effect.yieldNow()
      expect(out.isClosed()).toBe(false)
      held.sink.destroy(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }))
      yield* out.closed
      expect(out.isClosed()).toBe(true)
      expect(Exit.isSuccess(yield* Fiber.await(parked))).toBe(true)
      yield* out.write("dropped")
      yield* out.flush
    }))

  it("RunMain: a closed stdout interrupts the program quietly, exit 141", async () => {
    const held = heldSink()
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      const err = slowSink()
      const stdout = Stdio.make(held.sink)
      RunMain.runMain(
        Effect.gen(function*() {
          yield* Effect.forkDaemon(Effect.sync(() => held.sink.destroy(Object.assign(new Error("EPIPE"), { code: "EPIPE" }))))
          yield* Effect.forever(stdout.write("line\n"))
        }),
        {
          stdout,
          stderr: Stdio.make(err.sink),
          exit: (code) => resolve({ code, stderr: err.text() }),
          onSignal: () => {},
          offSignal: () => {},
          debug: false
        }
      )
    })
    expect(r).toEqual({ code: 141, stderr: "" })
  })

  it.effect("the flush of a stream nobody writes to is immediate", () =>
    Effect.gen(function*() {
      const out = Stdio.make(slowSink().sink)
      yield* out.flush
      const d = yield* Deferred.make<void>()
      yield* Deferred.succeed(d, undefined)
    }))
})

describe("CliExit: the table's precedence 2 > 70 > 130/143 > 141 > 124 > 1 > 0", () => {
  it("strongest picks the first of the order", () => {
    const order = [2, 70, 130, 141, 124, 1, 0]
    for (let i = 0; i < order.length; i++) {
      for (let j = i; j < order.length; j++) expect(strongest([order[j]!, order[i]!])).toBe(order[i])
    }
    expect(strongest([143, 141])).toBe(143)
    expect(strongest([])).toBe(0)
    expect(strongest([3])).toBe(ExitCode.internal)
  })

  it.prop(
    "outcome: the code is the strongest of what happened (exit, signal, closed stdout)",
    [
      fc.constantFrom("ok", "failed", "bad", "deadline", "defect", "interrupted"),
      fc.constantFrom(undefined, "SIGINT", "SIGTERM"),
      fc.boolean()
    ],
    ([kind, signal, stdoutClosed]) => {
      const exit: Exit.Exit<void, unknown> = kind === "ok"
        ? Exit.void
        : kind === "failed"
        ? Exit.fail(failed())
        : kind === "bad"
        ? Exit.fail(badInput("x"))
        : kind === "deadline"
        ? Exit.fail(deadlineReached())
        : kind === "defect"
        ? Exit.die(new Error("x"))
        : Exit.failCause(Cause.interrupt(Cause.empty as never))
      const own = { ok: 0, failed: 1, bad: 2, deadline: 124, defect: 70, interrupted: undefined }[kind]
      const seen = [
        ...(own === undefined ? [] : [own]),
        ...(signal === undefined ? [] : [signal === "SIGINT" ? 130 : 143]),
        ...(stdoutClosed ? [141] : [])
      ]
      const expected = seen.length === 0 ? 70 : strongest(seen)
      expect(RunMain.outcome(exit, { signal: signal as NodeJS.Signals | undefined, stdoutClosed }).code).toBe(expected)
    }
  )
})
