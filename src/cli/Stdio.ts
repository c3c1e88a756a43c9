/**
 * The CLI's stdout and stderr as Effect writers that respect back-pressure, survive a reader that
 * goes away, and can be flushed before the process exits. Go's `os.Stdout` is a blocking file
 * descriptor, so a Go program never loses a byte it wrote; Node's pipe streams are asynchronous:
 * `write` queues in memory when the pipe is full, and `process.exit()` drops the queue. This is the
 * one place that bridges the two (STYLE.md, "Fast paths"): every caller writes through `write`.
 *
 * Invariants:
 * - `write(text)` hands `text` to the stream exactly once, in call order. It completes at once while
 *   the stream's buffer is below its high-water mark, otherwise when the stream drains: a producer
 *   that prints is held back by a slow reader, so memory stays flat (at most the high-water mark
 *   plus one pending text per writing fiber). Interrupting a parked `write` does not take the text
 *   back (it is already queued); it will still be flushed.
 * - When the reader has closed the stream (`EPIPE`, or the stream was destroyed), `closed` completes
 *   once, every parked `write` resumes, and later writes are dropped and complete at once. So a
 *   finalizer that prints (a summary on interruption) can never hang on a dead pipe. Deciding to stop
 *   the run is the caller's job (`RunMain` interrupts the program: exit code 141).
 * - `flush` completes when everything written so far has left the process (or the stream closed).
 *   One `'drain'`, one `'error'` and one `'close'` listener per stream, installed once: no listener
 *   per write, so no MaxListenersExceeded warnings under thousands of concurrent writers.
 *
 * @since 0.1.0
 */
import { Deferred, Effect, FiberId } from "effect"
import type { Writable } from "node:stream"

/**
 * One output stream.
 * @since 0.1.0
 */
export interface Writer {
  /** Writes `text`, parking while the stream is full. Never fails; dropped once the stream closed. */
  readonly write: (text: string) => Effect.Effect<void>
  /** Completes when the reader has gone away (EPIPE) or the stream was destroyed. */
  readonly closed: Effect.Effect<void>
  /** Whether the reader has gone away. */
  readonly isClosed: () => boolean
  /** Calls `f` once when the reader goes away (no fiber waits for it); returns the unsubscribe. */
  readonly onClosed: (f: () => void) => () => void
  /** Completes when every byte written so far has been handed to the OS, or the stream closed. */
  readonly flush: Effect.Effect<void>
  /** Whether the stream is a terminal (colours, progress lines). */
  readonly isTTY: boolean
}

/**
 * Wraps a Node `Writable` (the process's stdout/stderr, or a test's stream). Installs its error,
 * drain and close listeners on the stream; call once per stream.
 * @since 0.1.0
 */
export const make = (stream: Writable & { readonly isTTY?: boolean }): Writer => {
  const closedSignal = Deferred.unsafeMake<void>(FiberId.none)
  let closed = false
  // Fibers parked until 'drain'; flushes parked until their write callback (or a close).
  let drainWaiters: Array<() => void> = []
  const closeWaiters = new Set<() => void>()
  const wakeDrained = () => {
    const ws = drainWaiters
    drainWaiters = []
    for (const w of ws) w()
  }
  const close = () => {
    if (closed) return
    closed = true
    Deferred.unsafeDone(closedSignal, Effect.void)
    wakeDrained()
    for (const w of closeWaiters) w()
    closeWaiters.clear()
  }
  // EPIPE (the reader exited) or any other write error: the stream is gone. Without this listener
  // Node would throw the 'error' event as an uncaught exception with a stack trace.
  stream.on("error", close)
  stream.on("close", close)
  stream.on("drain", wakeDrained)

  const awaitDrain = Effect.async<void>((resume) => {
    if (closed || !stream.writableNeedDrain) return resume(Effect.void)
    const waiter = () => resume(Effect.void)
    drainWaiters.push(waiter)
    return Effect.sync(() => {
      const i = drainWaiters.indexOf(waiter)
      if (i >= 0) drainWaiters.splice(i, 1)
    })
  })

  const write = (text: string): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (closed || stream.destroyed) return Effect.void
      return stream.write(text) ? Effect.void : awaitDrain
    })

  const flush = Effect.async<void>((resume) => {
    if (closed || stream.destroyed || stream.writableLength === 0) return resume(Effect.void)
    let done = false
    const finish = () => {
      if (done) return
      done = true
      closeWaiters.delete(finish)
      resume(Effect.void)
    }
    closeWaiters.add(finish)
    // Writes complete in order, so the callback of an empty write runs after every earlier one.
    stream.write("", finish)
    return Effect.sync(() => closeWaiters.delete(finish))
  })

  const onClosed = (f: () => void) => {
    if (closed) {
      f()
      return () => {}
    }
    const once = () => f()
    closeWaiters.add(once)
    return () => closeWaiters.delete(once)
  }

  return {
    write,
    closed: Deferred.await(closedSignal),
    isClosed: () => closed,
    onClosed,
    flush,
    isTTY: stream.isTTY === true
  }
}

let stdoutWriter: Writer | undefined
let stderrWriter: Writer | undefined

/**
 * The process's stdout, wrapped on first use.
 * @since 0.1.0
 */
export const stdout = (): Writer => (stdoutWriter ??= make(process.stdout))

/**
 * The process's stderr, wrapped on first use.
 * @since 0.1.0
 */
export const stderr = (): Writer => (stderrWriter ??= make(process.stderr))

/**
 * Writes a line to stdout (back-pressured; see `Writer.write`).
 * @since 0.1.0
 */
export const out = (line: string): Effect.Effect<void> => Effect.suspend(() => stdout().write(`${line}\n`))

/**
 * Writes a line to stderr (back-pressured; see `Writer.write`).
 * @since 0.1.0
 */
export const err = (line: string): Effect.Effect<void> => Effect.suspend(() => stderr().write(`${line}\n`))
