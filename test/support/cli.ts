/**
 * Runs the bundled `leakproof` CLI (built by test/globalSetup.ts) as a child process, the way a
 * user does, and returns its exit code and output.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

const bundle = fileURLToPath(new URL("../../dist/leakproof.mjs", import.meta.url))

export interface RunCliOptions {
  readonly stdin?: string
  /** Hard limit: the child is killed after this many ms (default 15 000). */
  readonly timeoutMs?: number
  /** Send this signal once `when` matches the stdout seen so far. */
  readonly signal?: { readonly name: NodeJS.Signals; readonly when: (stdout: string) => boolean }
  readonly env?: Record<string, string>
}

export const runCli = (args: ReadonlyArray<string>, options: RunCliOptions = {}): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bundle, ...args], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", ...options.env }
    })
    let stdout = ""
    let stderr = ""
    let signalled = false
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 15_000)
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString()
      if (options.signal && !signalled && options.signal.when(stdout)) {
        signalled = true
        child.kill(options.signal.name)
      }
    })
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
    child.stdin.end(options.stdin ?? "")
  })
