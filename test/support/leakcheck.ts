/**
 * Helpers for the test kit's own tests: where a marker comment sits in a test file (so a report's
 * `path:line` is asserted exactly), and real event-loop turns (what the deadlock detector needs to
 * look twice), counted, never timed.
 */
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import * as path from "node:path"

/**
 * `path:line` (relative to the working directory) of the line of `file` that ends with the comment
 * `// site: <name>`.
 */
export const siteOf = (file: string, name: string): string => {
  const marker = `// site: ${name}`
  const lines = readFileSync(file, "utf8").split("\n")
  const index = lines.findIndex((l) => l.includes(marker))
  if (index < 0 || lines.findIndex((l, i) => i > index && l.includes(marker)) >= 0) {
    throw new Error(`marker ${marker} must occur exactly once in ${file}`)
  }
  return `${path.relative(process.cwd(), file)}:${index + 1}`
}

/** Lets the event loop run `n` full turns (each `setImmediate` comes after pending I/O callbacks). */
export const eventLoopTurns = (n: number): Effect.Effect<void> =>
  Effect.promise(async () => {
    for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve))
  })
