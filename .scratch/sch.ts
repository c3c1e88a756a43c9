import { Schema } from "effect"
import * as FB from "../src/domain/FetchBatch.js"
const outcomes = Array.from({ length: 500 }, (_, i) => i % 10 === 0
  ? { _tag: "FetchError" as const, i, reason: "Status" as const, detail: "HTTP 500", status: 500, attempts: 3 }
  : { _tag: "Fetched" as const, i, status: 200, bytes: 1024, durationMs: 12.3, attempts: 1 })
const enc = Schema.encodeSync(FB.BatchReply)
const dec = Schema.decodeUnknownSync(FB.BatchReply)
for (let k = 0; k < 50; k++) dec(enc(new FB.BatchReply({ run: "r", runner: "x", outcomes })))
const t0 = performance.now()
const n = 200
let c = 0, e = 0, d = 0
for (let k = 0; k < n; k++) {
  const a = performance.now(); const r = new FB.BatchReply({ run: "r", runner: "x", outcomes }); const b = performance.now()
  const w = enc(r); const cc = performance.now(); dec(w); const dd = performance.now()
  c += b - a; e += cc - b; d += dd - cc
}
console.log(`per URL: construct ${(c / n / 500 * 1000).toFixed(2)} us, encode ${(e / n / 500 * 1000).toFixed(2)} us, decode ${(d / n / 500 * 1000).toFixed(2)} us`)
