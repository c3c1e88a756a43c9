/**
 * A deterministic undici-style dispatcher for virtual-time tests (a fake at the transport edge
 * only): the path says what the "server" does, every response is driven by a fiber on the test's
 * `Clock` (so `TestClock.adjust` moves it), and every request is counted as started, finished
 * (the server completed or failed it) or interrupted (the client aborted it first). With
 * `layer(config, { pools: true })` it also gives each batch a pool of its own (`forBatch`) and
 * counts what became of it (`stats.pools`).
 *
 *   /ok/:id            200 at once, body "ok :id"     /slow/:ms/:id     200 after :ms (virtual) ms
 *   /status/:code      that status, body "status"     /never/:id        never answers
 *   /location/:s/:loc  status :s, Location :loc (URL-encoded; "none": no Location), empty body
 *   /big/:bytes        200, no content-length, :bytes in 16 KiB chunks (honours pause/resume)
 *   /declared/:bytes   200 with content-length :bytes, then nothing
 *   /declared-status/:code/:bytes   that status with content-length :bytes, then nothing
 *   /drip/:ms          200, one byte every :ms ms, forever
 *   /reset             the connection fails (ECONNRESET) at once
 *   /flaky/:id/:n      503 the first :n times for :id, then 200 "ok :id"
 *   /hops/:n/:id       302 to /hops/:n-1/:id, ... /hops/0/:id is 200
 *   /throw             dispatch itself throws
 */
import { Effect, Fiber, Layer, Runtime } from "effect"
import type { Dispatcher } from "undici"
import { HttpDispatcher } from "../../src/services/HttpDispatcher.js"
import type { Transport } from "../../src/services/HttpDispatcher.js"
import * as UrlFetcher from "../../src/services/UrlFetcher.js"

export interface FakeHttpStats {
  started: number
  finished: number
  interrupted: number
  /** Requests started and neither finished nor interrupted. */
  readonly inFlight: () => number
  /** Paths requested, in order. */
  readonly paths: Array<string>
  /** Batch pools (`forBatch`, with `layer(config, { pools: true })`): what became of them. */
  readonly pools: PoolStats
}

export interface PoolStats {
  created: number
  released: number
  destroyed: number
  /** Pools handed back (`release`) while a request of theirs was still open: must stay 0. */
  releasedBusy: number
}

type Handler = Required<Pick<Dispatcher.DispatchHandler, "onConnect" | "onHeaders" | "onData" | "onComplete" | "onError">>

const raw = (headers: Record<string, string>): Array<Buffer> =>
  Object.entries(headers).flatMap(([k, v]) => [Buffer.from(k), Buffer.from(v)])

/** The counters; `inFlight` and `paths` are not enumerable, so `toEqual` compares the three counts. */
export const makeStats = (): FakeHttpStats => {
  const stats = { started: 0, finished: 0, interrupted: 0 } as FakeHttpStats
  Object.defineProperty(stats, "inFlight", { value: () => stats.started - stats.finished - stats.interrupted })
  Object.defineProperty(stats, "paths", { value: [] })
  Object.defineProperty(stats, "pools", { value: { created: 0, released: 0, destroyed: 0, releasedBusy: 0 } })
  return stats
}

/**
 * The fake transport; responses run on `runtime` (the test's, with its `TestClock`). With `pools`,
 * it also offers `forBatch`: a pool per batch whose `destroy` fails every request of it still open
 * (like undici's `Agent.destroy`) and whose `release` is counted, and flagged if a request of it is
 * still open.
 */
