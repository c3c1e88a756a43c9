/**
 * BodyFile.ensureDir: `--output DIR`'s directory, made component by component.
 */
import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as BodyFile from "../../src/services/BodyFile.js"

describe("BodyFile.ensureDir", () => {
  it.prop("property: any nesting, made twice: the directory exists and nothing else was made", [
    fc.array(fc.stringMatching(/^[a-z0-9._-]{1,8}$/).filter((s) => s !== "." && s !== ".."), { minLength: 1, maxLength: 5 })
  ], ([parts]) => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "leakproof-dir-"))
    try {
      const dir = path.join(base, ...parts)
      BodyFile.ensureDir(dir)
      BodyFile.ensureDir(dir) // already there: fine
      expect(fs.statSync(dir).isDirectory()).toBe(true)
      expect(fs.readdirSync(base)).toEqual([parts[0]])
    } finally {
      fs.rmSync(base, { recursive: true, force: true })
    }
  })

  it("a component that is a file: ENOTDIR naming it", () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "leakproof-dir-"))
    try {
      fs.writeFileSync(path.join(base, "f"), "x")
      expect(() => BodyFile.ensureDir(path.join(base, "f", "sub"))).toThrow(`${path.join(base, "f")} is not a directory`)
    } finally {
      fs.rmSync(base, { recursive: true, force: true })
    }
  })

  // Node 20's `mkdirSync(dir, { recursive: true })` never returns here (the spawned CLI test bounds
  // that case with a kill; this one would hang the worker on the old code).
  it.runIf(fs.existsSync("/proc/self"))("under /proc: fails with ENOENT at once", () => {
    expect(() => BodyFile.ensureDir("/proc/leakproof-nope/sub")).toThrow(/ENOENT/)
  })
})
