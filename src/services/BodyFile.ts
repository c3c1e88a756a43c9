/**
 * Bodies streamed to files (`body: { dir }`, `leakproof fetch --output DIR`): where a URL's body
 * goes and how it gets there without ever being held in memory whole.
 *
 * Invariants: the part file (`<name>.part-<pid>-<n>`) is created synchronously when the response
 * headers arrive and is either renamed to `<name>` once every byte is on disk, or unlinked
 * synchronously when the fetch fails or is cancelled; so a failed or cancelled fetch leaves no
 * file behind (only a killed process can leave a `*.part-*` file). Writes are queued in order; while
 * the disk is behind (`write` returns false) the caller pauses the socket and `onDrain` resumes it.
 *
 * Go analogue: `io.Copy(f, resp.Body)` into a temp file, then `os.Rename`.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"

/**
 * The file name for a URL inside the output directory: a readable slug of host, path and query
 * (only `A-Z a-z 0-9 . _ -`, no leading dot, at most 100 characters), a 64-bit hash of the whole URL
 * (so two URLs never share a name, and the same URL always gets the same one), and the path's
 * extension if it has a short one. It never contains a path separator, so it cannot leave `dir`.
 * @since 0.1.0
 */
export const nameFor = (url: string): string => {
  const hash = createHash("sha256").update(url).digest("hex").slice(0, 16)
  let raw = url
  let ext = ""
  try {
    const u = new URL(url)
    const last = u.pathname.slice(u.pathname.lastIndexOf("/") + 1)
    const m = /\.[A-Za-z0-9]{1,8}$/.exec(last)
    ext = m === null ? "" : m[0]
    const pathname = ext !== "" && u.search === "" ? u.pathname.slice(0, -ext.length) : u.pathname
    raw = `${u.host}${pathname}${u.search}`
  } catch {
    // not a URL: the slug comes from the text itself
  }
  const slug = raw.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 100).replace(/^[._-]+/, "").replace(/[._-]+$/, "")
  return `${slug === "" ? "index" : slug}-${hash}${ext}`
}

let seq = 0

/**
 * One body on its way to `dir/nameFor(url)`. Created when a 2xx response's headers arrive.
 * @since 0.1.0
 */
export class BodyFile {
  readonly final: string
  private readonly part: string
  private readonly stream: fs.WriteStream
  private open = true

  /** Creates the part file (synchronously: it exists, or this throws). */
  constructor(dir: string, url: string, onError: (e: Error) => void) {
    this.final = path.join(dir, nameFor(url))
    this.part = `${this.final}.part-${process.pid}-${++seq}`
    const fd = fs.openSync(this.part, "w")
    this.stream = fs.createWriteStream(this.part, { fd, highWaterMark: 64 * 1024 })
    this.stream.on("error", (e) => {
      if (this.open) onError(e)
    })
  }

  /** Queues a chunk; false means "pause the source until `onDrain`". */
  write(chunk: Uint8Array): boolean {
    return this.stream.write(chunk)
  }

  onDrain(resume: () => void): void {
    this.stream.once("drain", resume)
  }

  /** Flushes, then renames the part file to its final name; `done` gets the error if any. */
  finish(done: (e: Error | undefined) => void): void {
    // 'finish' comes only when every write succeeded; a failed write goes to `onError` instead.
    this.stream.once("finish", () => {
      if (!this.open) return
      this.open = false
      try {
        fs.renameSync(this.part, this.final)
        done(undefined)
      } catch (e) {
        this.unlink()
        done(e instanceof Error ? e : new Error(String(e)))
      }
    })
    this.stream.end()
  }

  /** Drops the file: stops writing and unlinks the part file now. Idempotent. */
  discard(): void {
    if (!this.open) return
    this.open = false
    this.stream.destroy()
    this.unlink()
  }

  private unlink(): void {
    try {
      fs.unlinkSync(this.part)
    } catch {
      // already gone
    }
  }
}

/**
 * Creates `dir` (and its parents) if missing; throws if it cannot, with the error of the first
 * component that could not be made (or that exists and is not a directory). One `mkdir` per
 * component, never `{ recursive: true }`: Node 20's recursive mkdir spins forever, deaf to
 * signals, on a missing directory under `/proc`.
 */
export const ensureDir = (dir: string): void => {
  const absolute = path.resolve(dir)
  const { root } = path.parse(absolute)
  let at = root
  for (const part of absolute.slice(root.length).split(path.sep)) {
    if (part === "") continue
    at = path.join(at, part)
    try {
      fs.mkdirSync(at)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
      if (!fs.statSync(at).isDirectory()) throw Object.assign(new Error(`${at} is not a directory`), { code: "ENOTDIR" })
    }
  }
}
