/**
 * Issue 8.6: a command loads what it needs, in the bundle too (code splitting keeps the commands'
 * `import()` lazy): `squares` never loads the fetch commands, the servers or the demo catalogue.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { bundle } from "../support/cli.js"

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))

/** The bundle's module chunks (`dist/cli/<Module>-<hash>.mjs`, not the shared `chunk-*`) a run of `args` loaded. */
const chunksLoadedBy = (args: ReadonlyArray<string>): ReadonlyArray<string> => {
  const r = spawnSync(process.execPath, ["--import", here("../support/traceModules.register.mjs"), bundle, ...args], {
    stdio: ["ignore", "pipe", "pipe", "pipe"],
    encoding: "utf8",
    timeout: 60_000
  })
  expect(r.status, r.stderr).toBe(0)
  return [...new Set((r.output[3] ?? "").split("\n").flatMap((u) => /\/cli\/([A-Za-z]+)-[A-Z0-9]+\.mjs$/.exec(u)?.[1] ?? []).filter((m) => m !== "chunk"))]
}

describe("start-up: each command loads only its own module", () => {
  it("squares: only SquaresCommand", () => {
    expect(chunksLoadedBy(["squares", "1", "2"])).toEqual(["SquaresCommand"])
  })

  it("fetch --help: only FetchCommand, no HTTP client built", () => {
    expect(chunksLoadedBy(["fetch", "--help"])).toEqual(["FetchCommand"])
  })

  it("runner --help: only RunnerCommand; the cluster stack (ClusterStack, FetchRunner) only when a runner starts", () => {
    expect(chunksLoadedBy(["runner", "--help"])).toEqual(["RunnerCommand"])
  })

  it("the root's --help lists every command, so it loads them all", () => {
    expect([...chunksLoadedBy(["--help"])].sort()).toEqual(["DemoCommand", "FetchCommand", "RunnerCommand", "ServeCommand", "SquaresCommand"])
  })
})
