/**
 * Who waits for whom among blocked fibers, and the cycles in it: the analysis behind
 * `LeakCheck`'s `Deadlock` report ("fiber #4 waits to send on `results`, which only #2 receives;
 * #2 waits for #4 to end"). Pure data and functions; `LeakCheck` gathers the facts.
 *
 * An edge A -> B means B is a fiber that could end A's wait: for a channel send, a fiber that has
 * received from that channel before; for a receive, one that has sent on it; for `Fiber.join`, the
 * joined fiber; for a `Deferred`, the fiber that made it. Channel edges come from what the check
 * saw (Go's runtime cannot know who *will* receive either), so a cycle is evidence, not proof, and
 * a deadlock without a cycle is reported all the same.
 *
 * @since 0.1.0
 */

/**
 * A fiber that used a channel before (and whether it is still alive).
 * @since 0.1.0
 */
export interface Peer {
  readonly id: number
  readonly alive: boolean
}

/**
 * One thing a blocked fiber waits on. A `select` waits on several at once.
 * @since 0.1.0
 */
export type Wait =
  | { readonly _tag: "ChanSend"; readonly chan: string; readonly peers: ReadonlyArray<Peer> }
  | { readonly _tag: "ChanReceive"; readonly chan: string; readonly peers: ReadonlyArray<Peer> }
  | { readonly _tag: "NilChan" }
  | { readonly _tag: "Join"; readonly fiber: number }
  | { readonly _tag: "JoinOrDeferred"; readonly fiber: number }
  | { readonly _tag: "Deferred"; readonly madeBy: number; readonly maker: "alive" | "ended" | "unknown" }
  | { readonly _tag: "Own" }

/**
 * A blocked fiber and what it waits on.
 * @since 0.1.0
 */
export interface Node {
  readonly id: number
  readonly waits: ReadonlyArray<Wait>
}

/**
 * One step of a cycle: `from` waits (`wait`) on something only `to` can give.
 * @since 0.1.0
 */
export interface Step {
  readonly from: number
  readonly wait: Wait
  readonly to: number
}

/** The fibers that could end this wait (edges of the graph). */
export const wakers = (wait: Wait): ReadonlyArray<number> => {
  switch (wait._tag) {
    case "ChanSend":
    case "ChanReceive":
      return wait.peers.filter((p) => p.alive).map((p) => p.id)
    case "Join":
    case "JoinOrDeferred":
      return [wait.fiber]
    case "Deferred":
      return wait.maker === "alive" ? [wait.madeBy] : []
    case "NilChan":
    case "Own":
      return []
  }
}

const ids = (peers: ReadonlyArray<number>): string => {
  const named = peers.map((p) => `#${p}`)
  return named.length <= 1 ? named.join("") : `${named.slice(0, -1).join(", ")} and ${named[named.length - 1]}`
}

/**
 * The wait in words: `waits to send on \`results\`, which only #2 receives`.
 * @since 0.1.0
 */
export const describeWait = (wait: Wait): string => {
  switch (wait._tag) {
    case "ChanSend":
    case "ChanReceive": {
      const send = wait._tag === "ChanSend"
      const what = `waits to ${send ? "send on" : "receive from"} \`${wait.chan}\``
      const alive = wait.peers.filter((p) => p.alive).map((p) => p.id)
      const ended = wait.peers.filter((p) => !p.alive).map((p) => p.id)
      const verb = send ? "receive" : "send"
      if (alive.length === 1) return `${what}, which only #${alive[0]} ${verb}s`
      if (alive.length > 1) return `${what}, which ${ids(alive)} ${verb}`
      if (ended.length > 0) return `${what}, which only ${ids(ended)} ${send ? "received from" : "sent on"} (ended)`
      return `${what}, which no other fiber has ${send ? "received from" : "sent on"}`
    }
    case "NilChan":
      return "waits on a nil channel (forever)"
    case "Join":
      return `waits for #${wait.fiber} to end (Fiber.join)`
    case "JoinOrDeferred":
      return `waits on #${wait.fiber} (Fiber.join, or a Deferred it made)`
    case "Deferred":
      return `waits on a Deferred made by #${wait.madeBy}${wait.maker === "ended" ? " (ended)" : ""}`
    case "Own":
      return "waits on a Queue, or on a Deferred it made itself"
  }
}

