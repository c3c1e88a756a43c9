/**
 * leakproof: Go's concurrency patterns on Effect, with no leaked fibers.
 *
 * The root entry is the library: `Chan` (Go's channels), `LeakCheck` (goleak for fibers),
 * `WorkerPool`, `UrlFetcher` and the seed programs with their errors. Importing it loads `effect`
 * and leakproof's own modules only; the HTTP client is loaded when `UrlFetcher.layer` is built.
 *
 * Subpaths: `leakproof/patterns` (the pattern catalogue behind `leakproof demo`),
 * `leakproof/server` (`WorkServer`, `DemoServer`).
 *
 * @since 0.1.0
 */
export * as Chan from "./domain/Chan.js"
export * as FetchOutcome from "./domain/FetchOutcome.js"
export * as LeakCheck from "./domain/LeakCheck.js"
export * as UrlFetcher from "./services/UrlFetcher.js"
export * as WorkerPool from "./services/WorkerPool.js"

// The seed programs and their errors.
export { BadNumber } from "./domain/BadNumber.js"
export { checkStatus } from "./programs/checkStatus.js"
export { fetchAll, FetchAllFailed } from "./programs/fetchAll.js"
export { fetchUrls } from "./programs/fetchUrls.js"
export type { FetchUrlsOptions } from "./programs/fetchUrls.js"
export { AllFailed, first } from "./programs/first.js"
export { processNumbers, processNumbersChan } from "./programs/processNumbers.js"
