import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, FastCheck, Fiber, Schedule, Scope } from "effect"
import * as Http from "node:http"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import * as LeakCheck from "../../src/domain/LeakCheck.js"
import * as WorkServer from "../../src/services/WorkServer.js"
import { awaitSuspended } from "../support/fibers.js"
import * as RawHttp from "../support/RawHttp.js"

interface Reply {
  readonly status: number | "aborted"
  readonly body: unknown
}

/**
 * One GET on a fresh connection (like independent clients; no keep-alive pool that would deliver
 * a whole round in one burst); `abortAfterMs` plays a client that hangs up early.
 */
const get = (url: string, abortAfterMs?: number): Effect.Effect<Reply> =>
  Effect.async<Reply>((resume) => {
    const req = Http.get(url, { agent: false }, (res) => {
      let data = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => (data += chunk))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, body: data === "" ? undefined : JSON.parse(data) })))
      res.on("error", () => resume(Effect.succeed({ status: "aborted", body: undefined })))
    })
    req.on("error", (e) =>
      resume(
        (e as NodeJS.ErrnoException).code === "ECONNRESET" || req.destroyed
          ? Effect.succeed({ status: "aborted", body: undefined })
          : Effect.die(e)
      )
    )
    const timer = abortAfterMs === undefined ? undefined : setTimeout(() => req.destroy(), abortAfterMs)
    req.on("close", () => clearTimeout(timer))
    return Effect.sync(() => req.destroy())
  })

/** Polls `value` until `ok` holds (goleak-style bounded wait on the live clock). */
const eventually = <A>(value: Effect.Effect<A>, ok: (a: A) => boolean, within: Duration.DurationInput = "3 seconds") =>
  value.pipe(
    Effect.filterOrFail(ok, (a) => new Error(`condition not reached, last value ${JSON.stringify(a)}`)),
    Effect.retry(Schedule.spaced("5 millis").pipe(Schedule.upTo(Duration.decode(within))))
  )

const heapAfterGc = (() => {
  v8.setFlagsFromString("--expose-gc")
  const gc = vm.runInNewContext("gc") as () => void
  return () => {
    gc()
    gc()
    return process.memoryUsage().heapUsed
  }
})()

const voidElements = new Set(["meta", "link", "br", "hr", "img", "input"])

/**
 * What is wrong with `html` as markup (empty: nothing): every tag closed in order (void elements
 * aside), text and attribute values free of a raw `<`, `>` or a `&` that starts no entity.
 */
