// Bundles the CLI into one file so `leakproof --help` starts in a fraction of a second
// (through tsx it takes ~3 s to load the TypeScript sources on these machines).
import { build } from "esbuild"

await build({
  entryPoints: ["src/main.ts"],
  outfile: "dist/leakproof.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  logLevel: "warning",
  // Some dependencies are CommonJS and call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }
})
