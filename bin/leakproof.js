#!/usr/bin/env node
// The `leakproof` command: the bundled CLI when it has been built (`npm run bundle`, run by
// `npm install`), otherwise the TypeScript sources through tsx (slower to start).
import { existsSync } from "node:fs"
import { fileURLToPath, pathToFileURL } from "node:url"

const bundle = fileURLToPath(new URL("../dist/leakproof.mjs", import.meta.url))
if (existsSync(bundle)) {
  await import(pathToFileURL(bundle).href)
} else {
  const { register } = await import("tsx/esm/api")
  register()
  await import(new URL("../src/main.ts", import.meta.url).href)
}
