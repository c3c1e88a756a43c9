/**
 * LeakCheck's window into the fiber runtime: what a fiber is doing right now, read without asking
 * it, and the source line each checked fiber last stood at. The one module that reads Effect's
 * internals; everything else in leakproof uses the public API.
 *
 * Invariants:
 * - `probe` reads four fields of Effect 3.22's `FiberRuntime` (`_exitValue`, `_running`, `_queue`,
 *   `_asyncBlockingOn`). JavaScript runs one fiber step at a time, so read between two steps (from
 *   a timer callback, or from another fiber) the answer is exact: a fiber is parked iff it is not
 *   done, not scheduled to run (`_running` is false), has no message waiting, and has a
 *   `blockingOn`. A fiber that yielded or was just woken is `Runnable`. If the fields are not there
 *   (another Effect version) the answer is `Unknown`; nothing throws.
 * - Sites: `yield*` calls the effect's `[Symbol.iterator]` from inside the user's generator, the
 *   only moment the user's line is on the JavaScript stack (a fork runs after the generator has
 *   yielded, so a stack taken at the fork shows only runtime frames). While `enableSites` is in
 *   force (reference counted) those methods are wrapped to record, for `watch`ed fibers only, the
 *   calling line, unless it lies in `node_modules` or in leakproof's library code: a fiber's site
 *   is the last line of *user* code that yielded, which is where it forked from and where it is
 *   blocked. Nothing is formatted when recorded (a V8 `CallSite` is kept); `format` maps it through
 *   the installed source maps, once per line. With no check running the original methods are back:
 *   production pays nothing.
 *
 * @since 0.1.0
 */
import { Context, Data, Effect, Effectable, Either, Option, Ref } from "effect"
import type * as FiberId from "effect/FiberId"
import type * as Fiber from "effect/Fiber"
import { fileURLToPath } from "node:url"
import * as path from "node:path"

type AnyFiber = Fiber.RuntimeFiber<unknown, unknown>

// ---------------------------------------------------------------------------------------------
// The fiber's state, read synchronously
// ---------------------------------------------------------------------------------------------

/**
 * What a fiber is doing at this instant.
 * @since 0.1.0
 */
export type State =
  | { readonly _tag: "Done" }
  | { readonly _tag: "Runnable" }
  | { readonly _tag: "Suspended"; readonly blockingOn: FiberId.FiberId }
  | { readonly _tag: "Unknown" }

interface Internals {
  readonly _exitValue: unknown
  readonly _running: boolean
  readonly _queue: ReadonlyArray<unknown>
  readonly _asyncBlockingOn: FiberId.FiberId | null
  readonly _observers: ReadonlyArray<unknown>
  readonly _children: ReadonlySet<AnyFiber> | null
}

const done: State = { _tag: "Done" }
const runnable: State = { _tag: "Runnable" }
const unknown: State = { _tag: "Unknown" }

/**
 * The fiber's state, without sending it a message (so it works on a fiber that is blocked, and
 * costs no scheduling).
 * @since 0.1.0
 */
export const probe = (fiber: AnyFiber): State => {
  const f = fiber as unknown as Internals
  if (f._exitValue !== null && f._exitValue !== undefined) return done
  if (!("_asyncBlockingOn" in f) || !Array.isArray(f._queue)) return unknown
  if (f._running || f._queue.length > 0 || f._asyncBlockingOn === null) return runnable
  return { _tag: "Suspended", blockingOn: f._asyncBlockingOn }
}

// The callback `Fiber.await` registers on the awaited fiber, as source text, taken from the
// `await` getter itself (`const cb = exit => resume(core.succeed(exit))`); `null` if not found.
let awaitCallbackSource: string | null | undefined = undefined

const awaitCallback = (fiber: AnyFiber): string | null => {
  if (awaitCallbackSource !== undefined) return awaitCallbackSource
  let proto: object | null = fiber
  let getter: unknown = undefined
  while (proto !== null && getter === undefined) {
    getter = Object.getOwnPropertyDescriptor(proto, "await")?.get
    proto = Object.getPrototypeOf(proto)
  }
  const m = typeof getter === "function" ? /const\s+\w+\s*=\s*([^;\n]+=>[^;\n]+);/.exec(getter.toString()) : null
  awaitCallbackSource = m === null ? null : m[1]!.trim()
  return awaitCallbackSource
}

