/**
 * The grouped goroutine dump (pprof's `goroutine?debug=1`): fibers blocked at the same place with
 * the same span stack are one line with a count, so 10,000 leaked handlers read as "10000 x".
 */
import { describe, expect, it } from "../../src/vitest.js"
import { Effect, Exit, Fiber, Scope } from "effect"
import { fileURLToPath } from "node:url"
import * as Chan from "../../src/domain/Chan.js"
import * as LeakCheck from "../../src/domain/LeakCheck.js"
import { awaitSuspended } from "../support/fibers.js"
import { siteOf } from "../support/leakcheck.js"

const here = fileURLToPath(import.meta.url)

const fiber = (id: number, over: Partial<LeakCheck.LeakedFiber> = {}): LeakCheck.LeakedFiber => ({
  id,
  parent: 1,
  state: "suspended: chan send",
  spans: ["handler"],
  createdAt: undefined,
  blockedAt: undefined,
  waitsOn: undefined,
  ...over
})

describe("LeakCheck.dumpFibersGrouped (pprof goroutine?debug=1)", () => {
  it.effect("10,000 handlers blocked on the same send show as one line: 10000 x", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const responses = yield* Chan.make<number>()
      const handler = (i: number) =>
        Chan.send(responses, i).pipe(Effect.withSpan("handler"), Effect.withSpan("http.server GET"))
      let last: Fiber.RuntimeFiber<void> | undefined
      for (let i = 0; i < 10_000; i++) last = yield* Effect.forkIn(handler(i), scope)
      yield* awaitSuspended(last!)
      const dump = yield* LeakCheck.dumpFibersGrouped
      const [biggest] = dump.groups
      expect(biggest!.count).toBe(10_000)
      expect([biggest!.state, biggest!.spans]).toEqual(["suspended: chan send", ["handler", "http.server GET"]])
      expect(biggest!.ids).toHaveLength(10)
      expect(dump.total).toBeGreaterThanOrEqual(10_000)
      const text = LeakCheck.formatDump(dump, "text")
      const lines = text.split("\n")
      expect(lines.filter((l) => l.includes("in handler <"))).toEqual([
        "10000 x [suspended: chan send] in handler < http.server GET"
      ])
      expect(lines[0]).toMatch(/^fibers: \d+ fibers in \d+ groups$/)
      expect(text).toContain(", … (9990 more)")
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("fibers created or blocked at different lines are different groups (sites recorded by a check)", () =>
    LeakCheck.verifyNone(Effect.gen(function*() {
      const jobs = yield* Chan.make<number>()
      const fibers: Array<Fiber.RuntimeFiber<unknown>> = []
      for (let i = 0; i < 3; i++) fibers.push(yield* Effect.fork(Chan.send(jobs, i))) // site: senders
      for (let i = 0; i < 2; i++) fibers.push(yield* Effect.fork(Chan.send(jobs, i))) // site: more-senders
      for (const f of fibers) yield* awaitSuspended(f)
      const dump = yield* LeakCheck.dumpFibersGrouped
      const ours = dump.groups.filter((g) => g.state === "suspended: chan send")
      expect(ours.map((g) => [g.count, g.createdAt])).toEqual([[3, siteOf(here, "senders")], [2, siteOf(here, "more-senders")]])
      yield* Fiber.interruptAll(fibers)
    }), { sites: true }))

  it("groupFibers is pure: biggest group first, ties by lowest id, ids sorted and capped at 10", () => {
    const fibers = [
      ...Array.from({ length: 12 }, (_, i) => fiber(100 - i)),
      fiber(7, { state: "running", spans: [] }),
      fiber(3, { state: "suspended", spans: ["ticker"] }),
      fiber(5, { spans: ["handler"], blockedAt: "src/x.ts:9" })
    ]
    const dump = LeakCheck.groupFibers(fibers)
    expect(dump.total).toBe(15)
    expect(dump.groups.map((g) => [g.count, g.ids[0]])).toEqual([[12, 89], [1, 3], [1, 5], [1, 7]])
    expect(dump.groups[0]!.ids).toEqual([89, 90, 91, 92, 93, 94, 95, 96, 97, 98])
  })

  it("renders as text, as a self-contained HTML page (escaped), and as JSON", () => {
    const dump = LeakCheck.groupFibers([
      fiber(2, { spans: ["<script>alert(1)</script>"], createdAt: "src/a.ts:1", blockedAt: "src/a.ts:2" }),
      fiber(3, { spans: ["<script>alert(1)</script>"], createdAt: "src/a.ts:1", blockedAt: "src/a.ts:2" })
    ])
    expect(LeakCheck.formatDump(dump, "text")).toBe([
      "fibers: 2 fibers in 1 group",
      "",
      "2 x [suspended: chan send] in <script>alert(1)</script>",
      "    created at src/a.ts:1, blocked at src/a.ts:2",
      "    fibers #2, #3",
      ""
    ].join("\n"))
    const html = LeakCheck.formatDump(dump, "html")
    expect(html.startsWith("<!doctype html>")).toBe(true)
    expect(html).not.toContain("<script>")
    expect(html).toContain("<td class=\"n\">2</td><td>suspended: chan send</td><td>&lt;script&gt;alert(1)&lt;/script&gt;</td>")
    expect(JSON.parse(LeakCheck.formatDump(dump, "json"))).toEqual(JSON.parse(JSON.stringify(dump)))
  })

  it("dumpFormatFor: ?format= wins, a browser gets HTML, anything else JSON", () => {
    expect(LeakCheck.dumpFormatFor("text", "text/html")).toBe("text")
    expect(LeakCheck.dumpFormatFor(undefined, "text/html,application/xhtml+xml,*/*;q=0.8")).toBe("html")
    expect(LeakCheck.dumpFormatFor("bogus", "application/json")).toBe("json")
    expect(LeakCheck.dumpFormatFor(undefined, undefined)).toBe("json")
  })
})
