import { Command } from "@effect/cli"
import * as SquaresCommand from "/work/wt/cli/src/cli/SquaresCommand.js"
import * as DemoCommand from "/work/wt/cli/src/cli/DemoCommand.js"
import { fetchCommand } from "/work/wt/cli/src/cli/FetchCommand.js"
console.log(JSON.stringify(Command.getUsage(SquaresCommand.command), null, 1))
console.log(JSON.stringify(Command.getUsage(fetchCommand)).slice(0, 3000))
console.log(JSON.stringify(Command.getUsage(DemoCommand.command)).slice(0, 600))
