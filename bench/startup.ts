/**
 * Start-up cost (issue 8.6), each against bare `node -e 0` in the same run: CPU time (user + system,
 * measured by the process itself at exit) and wall time, median of several fresh processes.
 *
 * - `leakproof --help` via the bin (the bundle; the root's help loads every command),
 *   `leakproof squares 1 2` via the bin (one command: only its chunk is loaded),
 *   `leakproof --help` via tsx on the sources (what `tsx src/main.ts` costs a developer);
 * - a one-line `import { Chan } from "leakproof"` (the built library, `dist/index.js`);
 * - argument parsing: `squares --workers 0` with 5k and 50k numbers as arguments (linear: 10x the
 *   arguments cost far less than 10x the time, start-up included).
 *
 * Builds the bundle and the library first if they are missing. `BENCH_QUICK=1`: 3 runs each.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const runs = process.env["BENCH_QUICK"] === "1" ? 3 : 7

if (!existsSync(join(root, "dist", "leakproof.mjs"))) execFileSync(process.execPath, [join(root, "scripts", "bundle.mjs")])
if (!existsSync(join(root, "dist", "index.js"))) {
  execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.build.json")])
}

// Reports the process's own CPU time on fd 3 when it exits.
const tmp = mkdtempSync(join(tmpdir(), "leakproof-startup-"))
const probe = join(tmp, "cpu.mjs")
writeFileSync(
  probe,
  `import { writeSync } from "node:fs"
process.on("exit", () => { const u = process.cpuUsage(); try { writeSync(3, String((u.user + u.system) / 1000)) } catch {} })
`
)

interface Sample {
  readonly cpuMs: number
  readonly wallMs: number
}

const once = (nodeArgs: ReadonlyArray<string>): Sample => {
  const t0 = performance.now()
  const r = spawnSync(process.execPath, ["--import", probe, ...nodeArgs], {
    cwd: root,
    stdio: ["ignore", "ignore", "pipe", "pipe"],
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" }
  })
  const wallMs = performance.now() - t0
  const cpuMs = Number(r.output[3])
  if (!Number.isFinite(cpuMs)) throw new Error(`no CPU figure from ${nodeArgs.join(" ")}: ${r.stderr}`)
  return { cpuMs, wallMs }
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const measure = (nodeArgs: ReadonlyArray<string>): Sample => {
  once(nodeArgs) // warm the OS file cache (and tsx's transform cache)
  const samples = Array.from({ length: runs }, () => once(nodeArgs))
  return { cpuMs: median(samples.map((s) => s.cpuMs)), wallMs: median(samples.map((s) => s.wallMs)) }
}

const bin = join(root, "bin", "leakproof.js")
const numbers = (n: number) => Array.from({ length: n }, (_, i) => String(i % 1000))
const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
  ["node -e 0 (baseline)", ["-e", "0"]],
  ["leakproof --help (bin: bundle)", [bin, "--help"]],
  ["leakproof squares 1 2 (bin)", [bin, "squares", "1", "2"]],
  ["leakproof --help (tsx src/main.ts)", ["--import", "tsx", join(root, "src", "main.ts"), "--help"]],
  ["import { Chan } from \"leakproof\"", ["--input-type=module", "-e", `import { Chan } from ${JSON.stringify(join(root, "dist", "index.js"))}; Chan.make`]],
  ["squares --workers 0, 5k arguments (bin)", [bin, "squares", "--workers", "0", ...numbers(5_000)]],
  ["squares --workers 0, 50k arguments (bin)", [bin, "squares", "--workers", "0", ...numbers(50_000)]]
]

const { loadavg } = await import("node:os")
console.log(`start-up, median of ${runs} fresh processes; load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`)
const results = new Map<string, Sample>()
for (const [name, args] of cases) {
  const s = measure(args)
  results.set(name, s)
  const base = results.get("node -e 0 (baseline)")!
  console.log(
    `  ${name.padEnd(42)} CPU ${s.cpuMs.toFixed(0).padStart(6)} ms (${(s.cpuMs / base.cpuMs).toFixed(1).padStart(5)}x node)` +
      `   wall ${s.wallMs.toFixed(0).padStart(6)} ms (${(s.wallMs / base.wallMs).toFixed(1).padStart(5)}x node)`
  )
}
const p5 = results.get("squares --workers 0, 5k arguments (bin)")!
const p50 = results.get("squares --workers 0, 50k arguments (bin)")!
console.log(`  argument parsing: 10x the arguments cost ${(p50.cpuMs / p5.cpuMs).toFixed(2)}x the CPU (linear: < 10x)`)
rmSync(tmp, { recursive: true, force: true })
