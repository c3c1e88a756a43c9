/**
 * The squaring pool (seed 001) against baselines in one run: 1e6 and 1e7 numbers with 1, 4 and 16
 * workers — leakproof's `processNumbers`, a plain `for` loop, `Effect.forEach` with `concurrency`
 * (1e6 only: ~3 us per item), hand-written async worker loops (the Promise pool) and a p-limit
 * pool (1e6 only: it queues every task up front). Items/s and ratios (>1x: leakproof is faster).
 * `BENCH_QUICK=1`: 1e5 numbers.
 */
import { Effect } from "effect"
import pLimit from "p-limit"
import { processNumbers } from "../src/programs/processNumbers.js"

const quick = process.env["BENCH_QUICK"] === "1"
const sizes = quick ? [100_000] : [1_000_000, 10_000_000]
const fmt = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 0 })

const time = async (run: () => unknown): Promise<number> => {
  const t0 = performance.now()
  await run()
  return performance.now() - t0
}

for (const n of sizes) {
  const nums = Array.from({ length: n }, (_, i) => i % 10_000)
  // warm up every path on a small input
  const small = nums.slice(0, 20_000)
  await Effect.runPromise(processNumbers(small, 4))
  await Effect.runPromise(Effect.forEach(small, (x) => Effect.succeed(x * x), { concurrency: 4 }))
  console.log(`${fmt(n)} numbers`)
  const loopMs = await time(() => {
    const out = new Array<number>(n)
    for (let i = 0; i < n; i++) out[i] = nums[i]! * nums[i]!
    return out
  })
  console.log(`  ${"plain for loop".padEnd(34)} ${fmt(n / loopMs * 1000).padStart(13)} items/s  ${(loopMs * 1e6 / n).toFixed(0).padStart(5)} ns/item`)
  for (const workers of [1, 4, 16]) {
    const poolMs = await time(() => Effect.runPromise(processNumbers(nums, workers)))
    const limit = pLimit(workers)
    // p-limit queues every task up front (one pending promise each): at 1e7 that exhausts the heap.
    const promiseMs = n <= 1_000_000 ? await time(() => Promise.all(nums.map((x) => limit(async () => x * x)))) : undefined
    let next = 0
    const out = new Array<number>(n)
    const loops = await time(() =>
      Promise.all(Array.from({ length: workers }, async () => {
        while (next < n) {
          const i = next++
          out[i] = await Promise.resolve(nums[i]! * nums[i]!)
        }
      }))
    )
    const forEachMs = n <= 1_000_000
      ? await time(() => Effect.runPromise(Effect.forEach(nums, (x) => Effect.succeed(x * x), { concurrency: workers })))
      : undefined
    const row = (name: string, ms: number) =>
      console.log(`  ${name.padEnd(34)} ${fmt(n / ms * 1000).padStart(13)} items/s  ${(ms * 1e6 / n).toFixed(0).padStart(5)} ns/item`)
    row(`leakproof pool, ${workers} workers`, poolMs)
    row(`async worker loops, ${workers}`, loops)
    if (promiseMs !== undefined) row(`p-limit(${workers}) pool`, promiseMs)
    if (forEachMs !== undefined) row(`Effect.forEach concurrency ${workers}`, forEachMs)
    console.log(
      `  ratio: pool vs async loops ${(loops / poolMs).toFixed(2)}x` +
        (promiseMs === undefined ? "" : `, vs p-limit ${(promiseMs / poolMs).toFixed(2)}x`) +
        (forEachMs === undefined ? "" : `, vs Effect.forEach ${(forEachMs / poolMs).toFixed(2)}x`) +
        `, vs Go seed (~850 ns/item) ${(850 / (poolMs * 1e6 / n)).toFixed(1)}x`
    )
  }
}
