/**
 * Every ```ts block of README.md compiles against the package's entries (`leakproof`,
 * `leakproof/patterns`, `leakproof/server`, `leakproof/vitest`, mapped to the sources), under the strict settings a
 * user would have. A README that imports something the package does not export fails here.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = fileURLToPath(new URL("..", import.meta.url))
const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")

/** The ```ts blocks, with the line each starts on. */
const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => ({
  code: m[1]!,
  line: readme.slice(0, m.index).split("\n").length + 1
}))

describe("README.md", () => {
  it("has TypeScript examples", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5)
  })

  it("every ```ts block type-checks against the package entries", () => {
    // Virtual files next to the sources, so that `effect` etc. resolve from node_modules.
    const files = new Map(blocks.map((b, i) => [path.join(root, "test", `__readme_${i}.ts`), b]))
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: true,
      noEmit: true,
      types: ["node"],
      baseUrl: root,
      paths: {
        "leakproof": ["src/index.ts"],
        "leakproof/patterns": ["src/patterns.ts"],
        "leakproof/server": ["src/server.ts"],
        "leakproof/vitest": ["src/vitest.ts"]
      }
    }
    const host = ts.createCompilerHost(options)
    const read = host.readFile.bind(host)
    const exists = host.fileExists.bind(host)
    const getSource = host.getSourceFile.bind(host)
    host.readFile = (f) => files.get(f)?.code ?? read(f)
    host.fileExists = (f) => files.has(f) || exists(f)
    host.getSourceFile = (f, v, onError, create) => {
      const b = files.get(f)
      // A module (top-level await, own scope) whatever the block contains.
      return b === undefined ? getSource(f, v, onError, create) : ts.createSourceFile(f, `${b.code}\nexport {}\n`, v, true)
    }
    const program = ts.createProgram([...files.keys()], options, host)
    const errors = ts.getPreEmitDiagnostics(program)
      .filter((d) => d.file !== undefined && files.has(d.file.fileName))
      .map((d) => {
        const b = files.get(d.file!.fileName)!
        const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0)
        return `README.md:${b.line + line}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`
      })
    expect(errors).toEqual([])
  }, 120_000)
})