const wellFormed = (html: string): Array<string> => {
  const problems: Array<string> = []
  const open: Array<string> = []
  const text = (t: string, where: string) => {
    if (/[<>]/.test(t)) problems.push(`raw < or > in ${where}: ${t.slice(0, 40)}`)
    if (/&(?!(amp|lt|gt|quot|#\d+);)/.test(t)) problems.push(`bare & in ${where}: ${t.slice(0, 40)}`)
  }
  const tag = /<(\/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[a-zA-Z-]+(?:="[^"]*")?)*)\s*>|<!doctype html>/gi
  let at = 0
  for (const m of html.matchAll(tag)) {
    text(html.slice(at, m.index), "text")
    at = m.index + m[0].length
    if (m[2] === undefined) continue // the doctype
    const name = m[2].toLowerCase()
    for (const [, value] of (m[3] ?? "").matchAll(/="([^"]*)"/g)) text(value!, `an attribute of <${name}>`)
    if (/\S/.test((m[3] ?? "").replace(/\s+[a-zA-Z-]+(="[^"]*")?/g, ""))) problems.push(`bad attributes in <${name}>`)
    if (m[1] === "/") {
      const top = open.pop()
      if (top !== name) problems.push(`</${name}> closes <${top ?? "nothing"}>`)
    } else if (!voidElements.has(name)) open.push(name)
  }
  text(html.slice(at), "text")
  if (open.length > 0) problems.push(`unclosed: ${open.join(", ")}`)
  return problems
}

describe("WorkServer (seed 003's HTTP server leak, done right)", () => {
  it.live("bad requests get 400 with a clear JSON error", () =>
    LeakCheck.verifyNone(Effect.scoped(Effect.gen(function*() {
      const server = yield* WorkServer.make({ port: 0, timeout: "100 millis" })
      const base = `http://127.0.0.1:${server.port}`
      for (const q of ["ms=-1", "ms=abc", "ms=1e3", "ms=99999999999", "", "ms=1&ms=2"]) {
        const r = yield* get(`${base}/work?${q}`)
        expect(r.status).toBe(400)
        expect((r.body as { error: string }).error).toMatch(/^ms must be a whole number of milliseconds from 0 to 600000, got /)
      }
      expect((yield* get(`${base}/work?ms=abc`)).body).toEqual({
        error: "ms must be a whole number of milliseconds from 0 to 600000, got 'abc'"
      })
      expect((yield* server.stats).badRequests).toBe(7)
      expect(yield* get(`${base}/healthz`)).toEqual({ status: 200, body: { status: "ok" } })
    }))))

  it.live("/debug/fibers?format=flat lists every live fiber, a request parked in its work among them", () =>
    LeakCheck.verifyNone(Effect.scoped(Effect.gen(function*() {
      const server = yield* WorkServer.make({ port: 0, timeout: "2 seconds" })
      const base = `http://127.0.0.1:${server.port}`
      const before = (yield* get(`${base}/debug/fibers?format=flat`)).body as { count: number; fibers: Array<string> }
      const slow = yield* Effect.fork(get(`${base}/work?ms=1500`, 300))
      yield* eventually(server.stats, (s) => s.started === 1)
      const during = (yield* get(`${base}/debug/fibers?format=flat`)).body as { count: number; fibers: Array<string> }
      expect(during.count).toBeGreaterThan(before.count)
      expect(during.fibers.length).toBe(during.count)
      expect(during.fibers.some((f) => /^fiber #\d+ \[suspended.*\] in http\.server GET/.test(f))).toBe(true)
      expect((yield* Fiber.join(slow)).status).toBe("aborted")
    }))))

  it.live("/debug/fibers groups the fibers: 10,000 leaked ones and 40 parked requests are one line each, as JSON, text and HTML", () =>
    LeakCheck.verifyNone(Effect.gen(function*() {
      const server = yield* WorkServer.make({ port: 0, timeout: "30 seconds" })
      const send = (path: string, headers = "") =>
        Effect.promise(() => RawHttp.once(server.port, `GET ${path} HTTP/1.1\r\nHost: x\r\n${headers}Connection: close\r\n\r\n`)).pipe(
          Effect.map((o) => {
            if (o._tag !== "Reply") throw new Error(`no reply to ${path}: ${o._tag}`)
            return { status: o.status, type: /\r\ncontent-type: ([^\r]*)/i.exec(o.head)?.[1], body: o.body }
          })
        )
      // 40 requests parked in their work, and a planted leak of 10,000 fibers whose span name needs escaping
      const conns = yield* Effect.promise(() => Promise.all(Array.from({ length: 40 }, () => RawHttp.open(server.port))))
      yield* Effect.promise(() => Promise.all(conns.map((c) => c.send(RawHttp.get("/work?ms=20000")))))
      const leakName = `leaked <script>alert("x")</script> & co`
      const leaked: Array<Fiber.RuntimeFiber<never>> = []
      yield* Effect.addFinalizer(() => Fiber.interruptAll(leaked))
      for (let i = 0; i < 10_000; i++) leaked.push(yield* Effect.forkDaemon(Effect.never.pipe(Effect.withSpan(leakName))))
      yield* awaitSuspended(leaked[9_999]!)
      yield* eventually(server.stats, (s) => s.started === 40)

      // programs get JSON: { total, groups }, biggest group first
      const json = yield* send("/debug/fibers")
      expect(json.type).toBe("application/json")
      const dump = JSON.parse(json.body) as LeakCheck.FiberDump
      expect(dump.groups[0]).toMatchObject({ count: 10_000, state: "suspended", spans: [leakName] })
      expect(dump.groups[0]!.ids).toHaveLength(10)
      const parked = dump.groups.filter((g) => g.spans.includes("http.server GET /work"))
      expect(parked.map((g) => g.count)).toEqual([40])
      expect(dump.total).toBe(dump.groups.reduce((n, g) => n + g.count, 0))
      expect(dump.total).toBeGreaterThanOrEqual(10_041) // and the dump's own request, running

      // a terminal gets pprof's debug=1 text: one line per group
      for (const path of ["/debug/fibers?format=text", "/debug/fibers?debug=1"]) {
        const text = yield* send(path)
        expect(text.type).toBe("text/plain; charset=utf-8")
        const lines = text.body.split("\n")
        expect(lines[0]).toBe(`fibers: ${dump.total} fibers in ${dump.groups.length} groups`)
        expect(lines.filter((l) => / x \[/.test(l) && l.includes("leaked"))).toEqual([`10000 x [suspended] in ${leakName}`])
        expect(lines.filter((l) => l.includes("in http.server GET /work"))).toEqual([
          expect.stringMatching(/^40 x \[suspended[^\]]*\] in http\.server GET \/work$/)
        ])
      }

      // a browser gets a page it can read at a glance: well-formed, names escaped
      const html = yield* send("/debug/fibers", "Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n")
      expect(html.type).toBe("text/html; charset=utf-8")
      expect(wellFormed(html.body)).toEqual([])
      expect(html.body).not.toContain("<script>")
      const leakRow = `<td class="n">10000</td><td>suspended</td><td>leaked &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co</td>`
      expect(html.body).toContain(`<tbody><tr>${leakRow}`) // the first row: the biggest group
      expect(html.body).toMatch(/<td class="n">40<\/td><td>suspended[^<]*<\/td><td>http\.server GET \/work<\/td>/)
      const asked = yield* send("/debug/fibers?format=html") // asked for by name, whatever the Accept header
      expect(asked.type).toBe("text/html; charset=utf-8")
      expect(asked.body).toContain(`<tbody><tr>${leakRow}`)

      // one entry per fiber, still there when asked for
      const flat = JSON.parse((yield* send("/debug/fibers?format=flat")).body) as { count: number; fibers: Array<string> }
      expect(flat.fibers).toHaveLength(flat.count)
      expect(flat.fibers.filter((f) => f.includes(leakName))).toHaveLength(10_000)
      const flatText = yield* send("/debug/fibers?debug=2")
      expect(flatText.type).toBe("text/plain; charset=utf-8")
      expect(flatText.body.split("\n").filter((l) => /^fiber #\d+ \[suspended.*\] in http\.server GET \/work$/.test(l))).toHaveLength(40)

      // a bad view is a 400 with a clear error
      for (const [q, error] of [
        ["format=xml", "format must be json, text, html or flat, got 'xml'"],
        ["debug=3", "debug must be 1 (grouped) or 2 (one entry per fiber), got '3'"],
        ["format=text&debug=1", "give either format or debug, not both"]
      ] as const) {
        expect(yield* send(`/debug/fibers?${q}`)).toEqual({ status: 400, type: "application/json", body: JSON.stringify({ error }) })
      }

      yield* Fiber.interruptAll(leaked)
      conns.forEach((c) => c.destroy())
      yield* eventually(server.stats, (s) => s.aborted === 40 && s.inFlight === 0)
    }).pipe(Effect.scoped)), 60_000)

  it("the HTML check used above catches what it must: unbalanced or unescaped markup", () => {
    expect(wellFormed("<!doctype html>\n<html><head><meta charset=\"utf-8\"></head><body><p>a &amp; b</p></body></html>")).toEqual([])
    expect(wellFormed("<table><tr><td>leaked <b>x</td></tr></table>")).not.toEqual([])
    expect(wellFormed("<p>a & b</p>")).not.toEqual([])
    expect(wellFormed("<p>a < b</p>")).not.toEqual([])
    expect(wellFormed("<p title=\"a\"b\">x</p>")).not.toEqual([])
  })

  it.live("a few hundred concurrent requests: every reply right, work interrupted, fibers and heap back to baseline", () =>
    LeakCheck.verifyNone(Effect.scoped(Effect.gen(function*() {
      const server = yield* WorkServer.make({ port: 0, timeout: "100 millis" })
      const base = `http://127.0.0.1:${server.port}`
      const baseline = yield* LeakCheck.numFibers
      const heaps: Array<number> = []
      const rounds = 3
      const perRound = 250
      for (let round = 0; round < rounds; round++) {
        const before = yield* server.stats
        const plan = Array.from({ length: perRound }, (_, i) => ({
          // half well within the deadline, half well past it; every 10th client hangs up at 30 ms
          ms: i % 2 === 0 ? 10 + (i % 30) : 150 + (i % 50),
          abort: i % 10 === 5 ? 30 : undefined
        }))
        const replies = yield* Effect.forEach(plan, (p) => get(`${base}/work?ms=${p.ms}`, p.abort), {
          concurrency: "unbounded"
        })
        const ok = (ms: number) => ({ status: 200, body: { ms, result: expect.stringMatching(/^worked \d+ms$/) } })
        const late = (ms: number) => ({ status: 504, body: { error: `deadline exceeded: ${ms}ms of work, 100ms deadline` } })
        replies.forEach((r, i) => {
          const p = plan[i]!
          if (p.abort !== undefined) expect(r.status).toBe("aborted")
          else if (p.ms >= 100) expect(r).toEqual(late(p.ms))
          // Work well within the deadline answers 200, unless the loaded event loop stalled past
          // the deadline so that both timers fired together: then 504 is the right answer too.
          else if (r.status === 200) expect(r).toEqual(ok(p.ms))
          else expect(r).toEqual(late(p.ms))
        })
        const fast = plan.filter((p) => p.abort === undefined && p.ms < 100).length
        const fastOk = replies.filter((r) => r.status === 200).length
        expect(fastOk).toBeGreaterThan(fast * 0.75)
        // Every request that reached a handler ended one way or another, none is still in flight.
        // (A client that hung up before its request reached a handler never started any work;
        // one whose disconnect the platform noticed interrupted its work: `aborted`.)
        const after = yield* eventually(
          server.stats,
          (s) => s.inFlight === 0 && s.started === s.completed + s.timedOut + s.aborted
        )
        // the server's own account agrees with what the clients saw
        expect(after.completed - before.completed).toBe(fastOk)
        expect(after.timedOut - before.timedOut).toBeGreaterThanOrEqual(replies.filter((r) => r.status === 504).length)
        // every request fiber, work fiber and timeout fiber has ended
        yield* eventually(LeakCheck.numFibers, (n) => n <= baseline)
        heaps.push(heapAfterGc())
      }
      // memory does not grow with the number of requests served (tolerant bound: 8 MB over 500 more requests)
      expect(heaps[rounds - 1]! - heaps[0]!).toBeLessThan(8 * 1024 * 1024)
    }))), 30_000)

  it.live("at the deadline the work is interrupted: 504 at once, and no fiber lingers for the rest of the work", () =>
    LeakCheck.verifyNone(Effect.scoped(Effect.gen(function*() {
      const server = yield* WorkServer.make({ port: 0, timeout: "100 millis" })
      const baseline = yield* LeakCheck.numFibers
      const start = Date.now()
      const r = yield* get(`http://127.0.0.1:${server.port}/work?ms=5000`)
      expect(r).toEqual({ status: 504, body: { error: "deadline exceeded: 5000ms of work, 100ms deadline" } })
      yield* eventually(LeakCheck.numFibers, (n) => n <= baseline, "500 millis")
      expect(Date.now() - start).toBeLessThan(1000) // nowhere near the 5 s the work would have taken
    }))))

  it.live("a client that disconnects early interrupts its request's work", () =>
    LeakCheck.verifyNone(Effect.scoped(Effect.gen(function*() {
      const server = yield* WorkServer.make({ port: 0, timeout: "10 seconds" })
      const ac = new AbortController()
      const client = yield* Effect.fork(Effect.promise(() =>
        fetch(`http://127.0.0.1:${server.port}/work?ms=5000`, { signal: ac.signal }).then(() => "answered", () => "aborted")
      ))
      yield* eventually(server.stats, (s) => s.started === 1)
      ac.abort()
      expect(yield* Fiber.join(client)).toBe("aborted")
      const s = yield* eventually(server.stats, (s) => s.aborted === 1, "1 second")
      expect(s).toMatchObject({ started: 1, completed: 0, timedOut: 0, aborted: 1, inFlight: 0 })
    }))))

  it.live("graceful shutdown: stop accepting, let in-flight requests finish, then no fiber is left", () =>
    LeakCheck.verifyNone(Effect.gen(function*() {
      const scope = yield* Scope.make()
      const server = yield* Scope.extend(WorkServer.make({ port: 0, timeout: "2 seconds", grace: "2 seconds" }), scope)
      const base = `http://127.0.0.1:${server.port}`
      const inflight = yield* Effect.fork(Effect.forEach([200, 250, 300], (ms) => get(`${base}/work?ms=${ms}`), { concurrency: "unbounded" }))
      yield* eventually(server.stats, (s) => s.started === 3)
      const closed = yield* Deferred.make<void>()
      yield* Effect.fork(Effect.zipRight(Scope.close(scope, Exit.void), Deferred.succeed(closed, undefined)))
      // no longer accepting, soon (it first takes in what had already reached it)
      yield* eventually(Effect.exit(get(`${base}/healthz`)), Exit.isFailure, "1 second")
      const replies = yield* Fiber.join(inflight)
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200])
      yield* Deferred.await(closed)
      expect((yield* server.stats).inFlight).toBe(0)
    })))

  it.live("graceful shutdown: requests still running after the grace period are interrupted", () =>
    LeakCheck.verifyNone(Effect.gen(function*() {
      const scope = yield* Scope.make()
      const server = yield* Scope.extend(WorkServer.make({ port: 0, timeout: "30 seconds", grace: "100 millis" }), scope)
      const base = `http://127.0.0.1:${server.port}`
      const inflight = yield* Effect.fork(get(`${base}/work?ms=20000`))
      yield* eventually(server.stats, (s) => s.started === 1)
      const start = Date.now()
      yield* Scope.close(scope, Exit.void)
      expect(Date.now() - start).toBeLessThan(2000)
      const reply = yield* Fiber.join(inflight)
      expect(reply.status).toBe(503) // the platform's answer for a request interrupted by shutdown
      const s = yield* server.stats
      expect(s.aborted).toBe(1)
      expect(s.inFlight).toBe(0)
    })))

  it.live("a wrong method on a known route is 405 with Allow; an unknown route is 404 with a JSON error", () =>
    LeakCheck.verifyNone(Effect.scoped(Effect.gen(function*() {
      const server = yield* WorkServer.make({ port: 0, timeout: "1 second" })
      const send = (request: string) => Effect.promise(() => RawHttp.once(server.port, request))
      const body = (method: string, path: string) => `${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`
      // every known route, every method that is not GET/HEAD: 405, Allow names what the route takes
      for (const path of ["/work?ms=0", "/debug/fibers", "/healthz"]) {
        for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
          const r = yield* send(body(method, path))
          expect(r, `${method} ${path}`).toMatchObject({ _tag: "Reply", status: 405 })
          const head = (r as { head: string }).head
          expect(head).toMatch(/\r\nallow: GET, HEAD\r\n/i)
          expect(head).toMatch(/\r\ncontent-type: application\/json/i)
        }
        expect(yield* send(body("HEAD", path))).toMatchObject({ _tag: "Reply", status: 200 })
      }
      const post = yield* Effect.promise(() =>
        fetch(`http://127.0.0.1:${server.port}/work?ms=0`, { method: "POST" }).then(async (r) => ({
          status: r.status,
          allow: r.headers.get("allow"),
          body: await r.json()
        }))
      )
      expect(post).toEqual({ status: 405, allow: "GET, HEAD", body: { error: "method POST not allowed on /work (allowed: GET, HEAD)" } })
      // unknown routes, whatever the method
      for (const method of ["GET", "POST", "DELETE"]) {
        for (const path of ["/", "/nope", "/work/", "/healthz/x", "/WORK"]) {
          expect(yield* send(body(method, path)), `${method} ${path}`).toMatchObject({ _tag: "Reply", status: 404 })
        }
      }
      expect(yield* get(`http://127.0.0.1:${server.port}/nope?x=1`)).toEqual({ status: 404, body: { error: "not found: /nope" } })
      expect((yield* server.stats).started).toBe(1) // only the HEAD /work?ms=0 ran any work
    }))))

  it.live("shutdown answers every request that reached the server before it: 100 fresh connections, none reset", () =>
    LeakCheck.verifyNone(Effect.gen(function*() {
      const baseline = yield* LeakCheck.numFibers
      const scope = yield* Scope.make()
      const server = yield* Scope.extend(WorkServer.make({ port: 0, timeout: "2 seconds", grace: "2 seconds" }), scope)
      // 100 connections that have just been opened and written their request: most are not even
      // accepted by the server process yet, let alone parsed, when the shutdown begins
      const sent = yield* Effect.promise(() =>
        RawHttp.fresh(server.port, 100, (i) => RawHttp.get(i % 2 === 0 ? "/work?ms=20" : "/healthz"))
      )
      yield* Scope.close(scope, Exit.void)
      // when the shutdown returns, no request fiber is left
      expect(yield* LeakCheck.numFibers).toBe(baseline)
      const outcomes = yield* Effect.promise(() => sent.outcomes)
      const unanswered = outcomes.filter((o) => !(o._tag === "Reply" && (o.status === 200 || o.status === 503)))
      expect(unanswered).toEqual([])
    })))

  // The class behind "fresh connections reset at shutdown": any connection whose request bytes
  // reached the server before the shutdown began, whatever state it was in, gets its answers.
  const routes = [
    { path: "GET /healthz", status: 200 },
    { path: "HEAD /healthz", status: 200 },
    { path: "GET /work?ms=5", status: 200 },
    { path: "GET /work?ms=25", status: 200 },
    { path: "GET /work?ms=x", status: 400 },
    { path: "POST /work", status: 405 },
    { path: "GET /nope", status: 404 }
  ] as const
  const kinds = ["full", "partial", "silent", "idle", "second"] as const
  it.live.prop(
    "shutdown, any mix of connections: every request sent before it is answered, idle ones close cleanly, none is reset",
    {
      conns: FastCheck.array(
        FastCheck.record({
          kind: FastCheck.constantFrom(...kinds),
          route: FastCheck.integer({ min: 0, max: routes.length - 1 }),
          split: FastCheck.integer({ min: 1, max: 30 })
        }),
        { minLength: 1, maxLength: 40 }
      )
    },
    ({ conns }) =>
      LeakCheck.verifyNone(Effect.gen(function*() {
        const baseline = yield* LeakCheck.numFibers
        const scope = yield* Scope.make()
        const server = yield* Scope.extend(WorkServer.make({ port: 0, timeout: "2 seconds", grace: "2 seconds" }), scope)
        const request = (i: number, keepAlive: boolean) => {
          const [method, path] = routes[i]!.path.split(" ") as [string, string]
          return `${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: ${keepAlive ? "keep-alive" : "close"}\r\n\r\n`
        }
        // Before the shutdown: each connection in its state, its bytes handed to the kernel.
        const open = yield* Effect.promise(() =>
          Promise.all(conns.map(async (c) => {
            const conn = await RawHttp.open(server.port)
            const text = request(c.route, c.kind === "idle" || c.kind === "second")
            if (c.kind === "full") await conn.send(text)
            if (c.kind === "partial") await conn.send(text.slice(0, c.split))
            if (c.kind === "idle" || c.kind === "second") {
              await conn.send(text)
              await conn.replies(1)
            }
            if (c.kind === "second") await conn.send(request(c.route, true))
            return conn
          }))
        )
        const closed = yield* Effect.fork(Scope.close(scope, Exit.void))
        // a request that had begun arriving may finish arriving after the shutdown began
        yield* Effect.promise(() =>
          Promise.all(conns.map((c, i) => c.kind === "partial" ? open[i]!.send(request(c.route, false).slice(c.split)) : undefined))
        )
        yield* Fiber.join(closed)
        expect(yield* LeakCheck.numFibers).toBe(baseline)
        const seen = yield* Effect.promise(() => Promise.all(open.map((c) => c.ended)))
        const expected = conns.map((c) => ({
          statuses: Array(c.kind === "silent" ? 0 : c.kind === "second" ? 2 : 1).fill(routes[c.route]!.status),
          error: undefined
        }))
        expect(seen).toEqual(expected)
      })),
    { timeout: 60_000, fastCheck: { numRuns: 12 } }
  )

  it.live("a port already in use is a WorkServerError, not a crash", () =>
    Effect.scoped(Effect.gen(function*() {
      const first = yield* WorkServer.make({ port: 0 })
      const second = yield* Effect.flip(WorkServer.make({ port: first.port }))
      expect(second.reason).toBe("Listen")
      expect(second.message).toMatch(new RegExp(`^cannot listen on 127\\.0\\.0\\.1:${first.port}: .*EADDRINUSE`))
    })))
})
