// Bundles the CLI so `leakproof --help` starts in a fraction of a second (through tsx it takes
// seconds to load the TypeScript sources on these machines). Code splitting keeps the commands'
// dynamic `import()`s lazy in the bundle too: `dist/leakproof.mjs` holds what every command needs,
// `dist/cli/*.mjs` what only some do (the HTTP client and servers, the demo catalogue, and the
// cluster stack of `leakproof runner` and `fetch --cluster`: @effect/cluster, @effect/rpc,
// @effect/sql-pg, pg). Sources import `@effect/platform-node/<Module>`, never its barrel, whose
// cluster modules would otherwise land in the start-up chunk (test/cluster/ClusterCli.test.ts).
import { build } from "esbuild"
import { rmSync } from "node:fs"
import { fileURLToPath } from "node:url"

const at = (path) => fileURLToPath(new URL(`../${path}`, import.meta.url))

rmSync(at("dist/cli"), { recursive: true, force: true })
await build({
  entryPoints: { leakproof: at("src/main.ts") },
  outdir: at("dist"),
  outExtension: { ".js": ".mjs" },
  chunkNames: "cli/[name]-[hash]",
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  logLevel: "warning",
  // Some dependencies are CommonJS and call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }
})
