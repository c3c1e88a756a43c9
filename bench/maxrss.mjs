// Preloaded with `node --import` by bench/fetch.ts: reports the process's peak RSS on exit.
import { writeSync } from "node:fs"

process.on("exit", () => writeSync(2, `\nmaxrss-kb ${process.resourceUsage().maxRSS}\n`))