export const make = (stats: FakeHttpStats, runtime: Runtime.Runtime<never>, pools = false): Transport => {
  const flaky = new Map<string, number>()
  const dispatch = (options: Dispatcher.DispatchOptions, h: Dispatcher.DispatchHandler, pool?: Set<() => void>): boolean => {
    const handler = h as unknown as Handler
    const path = options.path
    if (path === "/throw") throw new Error("fake dispatch threw")
    stats.started++
    stats.paths.push(path)
    const [, route, a, b] = path.split("/")
    let state: "open" | "finished" | "aborted" = "open"
    let fiber: Fiber.RuntimeFiber<void> | undefined
    let resume: (() => void) | undefined
    const finish = () => {
      if (state === "open") {
        state = "finished"
        stats.finished++
        pool?.delete(kill)
      }
    }
    const abort = (err?: Error) => {
      if (state !== "open") return
      state = "aborted"
      pool?.delete(kill)
      stats.interrupted++
      if (fiber !== undefined) Runtime.runFork(runtime)(Fiber.interrupt(fiber))
      handler.onError(err ?? new Error("aborted"))
    }
    const kill = () => abort(new Error("pool destroyed"))
    pool?.add(kill)
    const live = () => state === "open"
    /** Sends headers (and waits out a pause before each chunk). */
    const respond = (status: number, headers: Record<string, string>, chunks: ReadonlyArray<Uint8Array>): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (!live()) return
        let paused = handler.onHeaders(status, raw(headers), () => resume?.(), "") === false
        for (const chunk of chunks) {
          if (paused) {
            yield* Effect.async<void>((k) => {
              resume = () => {
                resume = undefined
                k(Effect.void)
              }
            })
          }
          if (!live()) return
          paused = handler.onData(Buffer.from(chunk)) === false
        }
        if (!live()) return
        finish()
        handler.onComplete([])
      })
    const text = (s: string) => new TextEncoder().encode(s)
    let script: Effect.Effect<void>
    switch (route) {
      case "ok":
        script = respond(200, { "content-length": String(`ok ${a}`.length) }, [text(`ok ${a}`)])
        break
      case "slow":
        script = Effect.zipRight(Effect.sleep(`${Number(a)} millis`), respond(200, {}, [text(`slow ${a}`)]))
        break
      case "status":
        script = respond(Number(a), {}, [text("status")])
        break
      case "location":
        script = respond(Number(a), b === "none" ? {} : { location: decodeURIComponent(b ?? "") }, [])
        break
      case "big": {
        const total = Number(a)
        const chunks: Array<Uint8Array> = []
        for (let left = total; left > 0; left -= 16 * 1024) chunks.push(new Uint8Array(Math.min(left, 16 * 1024)).fill(97))
        script = respond(200, {}, chunks)
        break
      }
      case "declared-status":
        // a status with a declared length and no body (yet): `/declared-status/:code/:bytes`
        script = Effect.sync(() => {
          if (live()) handler.onHeaders(Number(a), raw({ "content-length": String(b) }), () => {}, "")
        })
        break
      case "declared":
        script = Effect.sync(() => {
          if (live()) handler.onHeaders(200, raw({ "content-length": String(a) }), () => {}, "")
        })
        break
      case "drip":
        script = Effect.gen(function*() {
          if (!live()) return
          handler.onHeaders(200, [], () => {}, "")
          while (live()) {
            yield* Effect.sleep(`${Number(a)} millis`)
            if (live()) handler.onData(Buffer.from("."))
          }
        })
        break
      case "reset":
        script = Effect.sync(() => {
          if (!live()) return
          finish()
          const e = new Error("read ECONNRESET") as Error & { code: string }
          e.code = "ECONNRESET"
          handler.onError(e)
        })
        break
      case "flaky": {
        const seen = flaky.get(a ?? "") ?? 0
        flaky.set(a ?? "", seen + 1)
        script = seen < Number(b) ? respond(503, {}, [text("try again")]) : respond(200, {}, [text(`ok ${a}`)])
        break
      }
      case "hops": {
        const n = Number(a)
        script = n <= 0 ? respond(200, {}, [text(`hops ${b}`)]) : respond(302, { location: `/hops/${n - 1}/${b}` }, [])
        break
      }
      default:
        script = Effect.never
    }
    handler.onConnect(abort)
    if (state === "open") {
      fiber = Runtime.runFork(runtime)(script)
      // aborted while the script ran synchronously (before `fiber` was known): stop it now
      if ((state as string) === "aborted") Runtime.runFork(runtime)(Fiber.interrupt(fiber))
    }
    return true
  }
  if (!pools) return { dispatch: (options, h) => dispatch(options, h) }
  return {
    dispatch: (options, h) => dispatch(options, h),
    forBatch: () => {
      stats.pools.created++
      const open = new Set<() => void>()
      let owned = true
      return {
        dispatch: (options, h) => dispatch(options, h, open),
        destroy: () => {
          if (!owned) return
          owned = false
          stats.pools.destroyed++
          for (const kill of [...open]) kill()
        },
        release: () => {
          if (!owned) return
          owned = false
          stats.pools.released++
          if (open.size > 0) stats.pools.releasedBusy++
        }
      }
    }
  }
}

