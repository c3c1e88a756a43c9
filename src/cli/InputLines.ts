/**
 * Text input for the CLI, read as a stream and decoded as a stream (Go's `bufio.Scanner` over a file
 * or `os.Stdin`): a URL list line by line, numbers word by word, never the whole input in memory.
 *
 * UTF-8 is decoded with `TextDecoder`'s streaming mode, so a character whose bytes are split
 * across two chunks (a 64 KiB pipe read, a file read) is decoded once, whole. Input that is not
 * UTF-8, or a file that cannot be read, is bad input: one line, exit code 2 (`CliExit`).
 * Interrupting the stream (the consumer stops early, Ctrl-C, a deadline) ends it at once, even
 * while a read is pending on an input that stays open (stdin nobody writes to): the file is closed
 * when that read returns (see `AsyncIterableStream`).
 *
 * @since 0.1.0
 */
import { Stream } from "effect"
import * as fs from "node:fs"
import * as AsyncIterableStream from "../domain/AsyncIterableStream.js"
import { badInput, type CliExit } from "./CliExit.js"

/**
 * How input is cut: at line ends (`\n`, with a trailing `\r` dropped) or at any whitespace.
 * @since 0.1.0
 */
export type Split = "lines" | "words"

const whitespace = /\s+/

/**
 * The longest line (or word) accepted, in characters: far beyond any URL or number, and what stops
 * an endless one (`--file /dev/zero`) from growing until memory runs out.
 */
export const MAX_PIECE = 1024 * 1024

class PieceTooLong extends Error {}

async function* scan(chunks: AsyncIterable<Uint8Array | string>, split: Split): AsyncGenerator<ReadonlyArray<string>> {
  const decoder = new TextDecoder("utf-8", { fatal: true })
  // The text since the last separator, in pieces: joined once a separator arrives, so a very long
  // line costs linear time, not a copy per chunk.
  let pending: Array<string> = []
  let pendingLength = 0
  const cut = (text: string): ReadonlyArray<string> | undefined => {
    const at = split === "lines" ? text.indexOf("\n") : text.search(whitespace)
    if (at < 0) {
      if (text.length > 0) pending.push(text)
      pendingLength += text.length
      if (pendingLength > MAX_PIECE) throw new PieceTooLong(`a ${split === "lines" ? "line" : "word"} longer than ${MAX_PIECE} characters`)
      return undefined
    }
    const whole = pending.length === 0 ? text : pending.join("") + text
    const parts = split === "lines" ? whole.split("\n") : whole.split(whitespace)
    const rest = parts.pop()!
    pending = rest.length > 0 ? [rest] : []
    pendingLength = rest.length
    return parts
  }
  for await (const chunk of chunks) {
    const text = typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true })
    const parts = cut(text)
    if (parts !== undefined) yield clean(parts, split)
  }
  const last = pending.join("") + decoder.decode()
  if (last.length > 0) yield clean([last], split)
}

const clean = (parts: ReadonlyArray<string>, split: Split): ReadonlyArray<string> =>
  split === "lines"
    ? parts.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l))
    : parts.filter((w) => w.length > 0)

const describe = (e: unknown): string => {
  if (e instanceof TypeError && /encoded data was not valid/.test(e.message)) return "not valid UTF-8 text"
  if (e instanceof PieceTooLong) return e.message
  return e instanceof Error ? e.message : String(e)
}

/**
 * Lines (or words) of UTF-8 text from `chunks`, in order. `source` names the input in error
 * messages (`--file urls.txt`, `stdin`).
 * @since 0.1.0
 */
export const fromChunks = (
  chunks: AsyncIterable<Uint8Array | string>,
  source: string,
  split: Split = "lines"
): Stream.Stream<string, CliExit> =>
  AsyncIterableStream.fromAsyncIterable(scan(chunks, split), (e) => badInput(`${source}: ${describe(e)}`)).pipe(
    Stream.flattenIterables
  )

/**
 * Lines (or words) of the file at `path`, or of stdin when `path` is `-`.
 * @since 0.1.0
 */
export const fromPath = (path: string, source: string, split: Split = "lines"): Stream.Stream<string, CliExit> =>
  Stream.suspend(() => fromChunks(path === "-" ? process.stdin : fs.createReadStream(path), source, split))

/**
 * A URL list: one URL per line, surrounding whitespace trimmed, blank lines and `#` comments
 * skipped. `path` `-` is stdin.
 * @since 0.1.0
 */
export const urlList = (path: string): Stream.Stream<string, CliExit> =>
  fromPath(path, `--file ${path}`).pipe(
    Stream.map((line) => line.trim()),
    Stream.filter((line) => line.length > 0 && !line.startsWith("#"))
  )
