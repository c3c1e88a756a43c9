/**
 * A deterministic `HttpClient` for virtual-time tests (a fake at the platform edge only): the path
 * says what happens, and every request is counted as started, finished or interrupted.
 *
 *   /ok/:id         200 at once          /slow/:ms/:id   200 after :ms (virtual) milliseconds
 *   /status/:code   that status          /never/:id      never answers
 */
import { HttpClient, HttpClientResponse } from "@effect/platform"
import { Effect, Layer } from "effect"
import * as UrlFetcher from "../../src/services/UrlFetcher.js"

export interface FakeHttpStats {
  started: number
  finished: number
  interrupted: number
}

export const make = (stats: FakeHttpStats): HttpClient.HttpClient =>
  HttpClient.make((request, url) => {
    const [, route, a] = url.pathname.split("/")
    const respond = (status: number, body: string) => HttpClientResponse.fromWeb(request, new Response(body, { status }))
    const answer = route === "ok"
      ? Effect.succeed(respond(200, `ok ${a}`))
      : route === "slow"
      ? Effect.as(Effect.sleep(`${Number(a)} millis`), respond(200, `slow ${a}`))
      : route === "status"
      ? Effect.succeed(respond(Number(a), "status"))
      : Effect.never
    return Effect.sync(() => stats.started++).pipe(
      Effect.zipRight(answer),
      Effect.tap(() => Effect.sync(() => stats.finished++)),
      Effect.onInterrupt(() => Effect.sync(() => stats.interrupted++))
    )
  })

/** `UrlFetcher` over the fake client, and the counters it updates. */
export const layer = (): { readonly stats: FakeHttpStats; readonly layer: Layer.Layer<UrlFetcher.UrlFetcher> } => {
  const stats: FakeHttpStats = { started: 0, finished: 0, interrupted: 0 }
  return {
    stats,
    layer: UrlFetcher.UrlFetcher.Default.pipe(Layer.provide(Layer.succeed(HttpClient.HttpClient, make(stats))))
  }
}
