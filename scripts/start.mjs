// `npm start [-- args]`: run the bundled CLI (0.3 s of CPU to start, against seconds through tsx),
// bundling it first when it is missing or older than a source file.
import { readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const bundle = join(root, "dist", "leakproof.mjs")

const newest = (dir) => {
  let t = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    t = Math.max(t, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }
  return t
}

const builtAt = (() => {
  try {
    return statSync(bundle).mtimeMs
  } catch {
    return -1
  }
})()
if (builtAt < newest(join(root, "src"))) await import(pathToFileURL(join(root, "scripts", "bundle.mjs")).href)
// The bundle reads process.argv from index 2, as it would behind bin/leakproof.js.
await import(pathToFileURL(bundle).href)
