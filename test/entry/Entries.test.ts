/**
 * The package's public surface (issue 9.5) and what importing it costs (issue 8.6): the root entry
 * is the library and loads neither the CLI nor the HTTP stacks; the demo catalogue and the servers
 * live under their own subpaths.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as Root from "../../src/index.js"
import * as Patterns from "../../src/patterns.js"
import * as Server from "../../src/server.js"

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))

/** Every module URL the process resolved while running `code` (through tsx, on the sources). */
const modulesLoadedBy = (code: string): ReadonlyArray<string> => {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", "--import", here("../support/traceModules.register.mjs"), "--input-type=module", "-e", code],
    { cwd: here("../.."), stdio: ["ignore", "pipe", "pipe", "pipe"], encoding: "utf8", timeout: 60_000 }
  )
  expect(r.status, r.stderr).toBe(0)
  return (r.output[3] ?? "").split("\n").filter((l) => l.length > 0)
}

const heavy = ["@effect/cli", "@effect/platform-node", "@effect/printer", "undici", "/src/cli/"]

describe("the public surface", () => {
  it("root `leakproof`: the library (channels, leak check, pool, fetcher, seed programs and their errors)", () => {
    expect(Object.keys(Root).sort()).toEqual([
      "AllFailed",
      "BadNumber",
      "Chan",
      "FetchAllFailed",
      "FetchOutcome",
      "LeakCheck",
      "UrlFetcher",
      "WorkerPool",
      "checkStatus",
      "fetchAll",
      "fetchUrls",
      "first",
      "processNumbers",
      "processNumbersChan"
    ])
  })

  it("`leakproof/patterns`: the demo catalogue; `leakproof/server`: the servers", () => {
    expect(Object.keys(Patterns)).toContain("Pipeline")
    expect(Object.keys(Patterns)).toHaveLength(14)
    expect(Object.keys(Server).sort()).toEqual(["DemoServer", "FiberHttpServer", "WorkServer"])
  })

  it("import { Chan } from the root entry loads no CLI, no platform-node, no undici", () => {
    const loaded = modulesLoadedBy(`const { Chan } = await import("./src/index.ts"); if (!Chan.make) process.exit(1)`)
    expect(loaded.some((u) => u.endsWith("/src/domain/Chan.ts"))).toBe(true)
    expect(loaded.filter((u) => heavy.some((h) => u.includes(h)))).toEqual([])
  }, 90_000)

  it("import { UrlFetcher } loads no HTTP stack; building UrlFetcher.layer loads undici (and still no platform-node)", () => {
    const imported = modulesLoadedBy(`const { UrlFetcher } = await import("./src/index.ts"); if (!UrlFetcher.layer) process.exit(1)`)
    expect(imported.filter((u) => heavy.some((h) => u.includes(h)))).toEqual([])
    const loaded = modulesLoadedBy(
      `const { UrlFetcher } = await import("./src/index.ts"); const { Effect, Layer } = await import("effect");` +
        `await Effect.runPromise(Effect.scoped(Layer.build(UrlFetcher.layer)))`
    )
    expect(loaded.some((u) => u.includes("/node_modules/undici/index.js"))).toBe(true)
    expect(loaded.filter((u) => u.includes("@effect/cli") || u.includes("@effect/platform-node"))).toEqual([])
  }, 90_000)
})
