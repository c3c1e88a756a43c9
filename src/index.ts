/**
 * leakproof: Go's concurrency patterns on Effect, with no leaked fibers.
 *
 * @since 0.1.0
 */
export * as Chan from "./domain/Chan.js"
export * as LeakCheck from "./domain/LeakCheck.js"
