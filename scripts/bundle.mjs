// Bundles the CLI into one file so `leakproof --help` starts in a fraction of a second
// (through tsx it takes ~3 s to load the TypeScript sources on these machines).
import { build } from "esbuild"
import { rmSync } from "node:fs"
import { fileURLToPath } from "node:url"

// cluster (issue 11): code splitting puts what only dynamic imports reach (the cluster stack of
// `leakproof runner` and `fetch --cluster`) into dist/chunks/, loaded on demand; every other
// command loads dist/leakproof.mjs and the chunks it imports. The platform-node barrel is swapped
// for one without its cluster modules (scripts/cluster-barrel.mjs says why).
const barrel = fileURLToPath(new URL("./cluster-barrel.mjs", import.meta.url))
rmSync(new URL("../dist/chunks", import.meta.url), { recursive: true, force: true })

await build({
  entryPoints: { leakproof: "src/main.ts" },
  outdir: "dist",
  outExtension: { ".js": ".mjs" },
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  plugins: [{ name: "platform-node-barrel", setup: (b) => b.onResolve({ filter: /^@effect\/platform-node$/ }, () => ({ path: barrel })) }],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  logLevel: "warning",
  // Some dependencies are CommonJS and call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }
})