/**
 * How many `Fiber.join`/`Fiber.await` calls wait for this fiber to end, or `undefined` if this
 * runtime's callbacks cannot be told apart (then a wait on the fiber's id may also be a `Deferred`
 * it made).
 * @since 0.1.0
 */
export const joiners = (fiber: AnyFiber): number | undefined => {
  const source = awaitCallback(fiber)
  const observers = (fiber as unknown as Internals)._observers
  if (source === null || !Array.isArray(observers)) return undefined
  let n = 0
  for (const o of observers) if (typeof o === "function" && o.toString() === source) n++
  return n
}

/**
 * The fiber's children (what `fiber.children` answers, without a message to the fiber), or
 * `undefined` if this runtime keeps them elsewhere.
 * @since 0.1.0
 */
export const children = (fiber: AnyFiber): ReadonlyArray<AnyFiber> | undefined => {
  const f = fiber as unknown as Internals
  if (!("_children" in f)) return undefined
  return f._children === null ? [] : [...f._children]
}

/**
 * The fiber whose step is running now (`undefined` outside any fiber).
 * @since 0.1.0
 */
export const currentFiber = (): AnyFiber | undefined =>
  (globalThis as { readonly ["effect/FiberCurrent"]?: AnyFiber })["effect/FiberCurrent"]

// ---------------------------------------------------------------------------------------------
// Sites
// ---------------------------------------------------------------------------------------------

/**
 * A source line (a V8 call site, formatted on demand).
 * @since 0.1.0
 */
export interface Site {
  readonly getFileName: () => string | null | undefined
  readonly getLineNumber: () => number | null
  readonly getColumnNumber: () => number | null
}

const watched = new WeakSet<object>()
const sites = new WeakMap<object, Site>()

/** Record sites for this fiber (LeakCheck calls it when a checked fiber starts). */
export const watch = (fiber: AnyFiber): void => {
  watched.add(fiber)
}

/** Stop recording for this fiber (it ended). Its last site stays readable until it is collected. */
export const unwatch = (fiber: AnyFiber): void => {
  watched.delete(fiber)
}

/**
 * The last line of user code this fiber `yield*`ed at, if it is watched and sites are on.
 * @since 0.1.0
 */
export const siteOf = (fiber: AnyFiber): Site | undefined => sites.get(fiber)

// Library code: Effect and other packages, and leakproof's own library modules (src/domain,
// src/services, the test kit entry). A line there never replaces the user's line.
const srcDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const libraryDirs = [path.join(srcDir, "domain") + path.sep, path.join(srcDir, "services") + path.sep]
const libraryFiles = [path.join(srcDir, "vitest.ts"), path.join(srcDir, "vitest.js")]

const normalize = (file: string): string => (file.startsWith("file://") ? fileURLToPath(file) : file)

/** Whether a file belongs to a library (no user line is ever taken from it). */
export const isLibraryFile = (file: string): boolean => {
  const f = normalize(file)
  return (
    f.includes(`${path.sep}node_modules${path.sep}`) ||
    f.startsWith("node:") ||
    libraryDirs.some((d) => f.startsWith(d)) ||
    libraryFiles.includes(f)
  )
}

const rawCallSites = (_: Error, callSites: ReadonlyArray<Site>): ReadonlyArray<Site> => callSites

/** The first `depth` call sites above `above` (which is left out), as V8 objects. */
const callSites = (above: Function, depth: number): ReadonlyArray<Site> => {
  const limit = Error.stackTraceLimit
  const prepare = Error.prepareStackTrace
  Error.stackTraceLimit = depth
  Error.prepareStackTrace = rawCallSites as typeof Error.prepareStackTrace
  const holder: { stack?: ReadonlyArray<Site> } = {}
  try {
    Error.captureStackTrace(holder, above)
    const stack = holder.stack
    return Array.isArray(stack) ? stack : []
  } finally {
    Error.stackTraceLimit = limit
    Error.prepareStackTrace = prepare
  }
}

const isUserSite = (site: Site): boolean => {
  const file = site.getFileName()
  return typeof file === "string" && file.length > 0 && !isLibraryFile(file)
}

