/**
 * The `@effect/cluster` plumbing leakproof runs on: PostgreSQL storage, socket transport between
 * processes, lock timings and health checks, for a runner (`runner`) or a client (`client`).
 *
 * Loaded only by `leakproof runner` and `leakproof fetch --cluster` (dynamic import): the rest of
 * the CLI does not pay for the cluster stack at start-up.
 *
 * Failure detection (measured on 2 loaded cores, see README "Scale-out"): a killed runner's
 * PostgreSQL session dies with it, which frees its shard locks (advisory locks) at once; what
 * remains is noticing the death. Every runner pings its peers each second (`PeerWatch`) and marks a
 * dead one unhealthy, so its shards move in a few seconds whichever runner dies. The lock expiry
 * stays long (15 s, refreshed every 5 s): with a 6 s expiry, runners under load missed a refresh,
 * declared lock storage unhealthy and dropped their shards without any kill.
 *
 * @since 0.1.0
 */
import * as MessageStorage from "@effect/cluster/MessageStorage"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as RunnerHealth from "@effect/cluster/RunnerHealth"
import * as Runners from "@effect/cluster/Runners"
import * as RunnerStorage from "@effect/cluster/RunnerStorage"
import type * as Sharding from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SocketRunner from "@effect/cluster/SocketRunner"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import type * as SocketServer from "@effect/platform/SocketServer"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Cause, Data, Duration, Effect, FiberRef, HashSet, Layer, Logger, LogLevel, Option, Redacted, type Scope } from "effect"
import * as PeerWatch from "./PeerWatch.js"

// ---------------------------------------------------------------------------------------------
// Timings
// ---------------------------------------------------------------------------------------------

/**
 * The sharding settings every leakproof process uses (Go analogue: the lease and heartbeat settings of a
 * membership library; runners and clients must agree on `shardsPerGroup`). Defaults in parentheses are the library's.
 * @since 0.1.0
 */
export const timings: Partial<ShardingConfig.ShardingConfig["Type"]> = {
  shardsPerGroup: 300,
  // Long enough that a loaded runner never misses a refresh (a 6 s expiry did), and the refresh
  // (every expiry/3 at most) has 5 s to answer. (35 s / 10 s)
  shardLockExpiration: Duration.seconds(15),
  shardLockRefreshInterval: Duration.seconds(5),
  // How often each process re-reads the runner table: a runner marked unhealthy loses its shards
  // within a second. (3 s)
  refreshAssignmentsInterval: Duration.seconds(1),
  // The library's own health check (a singleton on one runner); `PeerWatch` covers the case
  // where that runner is the one that died. (1 min)
  runnerHealthCheckInterval: Duration.seconds(2),
  // Unprocessed messages are also picked up from storage this often, e.g. one sent while its
  // runner was dying. (10 s)
  entityMessagePollInterval: Duration.seconds(2),
  // One entity per batch: let finished ones go soon. (1 min)
  entityMaxIdleTime: Duration.seconds(10),
  // On SIGTERM a runner lets batches in flight finish for this long; the rest are redone
  // elsewhere. (15 s)
  entityTerminationTimeout: Duration.seconds(10)
}

/** How often a runner pings its peers (`PeerWatch`). */
const peerWatchInterval = Duration.seconds(1)

// ---------------------------------------------------------------------------------------------
// The database
// ---------------------------------------------------------------------------------------------

/**
 * The database could not be used: `NoDatabase` (no `--db` and no `LEAKPROOF_DB`), `BadUrl` (not a
 * postgres:// URL) or `Unreachable` (connecting failed or timed out). The CLI reports it as bad
 * input (exit code 2) in one line.
 * @since 0.1.0
 */
export class DatabaseError extends Data.TaggedError("DatabaseError")<{
  readonly reason: "NoDatabase" | "BadUrl" | "Unreachable"
  readonly detail: string
}> {
  override get message(): string {
    return this.detail
  }
}

/**
 * A database URL without its password, for messages.
 * @since 0.1.0
 */
