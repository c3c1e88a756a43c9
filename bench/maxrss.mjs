// Preloaded with `node --expose-gc --import` by bench/fetch.ts: reports the process's peak RSS on
// exit, and the live heap after a full collection (what is actually retained, whatever the
// collector's laziness let the RSS grow to).
import { writeSync } from "node:fs"

process.on("exit", () => {
  const peak = process.resourceUsage().maxRSS
  globalThis.gc?.()
  globalThis.gc?.()
  writeSync(2, `\nmaxrss-kb ${peak} heap-after-gc-kb ${Math.round(process.memoryUsage().heapUsed / 1024)}\n`)
})
