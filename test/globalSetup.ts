// CLI tests spawn the bundled CLI (0.2 s to start instead of ~3 s through tsx): build it once.
import { execFileSync } from "node:child_process"

export default function setup(): void {
  execFileSync(process.execPath, ["scripts/bundle.mjs"], { stdio: "inherit" })
}
