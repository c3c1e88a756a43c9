/**
 * `npm run bench [name...]`: runs each benchmark script in a fresh process, one after another
 * (never in parallel: these machines have 2 cores and the figures are ratios measured in one run).
 * `BENCH_QUICK=1` asks each script for a smaller run.
 */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const benches: ReadonlyArray<string> = [
  // one line per benchmark script in bench/
  "chan",
  "fetch",
  "pool",
  "serve",
  "startup",
  "cluster",
]

const wanted = process.argv.slice(2)
const selected = wanted.length === 0 ? benches : benches.filter((b) => wanted.includes(b))
if (selected.length === 0) {
  process.stderr.write(`no benchmark named ${wanted.join(", ")}; known: ${benches.join(", ")}\n`)
  process.exit(2)
}
let failed = 0
for (const name of selected) {
  const script = fileURLToPath(new URL(`./${name}.ts`, import.meta.url))
  process.stdout.write(`\n=== ${name} ===\n`)
  const r = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", script], { stdio: "inherit" })
  if (r.status !== 0) failed++
}
process.exit(failed === 0 ? 0 : 1)