/** The fake transport as a layer, built on the runtime of whoever provides it. */
export const dispatcherLayer = (stats: FakeHttpStats, pools = false): Layer.Layer<HttpDispatcher> =>
  Layer.effect(HttpDispatcher, Effect.map(Effect.runtime<never>(), (rt) => make(stats, rt, pools)))

/** `UrlFetcher` over the fake transport, and the counters it updates. */
export const layer = (
  config: UrlFetcher.Config = {},
  fake: { readonly pools?: boolean } = {}
): { readonly stats: FakeHttpStats; readonly layer: Layer.Layer<UrlFetcher.UrlFetcher> } => {
  const stats = makeStats()
  return { stats, layer: UrlFetcher.layerWithoutDispatcher(config).pipe(Layer.provide(dispatcherLayer(stats, fake.pools ?? false))) }
}

// ---------------------------------------------------------------------------------------------
// A hostile transport: every way a dispatcher can misbehave, for property tests of invariant 2
// ("nothing thrown while handling one URL escapes; every URL gets exactly one outcome").
// ---------------------------------------------------------------------------------------------

/** What the hostile transport does with one request (`arg` picks a variant, `delay` is virtual ms). */
export interface Misbehaviour {
  readonly kind:
    | "ok"
    | "throwSync"
    | "errorSync"
    | "noConnect"
    | "dataBeforeHeaders"
    | "completeBeforeHeaders"
    | "completeTwice"
    | "errorAfterComplete"
    | "headersTwice"
    | "weirdStatus"
    | "badHeaders"
    | "location"
    | "abortThrows"
    | "silent"
    | "badChunk"
    | "ignoresAbort"
    | "manyChunks"
  readonly arg: number
  readonly delay: number
  readonly location?: string
}

export const misbehaviours: ReadonlyArray<Misbehaviour["kind"]> = [
  "ok",
  "throwSync",
  "errorSync",
  "noConnect",
  "dataBeforeHeaders",
  "completeBeforeHeaders",
  "completeTwice",
  "errorAfterComplete",
  "headersTwice",
  "weirdStatus",
  "badHeaders",
  "location",
  "abortThrows",
  "silent",
  "badChunk",
  "ignoresAbort",
  "manyChunks"
]

const weirdStatuses: ReadonlyArray<unknown> = [0, 99, 600, 1000, Number.NaN, -1, 1.5, "200", undefined, 100, 101, 204, 304, 399]
const weirdHeaders: ReadonlyArray<unknown> = [
  null,
  undefined,
  [1, 2, 3],
  [Buffer.from("content-length")],
  [Buffer.from("content-length"), Buffer.from("abc")],
  [Buffer.from("content-length"), Buffer.from("99999999999999999999")],
  [Buffer.from("Content-Length"), Buffer.from("-5")],
  {},
  "x",
  [null, null],
  [Buffer.from("location"), [Buffer.from("/a"), Buffer.from("/b")]]
]
const weirdChunks: ReadonlyArray<unknown> = [null, "text", 42, { length: -5 }, undefined, Buffer.alloc(0)]

/** The span every fiber of the hostile transport runs in (its "server" side). */
export const HOSTILE_SPAN = "FakeHttp.hostile"

