/**
 * HTTP/1.1 clients on raw sockets, for what `node:http`'s client hides: whether a connection was
 * reset, closed without a reply, or answered, and exactly when the request bytes were sent.
 */
import * as Net from "node:net"

/** What one connection saw: the reply's status line, or how it ended without one. */
export type Outcome =
  | { readonly _tag: "Reply"; readonly status: number; readonly head: string; readonly body: string }
  | { readonly _tag: "Error"; readonly code: string }
  | { readonly _tag: "ClosedWithoutReply" }
  | { readonly _tag: "NoReplyInTime" }

export interface Fresh {
  /** One outcome per connection, in order, once every connection has ended (or `withinMs` passed). */
  readonly outcomes: Promise<ReadonlyArray<Outcome>>
}

/**
 * Opens `n` connections to 127.0.0.1:`port` and writes `request` on each as soon as it connects
 * (`Connection: close`, so a server that answers closes it after the reply). Resolves once every
 * connection is established and its request handed to the kernel: from then on the request has
 * reached the server host, whether or not the server process has accepted or parsed it.
 */
export const fresh = (port: number, n: number, request: (i: number) => string, withinMs = 10_000): Promise<Fresh> =>
  new Promise((resolveSent, rejectSent) => {
    let sent = 0
    const outcomes = Array.from({ length: n }, (_, i) =>
      new Promise<Outcome>((resolve) => {
        const socket = Net.connect(port, "127.0.0.1")
        let data = ""
        let outcome: Outcome | undefined
        const timer = setTimeout(() => {
          outcome ??= { _tag: "NoReplyInTime" }
          socket.destroy()
        }, withinMs)
        socket.setEncoding("latin1")
        socket.on("connect", () =>
          socket.write(request(i), (e) => {
            if (e) rejectSent(e)
            else if (++sent === n) resolveSent({ outcomes: Promise.all(outcomes) })
          }))
        socket.on("data", (d: string) => (data += d))
        socket.on("error", (e: NodeJS.ErrnoException) => {
          outcome ??= { _tag: "Error", code: e.code ?? e.message }
        })
        socket.on("close", () => {
          clearTimeout(timer)
          const m = /^HTTP\/1\.1 (\d{3}) /.exec(data)
          resolve(
            outcome ?? (m === null
              ? { _tag: "ClosedWithoutReply" }
              : {
                _tag: "Reply",
                status: Number(m[1]),
                head: data.split("\r\n\r\n")[0]!,
                body: Buffer.from(data.split("\r\n\r\n").slice(1).join("\r\n\r\n"), "latin1").toString("utf8")
              })
          )
        })
      })
    )
    // a connection that fails before it is established rejects the whole batch
    void Promise.all(outcomes).then((os) => {
      if (sent < n) rejectSent(new Error(`only ${sent} of ${n} requests were sent: ${JSON.stringify(os.slice(0, 3))}`))
    })
  })

/** `GET path` with `Connection: close`. */
export const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`

/** One request on one fresh connection; resolves with its outcome. */
export const once = async (port: number, request: string): Promise<Outcome> => {
  const f = await fresh(port, 1, () => request)
  return (await f.outcomes)[0]!
}

/** What a connection carrying several requests saw: every reply's status, and how it ended. */
export interface Seen {
  readonly statuses: ReadonlyArray<number>
  /** The socket error (`ECONNRESET`, …), if it ended with one. */
  readonly error: string | undefined
}

/** One connection driven by hand: send bytes when you like, wait for replies, see how it ended. */
export interface Conn {
  /** Resolves once the bytes are handed to the kernel. */
  readonly send: (text: string) => Promise<void>
  /** Resolves once `n` replies have arrived in all (or the connection ended). */
  readonly replies: (n: number) => Promise<void>
  /** Resolves when the connection has closed, with everything it saw. */
  readonly ended: Promise<Seen>
  /** Hangs up at once. */
  readonly destroy: () => void
}

/**
 * Connects to 127.0.0.1:`port` and resolves once connected. Replies are counted by their status
 * lines (the servers under test send JSON bodies, never a status line); closed after `withinMs`.
 */
export const open = (port: number, withinMs = 10_000): Promise<Conn> =>
  new Promise((resolveConn, rejectConn) => {
    const socket = Net.connect(port, "127.0.0.1")
    let data = ""
    let error: string | undefined
    const waiters: Array<[number, () => void]> = []
    const statuses = () => [...data.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]))
    const wake = (all: boolean) => {
      const n = statuses().length
      for (const w of [...waiters]) {
        if (all || n >= w[0]) {
          waiters.splice(waiters.indexOf(w), 1)
          w[1]()
        }
      }
    }
    const timer = setTimeout(() => socket.destroy(), withinMs)
    socket.setEncoding("latin1")
    socket.on("data", (d: string) => {
      data += d
      wake(false)
    })
    socket.on("error", (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message))
    const ended = new Promise<Seen>((resolve) =>
      socket.on("close", () => {
        clearTimeout(timer)
        wake(true)
        resolve({ statuses: statuses(), error })
      })
    )
    socket.once("error", rejectConn)
    socket.on("connect", () => {
      socket.off("error", rejectConn)
      resolveConn({
        send: (text) => new Promise((resolve, reject) => socket.write(text, (e) => (e ? reject(e) : resolve()))),
        replies: (n) => new Promise<void>((resolve) => {
          waiters.push([n, resolve])
          wake(socket.destroyed)
        }),
        ended,
        destroy: () => socket.destroy()
      })
    })
  })
