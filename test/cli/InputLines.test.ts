/**
 * Input read and decoded as a stream (issue 9.1): a multi-byte character split across two chunks
 * is decoded whole, wherever the chunk boundary falls.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Exit, FastCheck as fc, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as InputLines from "../../src/cli/InputLines.js"
import { runCli } from "../support/cli.js"
import { faultServerForSuite } from "../support/suiteServer.js"

const encoder = new TextEncoder()

async function* chunked(bytes: Uint8Array, cuts: ReadonlyArray<number>): AsyncGenerator<Uint8Array> {
  let at = 0
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    yield bytes.subarray(at, cut)
    at = cut
  }
  yield bytes.subarray(at)
}

const collect = (stream: Stream.Stream<string, unknown>) =>
  Effect.runPromise(Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray))

describe("InputLines", () => {
  it("a 2-byte character split between two chunks is decoded once, whole", async () => {
    const bytes = encoder.encode("http://a/é\nhttp://b/\n")
    const at = bytes.indexOf(0xc3) + 1 // between 0xC3 and 0xA9
    expect(await collect(InputLines.fromChunks(chunked(bytes, [at]), "stdin"))).toEqual(["http://a/é", "http://b/"])
  })

  it("a 4-byte character split over three chunks, and CRLF line ends", async () => {
    const bytes = encoder.encode("x😀y\r\nz")
    const start = bytes.indexOf(0xf0)
    expect(await collect(InputLines.fromChunks(chunked(bytes, [start + 1, start + 3]), "stdin"))).toEqual(["x😀y", "z"])
  })

  it("property: any text, cut anywhere, gives the same lines and words as splitting it whole", () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.fullUnicodeString({ maxLength: 8 }), fc.constantFrom("\n", " ", "\t", "\r\n", "é", "😀")), {
          maxLength: 40
        }).map((parts) => parts.join("")),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (text, rawCuts) => {
          const bytes = encoder.encode(text)
          const cuts = rawCuts.map((c) => c % (bytes.length + 1))
          const lines = text.split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l))
          if (lines.at(-1) === "") lines.pop()
          expect(await collect(InputLines.fromChunks(chunked(bytes, cuts), "stdin"))).toEqual(lines)
          const words = text.split(/\s+/).filter((w) => w.length > 0)
          expect(await collect(InputLines.fromChunks(chunked(bytes, cuts), "stdin", "words"))).toEqual(words)
        }
      ),
      { numRuns: 300 }
    ))

  it("input that is not UTF-8 is bad input: one line, exit code 2", async () => {
    const exit = await Effect.runPromiseExit(
      Stream.runCollect(InputLines.fromChunks(chunked(new Uint8Array([0x68, 0xff, 0x0a]), []), "--file x"))
    )
    expect(exit).toEqual(Exit.fail(expect.objectContaining({ code: 2, message: "--file x: not valid UTF-8 text" })))
  })

  // `--file /dev/zero` is one endless line: it must end as bad input, not grow until memory runs out.
  it.each([["lines", "line"], ["words", "word"]] as const)("a %s input with a piece over 1 MiB is bad input, read no further", async (split, what) => {
    let read = 0
    async function* endless() {
      const chunk = new Uint8Array(64 * 1024).fill(0x61)
      for (;;) {
        read += chunk.length
        yield chunk
      }
    }
    const exit = await Effect.runPromiseExit(Stream.runCollect(InputLines.fromChunks(endless(), "--file /dev/zero", split)))
    expect(exit).toEqual(Exit.fail(expect.objectContaining({ code: 2, message: `--file /dev/zero: a ${what} longer than 1048576 characters` })))
    expect(read).toBeLessThan(2 * 1024 * 1024)
  })

  it("a URL list skips blank lines and # comments and trims", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "leakproof-"))
    const file = path.join(dir, "urls.txt")
    fs.writeFileSync(file, "# mirrors\n  http://a/  \n\n\t\nhttp://b/\r\n#http://c/\n")
    expect(await collect(InputLines.urlList(file))).toEqual(["http://a/", "http://b/"])
    fs.rmSync(dir, { recursive: true })
  })

  it("a missing file is bad input naming the flag", async () => {
    const exit = await Effect.runPromiseExit(Stream.runCollect(InputLines.urlList("/nonexistent/urls.txt")))
    expect(exit).toEqual(
      Exit.fail(expect.objectContaining({
        code: 2,
        message: "--file /nonexistent/urls.txt: ENOENT: no such file or directory, open '/nonexistent/urls.txt'"
      }))
    )
  })
})

describe("the CLI reads stdin as a stream (spawned)", () => {
  const server = faultServerForSuite()
  let dir: string
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "leakproof-"))
  })
  afterAll(() => {
    fs.rmSync(dir, { recursive: true })
  })

  it("fetch --file - < file: a URL whose 'é' straddles the 64 KiB read boundary is fetched as written", async () => {
    const url = server.url("/ok/café")
    // Comment lines up to just before byte 65,536, so that 'é' (2 bytes) is cut by the first read.
    const prefix = url.slice(0, url.indexOf("é"))
    const fill = 65_536 - 1 - Buffer.byteLength(prefix) - 1 // "…\n" + prefix + 0xC3 | 0xA9
    const comment = `#${"c".repeat(fill - 1)}\n`
    const file = path.join(dir, "urls.txt")
    fs.writeFileSync(file, `${comment}${url}\n`)
    expect(Buffer.from(fs.readFileSync(file)).subarray(65_535, 65_537)).toEqual(Buffer.from("é"))
    const r = await runCli(["fetch", "--file", "-"], { stdinFile: file })
    expect(r.stderr).toContain("1 succeeded")
    expect((JSON.parse(r.stdout) as { url: string }).url).toBe(url)
    expect(r.code).toBe(0)
  })

  // stdin left open by a writer that went quiet: nothing may wait for the next read. Each child
  // must exit by itself with its code; runCli's hard limit (SIGKILL) would show as a signal.
  describe("stdin that stays open", () => {
    const open = { stdinOpen: true, timeoutMs: 10_000 } as const
    it("fetch --deadline: exit 124 at the deadline, with the outcomes so far", async () => {
      const r = await runCli(["fetch", "--deadline", "500ms", "--file", "-"], { ...open, stdin: `${server.url("/ok/1")}\n` })
      expect([r.signal, r.code]).toEqual([null, 124])
      expect(r.stdout).toContain(server.url("/ok/1"))
      expect(r.stderr).toContain("summary: 1 URLs: 1 succeeded")
    })
    it.each(["fetch-all", "first", "check-status"])("%s --deadline: the deadline covers reading the list: exit 124", async (command) => {
      const r = await runCli([command, "--deadline", "500ms", "--file", "-"], { ...open, stdin: `${server.url("/ok/1")}\n` })
      expect([r.signal, r.code]).toEqual([null, 124])
      expect(r.stderr).toBe(`leakproof: ${command}: deadline reached while reading --file -\n`)
    })
    it("fetch --take 1: exit 0 once the first outcome is in", async () => {
      const r = await runCli(["fetch", "--take", "1", "--file", "-"], { ...open, stdin: `${server.url("/ok/1")}\n` })
      expect([r.signal, r.code]).toEqual([null, 0])
      expect(r.stdout).toContain(server.url("/ok/1"))
    })
    it("fetch, Ctrl-C: exit 130 with the outcomes so far and the summary", async () => {
      const r = await runCli(["fetch", "--file", "-"], {
        ...open,
        stdin: `${server.url("/ok/1")}\n`,
        signal: { name: "SIGINT", when: (out) => out.includes("\n") }
      })
      expect([r.signal, r.code]).toEqual([null, 130])
      expect(r.stdout).toContain(server.url("/ok/1"))
      expect(r.stderr).toContain("summary: 1 URLs: 1 succeeded")
    })
  })

  it("squares < file: numbers across the 64 KiB read boundary are read whole", async () => {
    const nums = Array.from({ length: 20_000 }, (_, i) => i % 1000)
    const file = path.join(dir, "nums.txt")
    fs.writeFileSync(file, nums.join("  "))
    const r = await runCli(["squares", "--format", "json"], { stdinFile: file })
    expect(r.code).toBe(0)
    const got = (JSON.parse(r.stdout) as { results: Array<number> }).results
    expect(got.slice().sort((a, b) => a - b)).toEqual(nums.map((n) => n * n).sort((a, b) => a - b))
  })
})
