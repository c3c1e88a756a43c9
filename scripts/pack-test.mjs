// `npm run test:package`: the package as a user meets it. `npm pack` (which runs `prepare`: the
// library build and the CLI bundle), install the tarball into a fresh project (offline first, from
// the npm cache), type-check a consumer of the public API under strict NodeNext settings, run it,
// and run the installed `leakproof` bin. Exits non-zero on the first failure. Bounded: each step
// has a timeout.
import { execFileSync } from "node:child_process"
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const work = mkdtempSync(join(tmpdir(), "leakproof-pack-"))
const keep = process.env["KEEP"] === "1"
const npm = process.platform === "win32" ? "npm.cmd" : "npm"
const t0 = performance.now()

const step = (name, fn) => {
  const t = performance.now()
  try {
    const out = fn()
    process.stdout.write(`ok   ${name} (${((performance.now() - t) / 1000).toFixed(1)}s)\n`)
    return out
  } catch (e) {
    process.stdout.write(`FAIL ${name}\n${e.stdout ?? ""}${e.stderr ?? ""}${e.stdout || e.stderr ? "" : String(e)}\n`)
    if (!keep) rmSync(work, { recursive: true, force: true })
    process.exit(1)
  }
}
const run = (cmd, args, cwd, timeoutMs) =>
  execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs })

const tarball = step("npm pack (prepare: library build + CLI bundle)", () => {
  run(npm, ["pack", "--pack-destination", work, "--silent"], root, 240_000)
  const file = readdirSync(work).find((f) => f.endsWith(".tgz"))
  if (file === undefined) throw new Error("no tarball")
  const listing = run("tar", ["-tzf", join(work, file)], work, 30_000).split("\n")
  for (const needed of ["package/dist/index.js", "package/dist/index.d.ts", "package/dist/patterns.js",
    "package/dist/patterns.d.ts", "package/dist/server.js", "package/dist/server.d.ts", "package/dist/vitest.js", "package/dist/vitest.d.ts",
    "package/dist/leakproof.mjs", "package/bin/leakproof.js"]) {
    if (!listing.includes(needed)) throw new Error(`${needed} is missing from the tarball`)
  }
  const leaked = listing.filter((f) => f.startsWith("package/src/") || f.startsWith("package/test/") || f.endsWith(".map"))
  if (leaked.length > 0) throw new Error(`the tarball ships ${leaked.slice(0, 5).join(", ")}`)
  return join(work, file)
})

const app = join(work, "app")
const consumer = `// A user's program: every public entry, type-checked and run.
import { AllFailed, BadNumber, Chan, FetchAllFailed, FetchOutcome, LeakCheck, UrlFetcher, WorkerPool,
  checkStatus, fetchAll, fetchUrls, first, processNumbers, processNumbersChan } from "leakproof"
import { Demo, Pipeline } from "leakproof/patterns"
import { DemoServer, WorkServer } from "leakproof/server"
import { Effect, Either, Option, Stream } from "effect"

const exported = [AllFailed, BadNumber, FetchAllFailed, FetchOutcome.summarize, WorkerPool.runAll, checkStatus,
  fetchAll, first, processNumbersChan, WorkServer.make, Demo]
const ok = (cond: boolean, what: string) => { if (!cond) throw new Error(what) }

const program = Effect.gen(function*() {
  // seed 001 ProcessNumbers on the pool, and its typed error
  const squares = yield* processNumbers([1, 2, 3], 2)
  ok([...squares].sort().join() === "1,4,9", "squares")
  const bad = yield* Effect.either(processNumbers([1, -2], 1))
  ok(Either.isLeft(bad) && bad.left._tag === "JobFailed", "JobFailed")
  // Go's channel, with the leak check around it
  const got = yield* LeakCheck.verifyNone(Effect.scoped(Effect.gen(function*() {
    const ch = yield* Chan.make<number>()
    yield* Effect.forkScoped(Effect.zipRight(Chan.sendAll(ch, [1, 2, 3]), Chan.close(ch)))
    const out: Array<number> = []
    yield* Chan.forEach(ch, (n) => Effect.sync(() => out.push(n)))
    return out
  })))
  ok(got.join() === "1,2,3", "chan")
  // a pattern from the catalogue
  const report = yield* Pipeline.pipeline()
  ok(report.leftBehind === 0, "pipeline left fibers behind")
  // the fetcher against the demo server, through the real HTTP layer
  const result = yield* Effect.scoped(Effect.gen(function*() {
    const server = yield* DemoServer.make()
    const urls = [server.baseUrl + "/fast/1", server.baseUrl + "/fail/2"]
    return yield* fetchUrls(urls, { retries: 0 }).pipe(Effect.provide(UrlFetcher.layer))
  }))
  const summary: FetchOutcome.Summary = result.summary
  ok(summary.succeeded === 1 && summary.failed === 1, "fetch summary " + JSON.stringify(summary))
  const one = yield* Stream.runHead(Stream.make(1))
  ok(Option.isSome(one), "stream")
  return exported.length
})

Effect.runPromise(program).then(
  () => console.log("consumer ok"),
  (e) => { console.error(e); process.exit(1) }
)
`

step("fresh project: npm install the tarball (offline first, peers from the cache)", () => {
  run("mkdir", ["-p", join(app, "src")], work, 10_000)
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }, null, 2))
  writeFileSync(join(app, "tsconfig.json"), JSON.stringify({
    compilerOptions: {
      target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true,
      exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, skipLibCheck: false,
      types: ["node"], outDir: "out", rootDir: "src"
    },
    include: ["src"]
  }, null, 2))
  writeFileSync(join(app, "src", "consumer.ts"), consumer)
  const devPins = ["typescript@5.9.3", "@types/node@20.19.43"]
  run(npm, ["install", tarball, ...devPins, "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], app, 300_000)
})

step("type-check and compile the consumer (tsc, strict, NodeNext, lib checks on)", () =>
  run(process.execPath, [join(app, "node_modules", "typescript", "bin", "tsc"), "-p", "."], app, 240_000))

step("run the consumer", () => {
  const out = run(process.execPath, [join(app, "out", "consumer.js")], app, 60_000)
  if (!out.includes("consumer ok")) throw new Error(out)
})

step("the installed bin: leakproof squares 3 4 (no @effect/cli installed: the bundle is whole)", () => {
  const out = run(join(app, "node_modules", ".bin", "leakproof"), ["squares", "--format", "json", "3", "4"], app, 60_000)
  const results = JSON.parse(out).results.sort((a, b) => a - b)
  if (results.join() !== "9,16") throw new Error(out)
  try {
    run(process.execPath, ["-e", "import('@effect/cli')"], app, 30_000)
    throw new Error("@effect/cli was installed for a consumer")
  } catch (e) {
    if (e instanceof Error && e.message.includes("was installed")) throw e
  }
})

if (!keep) rmSync(work, { recursive: true, force: true })
process.stdout.write(`package test passed in ${((performance.now() - t0) / 1000).toFixed(1)}s\n`)
