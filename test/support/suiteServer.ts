/**
 * One loopback fault server for a whole test file of spawned-CLI tests: started before the file's
 * first test, closed (with every socket) after its last.
 */
import { afterAll, beforeAll } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import * as FaultServer from "./FaultServer.js"

/**
 * Registers the file's (or the enclosing `describe`'s) `beforeAll`/`afterAll` and returns the
 * server, whose members can be used from the tests once `beforeAll` has run.
 */
export const faultServerForSuite = (): FaultServer.FaultServer => {
  let scope: Scope.CloseableScope | undefined
  let server: FaultServer.FaultServer | undefined
  beforeAll(async () => {
    scope = await Effect.runPromise(Scope.make())
    server = await Effect.runPromise(Scope.extend(FaultServer.start, scope))
  })
  afterAll(async () => {
    if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
  })
  const started = (): FaultServer.FaultServer => {
    if (server === undefined) throw new Error("faultServerForSuite: the server starts in beforeAll")
    return server
  }
  return {
    url: (path) => started().url(path),
    get aborted() {
      return started().aborted
    },
    get received() {
      return started().received
    },
    inFlight: () => started().inFlight(),
    connections: () => started().connections(),
    openSockets: () => started().openSockets()
  }
}

/** The non-empty lines of a process's output. */
export const outputLines = (text: string): Array<string> => text.split("\n").filter((l) => l.length > 0)