export const redact = (url: string): string => {
  try {
    const u = new URL(url)
    // A scheme without "//" (`u:secret@h/db`, a missing "postgres://") has no userinfo to mask:
    // everything before its last "@" may be a credential.
    if (u.host === "" && url.includes("@")) return `***@${url.slice(url.lastIndexOf("@") + 1)}`
    if (u.password !== "") u.password = "***"
    return u.toString()
  } catch {
    return "(unparsable URL)"
  }
}

/**
 * Checks that `url` is a postgres:// URL (the database itself is reached when the layer is built).
 * @since 0.1.0
 */
export const checkUrl = (url: string | undefined): Effect.Effect<string, DatabaseError> => {
  if (url === undefined || url.trim() === "") {
    return Effect.fail(
      new DatabaseError({ reason: "NoDatabase", detail: "no database: pass --db postgres://... or set LEAKPROOF_DB" })
    )
  }
  let ok = false
  try {
    ok = ["postgres:", "postgresql:"].includes(new URL(url).protocol)
  } catch {
    ok = false
  }
  return ok
    ? Effect.succeed(url)
    : Effect.fail(new DatabaseError({ reason: "BadUrl", detail: `--db: expected a postgres:// URL, got '${redact(url)}'` }))
}

const pgLayer = (url: string): Layer.Layer<SqlClient.SqlClient, DatabaseError> =>
  PgClient.layer({
    url: Redacted.make(url),
    applicationName: "leakproof",
    connectTimeout: Duration.seconds(5)
  }).pipe(
    Layer.mapError((e) => {
      const cause = e.cause instanceof Error ? e.cause.message : String(e.cause)
      return new DatabaseError({
        reason: "Unreachable",
        detail: `cannot reach the database at ${redact(url)}: ${cause || e.message}`
      })
    })
  )

// Any constant works as long as it differs from the cluster's shard lock numbers (1000001...).
const schemaLockKey = 0x6c65616b // "leak"

/**
 * The cluster's tables, created while holding a database-wide lock: two processes starting on a
 * fresh database at once would otherwise race in CREATE TABLE IF NOT EXISTS and one would die on
 * a duplicate key in pg_type.
 */
const storage: Layer.Layer<
  MessageStorage.MessageStorage | RunnerStorage.RunnerStorage,
  never,
  SqlClient.SqlClient | ShardingConfig.ShardingConfig
> = Layer.scopedContext(
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const scope = yield* Effect.scope
    const build = Layer.buildWithScope(
      Layer.merge(SqlMessageStorage.layer, Layer.orDie(SqlRunnerStorage.layer)),
      scope
    )
    return yield* Effect.scoped(
      Effect.gen(function*() {
        const conn = yield* sql.reserve
        yield* conn.executeRaw(`SELECT pg_advisory_lock(${schemaLockKey})`, [])
        return yield* build.pipe(
          Effect.ensuring(Effect.ignore(conn.executeRaw(`SELECT pg_advisory_unlock(${schemaLockKey})`, [])))
        )
      })
    ).pipe(Effect.orDie)
  })
)

// ---------------------------------------------------------------------------------------------
// Logging
// ---------------------------------------------------------------------------------------------

/**
 * Library logs as one line each on stderr (stdout belongs to the command's output), warnings and
 * errors only unless LEAKPROOF_DEBUG is set.
 */
const logger = (prefix: string) =>
  Layer.merge(
    // Replace every logger (the runtime's pretty one writes to stdout), not only the default one.
    Layer.scopedDiscard(Effect.locallyScopedWith(FiberRef.currentLoggers, () =>
      HashSet.make(Logger.make<unknown, void>(({ cause, logLevel, message }) => {
        const text = (Array.isArray(message) ? message : [message])
          .map((m) => typeof m === "string" ? m : JSON.stringify(m))
          .join(" ")
        const why = Cause.isEmpty(cause) ? "" : `: ${Cause.pretty(cause).split("\n")[0]}`
        process.stderr.write(`${prefix}: ${logLevel.label.toLowerCase()}: ${text}${why}\n`)
      }))
    )),
    Logger.minimumLogLevel(process.env["LEAKPROOF_DEBUG"] ? LogLevel.Debug : LogLevel.Warning)
  )