/**
 * The innermost user line on the current JavaScript stack, if any (for fibers started from plain
 * JavaScript, e.g. `Effect.runFork` in a callback, where the caller is on the stack).
 * @since 0.1.0
 */
export const userSiteHere = (): Site | undefined => callSites(userSiteHere, 40).find(isUserSite)

// Effects that cannot fork or block: yielding one leaves the fiber's site as it was (and skips the
// stack capture, the costly part).
const pureOps = new Set(["Success", "Failure", "Some", "None", "Left", "Right"])

const record = (self: { readonly _op?: unknown }, above: Function): void => {
  if (typeof self._op === "string" && pureOps.has(self._op)) return
  const fiber = currentFiber()
  if (fiber === undefined || !watched.has(fiber)) return
  const site = callSites(above, 1)[0]
  if (site !== undefined && isUserSite(site)) sites.set(fiber, site)
}

type Iterate = (this: { readonly _op?: unknown }) => Iterator<unknown>

const prototypesWithIterator = (): ReadonlyArray<Record<symbol, Iterate>> => {
  // One sample of each kind of yieldable value; the prototype in each chain that owns
  // `Symbol.iterator` is what `yield*` calls. (Prototypes built by spreading copy the method.)
  const samples: ReadonlyArray<object> = [
    Effect.void,
    Effect.fail(0),
    Effect.sync(() => 0),
    Effectable.EffectPrototype,
    Effectable.CommitPrototype,
    Effectable.StructuralCommitPrototype,
    Ref.unsafeMake(0),
    Context.GenericTag<unknown>("leakproof/FiberProbe/sample"),
    Option.some(0),
    Either.right(0),
    new (Data.TaggedError("leakproof/FiberProbe/sample"))(undefined)
  ]
  const found = new Set<Record<symbol, Iterate>>()
  for (const sample of samples) {
    let proto: object | null = sample
    while (proto !== null && !Object.prototype.hasOwnProperty.call(proto, Symbol.iterator)) {
      proto = Object.getPrototypeOf(proto)
    }
    if (proto !== null && proto !== Object.prototype && proto !== Array.prototype) {
      found.add(proto as Record<symbol, Iterate>)
    }
  }
  return [...found]
}

let siteUsers = 0
let restoreIterators: (() => void) | undefined = undefined

/**
 * Turns site recording on until the returned function is called (nested calls are counted).
 * @since 0.1.0
 */
export const enableSites = (): (() => void) => {
  if (siteUsers++ === 0) {
    const originals = prototypesWithIterator().map((proto) => [proto, proto[Symbol.iterator]!] as const)
    for (const [proto, original] of originals) {
      const wrapped: Iterate = function(this) {
        record(this, wrapped)
        return original.call(this)
      }
      proto[Symbol.iterator] = wrapped
    }
    restoreIterators = () => {
      for (const [proto, original] of originals) proto[Symbol.iterator] = original
    }
  }
  let released = false
  return () => {
    if (released) return
    released = true
    if (--siteUsers === 0) {
      restoreIterators?.()
      restoreIterators = undefined
    }
  }
}

const formatted = new Map<string, string>()

/**
 * `path:line` of a site, relative to the working directory, mapped through the source maps the
 * test runner installed (vitest, tsx), so it is the line in the `.ts` file.
 * @since 0.1.0
 */
export const format = (site: Site): string => {
  const key = `${site.getFileName()}:${site.getLineNumber()}:${site.getColumnNumber()}`
  const cached = formatted.get(key)
  if (cached !== undefined) return cached
  let file = site.getFileName() ?? "<unknown>"
  let line = site.getLineNumber() ?? 0
  const prepare = Error.prepareStackTrace
  if (prepare !== undefined) {
    try {
      const text = String(prepare(new Error(), [site as unknown as NodeJS.CallSite]))
      const m = /\(?((?:file:\/\/)?[^\s()]+):(\d+):(\d+)\)?\s*$/m.exec(text)
      if (m !== null) {
        file = m[1]!
        line = Number(m[2])
      }
    } catch {
      // keep the unmapped position
    }
  }
  const rel = path.relative(process.cwd(), normalize(file))
  const result = `${rel.startsWith("..") ? normalize(file) : rel}:${line}`
  formatted.set(key, result)
  return result
}