/**
 * Go's bracket for a blocked goroutine: `chan send`, `chan receive`, `select`, …
 * @since 0.1.0
 */
export const bracket = (waits: ReadonlyArray<Wait>): string => {
  if (waits.length > 1) return "select"
  const w = waits[0]
  if (w === undefined) return "suspended"
  switch (w._tag) {
    case "ChanSend":
      return "chan send"
    case "ChanReceive":
      return "chan receive"
    case "NilChan":
      return "chan (nil)"
    case "Join":
      return "Fiber.join"
    case "JoinOrDeferred":
      return "Fiber.join or Deferred.await"
    case "Deferred":
      return "Deferred.await"
    case "Own":
      return "Queue or own Deferred"
  }
}

/**
 * The cycles among these fibers, one per strongly connected group that has one, each starting at
 * its first fiber in `nodes` order (Tarjan's algorithm, then a walk inside the group).
 * @since 0.1.0
 */
export const cycles = (nodes: ReadonlyArray<Node>): ReadonlyArray<ReadonlyArray<Step>> => {
  const byId = new Map(nodes.map((n) => [n.id, n]))
  const next = (n: Node): ReadonlyArray<Step> =>
    n.waits.flatMap((wait) => wakers(wait).filter((to) => byId.has(to)).map((to) => ({ from: n.id, wait, to })))

  // Tarjan's strongly connected components.
  let counter = 0
  const index = new Map<number, number>()
  const low = new Map<number, number>()
  const onStack = new Set<number>()
  const stack: Array<number> = []
  const groups: Array<Set<number>> = []
  const connect = (n: Node): void => {
    index.set(n.id, counter)
    low.set(n.id, counter)
    counter++
    stack.push(n.id)
    onStack.add(n.id)
    for (const step of next(n)) {
      if (!index.has(step.to)) {
        connect(byId.get(step.to)!)
        low.set(n.id, Math.min(low.get(n.id)!, low.get(step.to)!))
      } else if (onStack.has(step.to)) {
        low.set(n.id, Math.min(low.get(n.id)!, index.get(step.to)!))
      }
    }
    if (low.get(n.id) === index.get(n.id)) {
      const group = new Set<number>()
      let id: number
      do {
        id = stack.pop()!
        onStack.delete(id)
        group.add(id)
      } while (id !== n.id)
      groups.push(group)
    }
  }
  for (const n of nodes) if (!index.has(n.id)) connect(n)

  const result: Array<ReadonlyArray<Step>> = []
  for (const group of groups) {
    const start = nodes.find((n) => group.has(n.id))!
    const selfLoop = next(start).some((s) => s.to === start.id)
    if (group.size === 1 && !selfLoop) continue
    // Walk inside the group until a fiber repeats; the part from its first visit is a cycle.
    const path: Array<Step> = []
    const seen = new Map<number, number>()
    let at = start
    while (!seen.has(at.id)) {
      seen.set(at.id, path.length)
      const step = next(at).find((s) => group.has(s.to))!
      path.push(step)
      at = byId.get(step.to)!
    }
    result.push(path.slice(seen.get(at.id)!))
  }
  return result
}

/**
 * A cycle in words: `#4 waits to send on \`results\`, which only #2 receives -> #2 waits for #4
 * to end (Fiber.join) -> back to #4`.
 * @since 0.1.0
 */
export const describeCycle = (cycle: ReadonlyArray<Step>): string =>
  [...cycle.map((s) => `#${s.from} ${describeWait(s.wait)}`), `back to #${cycle[0]!.from}`].join(" -> ")
