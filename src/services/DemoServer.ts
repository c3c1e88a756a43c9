/**
 * The embedded demo server behind `npm start`: an `@effect/platform` HTTP server on loopback with
 * endpoints that behave well and badly, so the fetcher can be shown off with no internet.
 *
 *   /fast/:id          200 at once, a small body
 *   /slow/:id?ms=N     200 after N ms (default 500)
 *   /fail/:id          500
 *   /hang/:id          never answers (the client's timeout must cut it)
 *   /big/:id?bytes=N   200 with an N-byte body (default 2 MiB), streamed
 *
 * @since 0.1.0
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Data, Effect, Stream } from "effect"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"

/**
 * The demo server could not listen.
 * @since 0.1.0
 */
export class DemoServerError extends Data.TaggedError("DemoServerError")<{ readonly detail: string }> {
  override get message(): string {
    return `demo server: ${this.detail}`
  }
}

/** @since 0.1.0 */
export interface DemoServer {
  readonly baseUrl: string
}

const numberParam = (name: string, fallback: number) =>
  Effect.map(HttpServerRequest.ParsedSearchParams, (params) => {
    const n = Number(params[name])
    return Number.isFinite(n) && n >= 0 ? n : fallback
  })

const chunk = new Uint8Array(64 * 1024).fill(46)

const router = HttpRouter.empty.pipe(
  HttpRouter.get("/fast/:id", Effect.succeed(HttpServerResponse.text("fast\n"))),
  HttpRouter.get(
    "/slow/:id",
    Effect.flatMap(numberParam("ms", 500), (ms) => Effect.as(Effect.sleep(ms), HttpServerResponse.text(`slept ${ms}ms\n`)))
  ),
  HttpRouter.get("/fail/:id", Effect.succeed(HttpServerResponse.text("boom\n", { status: 500 }))),
  HttpRouter.get("/hang/:id", Effect.never),
  HttpRouter.get(
    "/big/:id",
    Effect.map(numberParam("bytes", 2 * 1024 * 1024), (bytes) =>
      HttpServerResponse.stream(
        Stream.repeatValue(chunk).pipe(Stream.take(Math.ceil(bytes / chunk.length)))
      ))
  )
)

/**
 * Starts the server on 127.0.0.1 (port 0 picks a free one) for the lifetime of the current scope.
 * `onRequest` sees each request's path and query as it arrives (the cluster demo counts URLs
 * fetched twice with it).
 * @since 0.1.0
 */
export const make = (
  port = 0,
  options: { readonly onRequest?: (url: string) => void } = {}
): Effect.Effect<DemoServer, DemoServerError, Scope.Scope> =>
  Effect.gen(function*() {
    const create = () => {
      const s = Http.createServer()
      const onRequest = options.onRequest
      if (onRequest !== undefined) s.on("request", (req: Http.IncomingMessage) => onRequest(req.url ?? "/"))
      return s
    }
    const server = yield* NodeHttpServer.make(create, { port, host: "127.0.0.1" }).pipe(
      Effect.mapError((e) => new DemoServerError({ detail: String(e.cause) }))
    )
    yield* server.serve(router)
    const address = server.address
    const actual = address._tag === "TcpAddress" ? address.port : port
    return { baseUrl: `http://127.0.0.1:${actual}` }
  })

/**
 * The default job's batch: `n` URLs of the demo server (default 50), mostly fast, some slow, a few
 * failing, hanging and oversized, shuffled deterministically.
 * @since 0.1.0
 */
export const demoUrls = (baseUrl: string, n = 50): ReadonlyArray<string> =>
  Array.from({ length: n }, (_, i) => {
    const kind = i % 10
    if (kind === 3) return `${baseUrl}/slow/${i}?ms=${200 + (i * 37) % 600}`
    if (kind === 5) return `${baseUrl}/slow/${i}?ms=${300 + (i * 53) % 900}`
    if (kind === 7) return `${baseUrl}/fail/${i}`
    if (i === 9 || i === 29) return `${baseUrl}/hang/${i}`
    if (i === 19 || i === 39) return `${baseUrl}/big/${i}?bytes=${3 * 1024 * 1024}`
    return `${baseUrl}/fast/${i}`
  })
