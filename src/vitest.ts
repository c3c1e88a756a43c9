/**
 * `leakproof/vitest`: `@effect/vitest` with every Effect test checked by `LeakCheck.verifyNone`,
 * goleak's `VerifyTestMain` in one import.
 *
 * ```ts
 * import { describe, expect, it } from "leakproof/vitest"   // instead of "@effect/vitest"
 *
 * it.effect("forgotten sender: leaving the scope interrupts every producer", () => program)
 * it.effect("a ticker that outlives the test on purpose", () => unchecked(program))
 * it.effect("…", () => checkWith({ ignore: [{ span: "metrics" }] }, program))
 * ```
 *
 * `it.effect`, `it.scoped`, `it.live`, `it.scopedLive` (and their `.each`, `.prop`, `.only`,
 * `.skip`, `.skipIf`, `.runIf`, `.fails`, and the `it` given by `layer(...)`) run the test body
 * under `verifyNone`: the test fails with `FiberLeak` if a fiber it started outlives it, and with
 * `Deadlock` if all its fibers block. For the scoped variants the test's `Scope` is closed inside
 * the check, so fibers forked into it must have ended by then. Per test, `unchecked(body)` opts
 * out and `checkWith(options, body)` sets `ignore`, `within`, `deadlock`, `sites`; per file,
 * `withLeakCheck(options)` makes an `it` with other defaults. Everything else is re-exported from
 * `@effect/vitest` unchanged.
 *
 * @since 0.1.0
 */
import * as V from "@effect/vitest"
import { Effect } from "effect"
import type * as Scope from "effect/Scope"
import * as LeakCheck from "./domain/LeakCheck.js"

export * from "@effect/vitest"
export * as Interleaving from "./domain/Interleaving.js"
export * as LeakCheck from "./domain/LeakCheck.js"

const OptionsId: unique symbol = Symbol.for("leakproof/vitest/CheckOptions")

interface Marked {
  readonly [OptionsId]?: LeakCheck.CheckOptions | false
}

/**
 * This test's check options (merged over the file's defaults), or `false` for no check at all
 * (goleak: a test that does not call `VerifyNone`). Must be what the test function returns.
 * @since 0.1.0
 */
export const checkWith = <A, E, R>(
  options: LeakCheck.CheckOptions | false,
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => Object.assign(Effect.suspend(() => self), { [OptionsId]: options })

/**
 * Opts one test out of the check (`checkWith(false, self)`).
 * @since 0.1.0
 */
export const unchecked = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => checkWith(false, self)

/**
 * What every wrapped test runs: `self` (closed over its own `Scope` first when `scoped`) under
 * `verifyNone`, with the options it was marked with over `defaults`.
 * @since 0.1.0
 */
export const checked = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  defaults: LeakCheck.CheckOptions = {},
  scoped = false
): Effect.Effect<A, E | LeakCheck.FiberLeak | LeakCheck.Deadlock, R> => {
  const marked = (self as Marked)[OptionsId]
  // (closing the scope here only removes `Scope` from what the body needs)
  const body = (scoped ? Effect.scoped(self as Effect.Effect<A, E, R | Scope.Scope>) : self) as Effect.Effect<A, E, R>
  return marked === false ? body : LeakCheck.verifyNone(body, { ...defaults, ...marked })
}

type AnyTester = V.Vitest.Tester<any>
type AnyFn = (...args: Array<any>) => Effect.Effect<any, any, any>

const wrapTester = (base: AnyTester, defaults: LeakCheck.CheckOptions, scoped: boolean): AnyTester => {
  const wrap = (self: AnyFn): AnyFn => (...args) => checked(self(...args), defaults, scoped)
  const test = (name: string, self: AnyFn, timeout?: number | V.TestOptions) => base(name, wrap(self), timeout)
  return Object.assign(test, {
    skip: (name: string, self: AnyFn, timeout?: number | V.TestOptions) => base.skip(name, wrap(self), timeout),
    only: (name: string, self: AnyFn, timeout?: number | V.TestOptions) => base.only(name, wrap(self), timeout),
    fails: (name: string, self: AnyFn, timeout?: number | V.TestOptions) => base.fails(name, wrap(self), timeout),
    skipIf: (condition: unknown) => (name: string, self: AnyFn, timeout?: number | V.TestOptions) =>
      base.skipIf(condition)(name, wrap(self), timeout),
    runIf: (condition: unknown) => (name: string, self: AnyFn, timeout?: number | V.TestOptions) =>
      base.runIf(condition)(name, wrap(self), timeout),
    each: (cases: ReadonlyArray<unknown>) => (name: string, self: AnyFn, timeout?: number | V.TestOptions) =>
      base.each(cases)(name, wrap(self), timeout),
    prop: (name: string, arbitraries: any, self: AnyFn, timeout?: any) => base.prop(name, arbitraries, wrap(self), timeout)
  }) as unknown as AnyTester
}

/** `it` (a vitest `it` plus the Effect testers) with the Effect testers checked. */
const wrapMethods = <M extends object>(it: M, defaults: LeakCheck.CheckOptions): M => {
  const methods = it as unknown as V.Vitest.MethodsNonLive<any, any>
  const overrides: Record<PropertyKey, unknown> = {
    // The scoped testers close the test's scope inside the check: run them as `effect`/`live`.
    effect: wrapTester(methods.effect, defaults, false),
    scoped: wrapTester(methods.effect, defaults, true),
    layer: (layer: any, options?: any) => {
      const make = methods.layer(layer, options) as (...args: Array<any>) => void
      return (...args: Array<any>) => {
        const f = args[args.length - 1] as (it: any) => void
        return make(...args.slice(0, -1), (inner: any) => f(wrapMethods(inner, defaults)))
      }
    }
  }
  const live = (it as unknown as Partial<V.Vitest.Methods<any>>).live
  if (live !== undefined) {
    overrides["live"] = wrapTester(live as AnyTester, defaults, false)
    overrides["scopedLive"] = wrapTester(live as AnyTester, defaults, true)
  }
  return new Proxy(it, {
    get: (target, key, receiver) => (key in overrides ? overrides[key] : Reflect.get(target, key, receiver))
  })
}

/**
 * An `it` whose Effect tests are checked with these defaults (`LeakCheck.CheckOptions`: `within`,
 * `ignore`, `deadlock`, `sites`), e.g. a file-wide ignore list.
 * @since 0.1.0
 */
export const withLeakCheck = (defaults: LeakCheck.CheckOptions = {}): V.Vitest.Methods => wrapMethods(V.it, defaults)

/**
 * `@effect/vitest`'s `it`, with every `effect`/`scoped`/`live`/`scopedLive` test run under
 * `LeakCheck.verifyNone` (default options: 2 s to settle, deadlock detection and creation sites on).
 * @since 0.1.0
 */
export const it: V.Vitest.Methods = withLeakCheck()

/**
 * `@effect/vitest`'s `layer`, whose `it` checks its Effect tests like `it` does.
 * @since 0.1.0
 */
export const layer: typeof V.layer = (layer_, options) => it.layer(layer_ as never, options) as never
