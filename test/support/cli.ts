/**
 * Runs the bundled `leakproof` CLI (built by test/globalSetup.ts) as a child process, the way a
 * user does, and returns its exit code and output.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import { Writable } from "node:stream"
import { fileURLToPath } from "node:url"

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** The CLI under test; `LEAKPROOF_CLI_BUNDLE` points the tests at another build (e.g. an old one). */
export const bundle = process.env["LEAKPROOF_CLI_BUNDLE"] ?? fileURLToPath(new URL("../../dist/leakproof.mjs", import.meta.url))

export interface RunCliOptions {
  readonly stdin?: string | Uint8Array
  /** Read stdin from this file (the child then reads it in fixed 64 KiB chunks, like `< file`). */
  readonly stdinFile?: string
  /** Hard limit: the child is killed after this many ms (default 15 000). */
  readonly timeoutMs?: number
  /** Send this signal once `when` matches the stdout seen so far. */
  readonly signal?: { readonly name: NodeJS.Signals; readonly when: (stdout: string) => boolean }
  readonly env?: Record<string, string>
  /**
   * A slow pipe reader: stdout is consumed at about this many bytes per second (the pipe and the
   * child's stream buffers fill up, as behind `| slow-consumer`). Default: as fast as it comes.
   */
  readonly readRate?: number
  /** Send this signal once `ready` resolves (e.g. when a test server saw the requests). */
  readonly signalOn?: { readonly name: NodeJS.Signals; readonly ready: Promise<unknown> }
  /** Send this signal once `when` matches the stderr seen so far. */
  readonly stderrSignal?: { readonly name: NodeJS.Signals; readonly when: (stderr: string) => boolean }
  /** Write `stdin` and keep the pipe open until the child exits (a writer that went quiet). */
  readonly stdinOpen?: boolean
}

export const runCli = (args: ReadonlyArray<string>, options: RunCliOptions = {}): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    const stdinFd = options.stdinFile === undefined ? undefined : fs.openSync(options.stdinFile, "r")
    const child = spawn(process.execPath, [bundle, ...args], {
      stdio: [stdinFd ?? "pipe", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", ...options.env }
    })
    if (stdinFd !== undefined) fs.closeSync(stdinFd)
    const childStdout = child.stdout!
    const childStderr = child.stderr!
    let stdout = ""
    let stderr = ""
    let signalled = false
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 15_000)
    if (options.signalOn !== undefined) {
      const { name, ready } = options.signalOn
      ready.then(() => {
        if (!signalled && child.exitCode === null) {
          signalled = true
          child.kill(name)
        }
      }, () => {}) // never ready: the hard limit ends the child, the test sees no signal exit
    }
    const onStdout = (d: Buffer) => {
      stdout += d.toString()
      if (options.signal && !signalled && options.signal.when(stdout)) {
        signalled = true
        child.kill(options.signal.name)
      }
    }
    let stdoutDone: Promise<void>
    if (options.readRate === undefined) {
      childStdout.on("data", onStdout)
      stdoutDone = new Promise((r) => childStdout.on("end", r))
    } else {
      const rate = options.readRate
      // A writable with a tiny buffer whose writes complete only after the chunk's "reading time":
      // `pipe` pauses the child's stdout while it is busy, so the OS pipe fills up.
      const slow = new Writable({
        highWaterMark: 1,
        write(chunk: Buffer, _enc, cb) {
          onStdout(chunk)
          setTimeout(cb, Math.ceil((chunk.length * 1000) / rate))
        }
      })
      childStdout.pipe(slow)
      stdoutDone = new Promise((r) => slow.on("finish", r))
    }
    childStderr.on("data", (d: Buffer) => {
      stderr += d.toString()
      if (options.stderrSignal && !signalled && options.stderrSignal.when(stderr)) {
        signalled = true
        child.kill(options.stderrSignal.name)
      }
    })
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      void stdoutDone.then(() => resolve({ code, signal, stdout, stderr }))
    })
    if (child.stdin !== null) {
      child.stdin.on("error", () => {}) // the child may exit without reading all of stdin
      if (options.stdinOpen === true) child.stdin.write(options.stdin ?? "")
      else child.stdin.end(options.stdin ?? "")
    }
  })