/**
 * pg 8 prints a deprecation warning when the cluster's lock connection queues a query behind
 * another (pg queues it correctly; pg 9 would refuse). Drop that one warning, keep the others,
 * for as long as the scope lasts: closing it puts the process's own 'warning' listeners back (an
 * embedding program keeps its handlers after the cluster layer is released). Installed once per
 * process at a time; a nested use leaves the outer one in charge. Uninterruptible both ways.
 * @since 0.1.0
 */
export const quietPgQueueWarning: Effect.Effect<void, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => {
    const listeners = process.listeners("warning")
    if (listeners.some((l) => (l as { leakproof?: boolean }).leakproof)) return undefined
    const filter = Object.assign((w: Error) => {
      if (w.message.includes("already executing a query")) return
      for (const l of listeners) l(w)
    }, { leakproof: true })
    process.removeAllListeners("warning")
    process.on("warning", filter)
    return { filter, listeners }
  }),
  (installed) =>
    Effect.sync(() => {
      if (installed === undefined) return
      process.removeListener("warning", installed.filter)
      for (const l of installed.listeners) process.on("warning", l)
    })
)

// ---------------------------------------------------------------------------------------------
// Runner and client
// ---------------------------------------------------------------------------------------------

/**
 * What a runner needs: where peers reach it and the database.
 * @since 0.1.0
 */
export interface RunnerOptions {
  readonly host: string
  readonly port: number
  readonly db: string
}

const serialization = RpcSerialization.layerMsgPack

/**
 * A runner (Go analogue: a worker process joining the pool): listens on `host:port` for other processes, takes its share of the shards, runs the
 * entities registered on it, and pings its peers. Closing the layer is the graceful shutdown:
 * entities get `entityTerminationTimeout` to finish, then the shards are released.
 * Fails with `DatabaseError` (no database) or `SocketServerError` (cannot listen).
 * @since 0.1.0
 */
export const runner = (
  options: RunnerOptions
): Layer.Layer<Sharding.Sharding | Runners.Runners, DatabaseError | SocketServer.SocketServerError> => {
  const config = ShardingConfig.layer({
    ...timings,
    runnerAddress: Option.some(RunnerAddress.make(options.host, options.port))
  })
  const health = RunnerHealth.layerPing.pipe(
    Layer.provide(Runners.layerRpc),
    Layer.provide(NodeClusterSocket.layerClientProtocol)
  )
  const sharding = SocketRunner.layer.pipe(
    Layer.provide([NodeClusterSocket.layerSocketServer, NodeClusterSocket.layerClientProtocol])
  )
  return Layer.merge(sharding, PeerWatch.layer(peerWatchInterval)).pipe(
    Layer.provide(health),
    Layer.provide(storage),
    Layer.provide(config),
    Layer.provide(serialization),
    Layer.provide(pgLayer(options.db)),
    Layer.provide(logger(`leakproof runner ${options.host}:${options.port}`)),
    Layer.provide(Layer.scopedDiscard(quietPgQueueWarning))
  )
}

/**
 * A client-only member (Go analogue: the producer side of a job queue): sends messages to entities on the runners, stores them in PostgreSQL
 * first (persisted messages), owns no shards. Also gives the runner table (`RunnerStorage`), so a
 * client can tell its user that no runner is up. Fails with `DatabaseError`.
 * @since 0.1.0
 */
export const client = (
  db: string
): Layer.Layer<Sharding.Sharding | Runners.Runners | RunnerStorage.RunnerStorage, DatabaseError> =>
  SocketRunner.layerClientOnly.pipe(
    Layer.provide(NodeClusterSocket.layerClientProtocol),
    Layer.provideMerge(storage),
    Layer.provide(ShardingConfig.layer({ ...timings, runnerAddress: Option.none() })),
    Layer.provide(serialization),
    Layer.provide(pgLayer(db)),
    Layer.provide(logger("leakproof")),
    Layer.provide(Layer.scopedDiscard(quietPgQueueWarning))
  )
