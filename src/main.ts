#!/usr/bin/env node
/**
 * The `leakproof` CLI entry: parse, run, exit with the code of the table in `cli/CliExit.ts` once
 * the output has reached its reader (`cli/RunMain.ts`). Nothing else.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Effect } from "effect"
import * as Cli from "./cli/Cli.js"
import { runMain } from "./cli/RunMain.js"

runMain(Cli.run(process.argv).pipe(Effect.provide(NodeContext.layer)))