/** A transport that misbehaves per request: the request for path `/h/<i>` follows `plan[i]`. */
export const hostile = (plan: ReadonlyArray<Misbehaviour>, stats: FakeHttpStats, runtime: Runtime.Runtime<never>): Transport => ({
  dispatch: (options, h) => {
    const handler = h as unknown as Record<string, (...args: ReadonlyArray<unknown>) => unknown>
    const index = Number(options.path.split("/")[2])
    const m = plan[Number.isInteger(index) ? index : 0] ?? { kind: "ok", arg: 0, delay: 0 }
    stats.started++
    stats.paths.push(options.path)
    let aborted = false
    const abort = () => {
      if (aborted) return
      aborted = true
      stats.interrupted++
      if (m.kind === "abortThrows") throw new Error("hostile abort threw")
      handler["onError"]!(new Error("aborted"))
    }
    const body = Buffer.from("hostile")
    const ok = () => {
      handler["onHeaders"]!(200, [Buffer.from("content-length"), Buffer.from(String(body.length))], () => {}, "")
      handler["onData"]!(body)
      handler["onComplete"]!([])
    }
    const live = () => !aborted || m.kind === "ignoresAbort"
    const later = (f: () => void) => {
      const run = Effect.sync(() => {
        if (!live()) return
        f()
        stats.finished++
      })
      // named, so a leak check can tell these (which may ignore an abort on purpose) from the engine's
      Runtime.runFork(runtime)(Effect.withSpan(m.delay > 0 ? Effect.delay(run, `${m.delay} millis`) : run, HOSTILE_SPAN))
    }
    switch (m.kind) {
      case "throwSync":
        throw m.arg % 2 === 0 ? new TypeError("hostile dispatch threw") : ("a thrown string" as unknown as Error)
      case "errorSync":
        handler["onError"]!(m.arg % 2 === 0 ? new Error("hostile sync error") : (null as unknown as Error))
        return false
      case "noConnect":
        later(ok)
        return true
      default:
        break
    }
    handler["onConnect"]!(abort)
    switch (m.kind) {
      case "ok":
        later(ok)
        break
      case "dataBeforeHeaders":
        later(() => {
          handler["onData"]!(body)
          ok()
        })
        break
      case "completeBeforeHeaders":
        later(() => handler["onComplete"]!([]))
        break
      case "completeTwice":
        later(() => {
          ok()
          handler["onComplete"]!([])
          handler["onError"]!(new Error("after the end"))
        })
        break
      case "errorAfterComplete":
        later(() => {
          ok()
          handler["onError"]!(new Error("after the end"))
        })
        break
      case "headersTwice":
        later(() => {
          handler["onHeaders"]!(200, [], () => {}, "")
          ok()
        })
        break
      case "weirdStatus":
        later(() => {
          handler["onHeaders"]!(weirdStatuses[m.arg % weirdStatuses.length], [], () => {}, "")
          handler["onData"]!(body)
          handler["onComplete"]!([])
        })
        break
      case "badHeaders":
        later(() => {
          handler["onHeaders"]!(m.arg % 3 === 0 ? 302 : 200, weirdHeaders[m.arg % weirdHeaders.length], () => {}, "")
          handler["onData"]!(body)
          handler["onComplete"]!([])
        })
        break
      case "location":
        later(() => {
          handler["onHeaders"]!(300 + (m.arg % 9), [Buffer.from("location"), Buffer.from(m.location ?? "")], () => {}, "")
          handler["onComplete"]!([])
        })
        break
      case "badChunk":
        later(() => {
          handler["onHeaders"]!(200, [], () => {}, "")
          handler["onData"]!(weirdChunks[m.arg % weirdChunks.length])
          handler["onComplete"]!([])
        })
        break
      case "ignoresAbort":
        later(ok)
        break
      case "manyChunks":
        later(() => {
          handler["onHeaders"]!(200, [], () => {}, "")
          for (let i = 0; i < 50 + m.arg; i++) handler["onData"]!(Buffer.from("x"))
          handler["onComplete"]!([])
        })
        break
      case "abortThrows":
      case "silent":
        break
    }
    return m.arg % 5 === 0 ? (undefined as unknown as boolean) : true
  }
})

/** `UrlFetcher` over the hostile transport. */
export const hostileLayer = (
  plan: ReadonlyArray<Misbehaviour>
): { readonly stats: FakeHttpStats; readonly layer: Layer.Layer<UrlFetcher.UrlFetcher> } => {
  const stats = makeStats()
  return {
    stats,
    layer: UrlFetcher.layerWithoutDispatcher({}).pipe(
      Layer.provide(Layer.effect(HttpDispatcher, Effect.map(Effect.runtime<never>(), (rt) => hostile(plan, stats, rt))))
    )
  }
}
