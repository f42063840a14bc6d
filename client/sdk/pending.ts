/**
 * Which local changes the server has not confirmed yet, exactly, from the server's own state:
 * no acknowledgement message exists in the y-websocket protocol, so the client reads what
 * the server has from what the server sends it.
 *
 * - Every local update is an entry: the clocks it reaches per client (its structs) and the
 *   ranges it deletes. Counting is per local transaction (one `doc.on('update')` each).
 * - What the server has: its state vector (its sync step 1 on connect), raised by every
 *   update and sync step 2 it sends (the server sends only what it holds), and the delete
 *   ranges of the sync step 2 answers (an answer carries the server's whole delete set).
 * - An entry is confirmed when the server's clocks reach its clocks and the server's deletes
 *   cover its deletes. Deletes matter: a deletion writes no new struct, so a state vector
 *   alone would confirm an offline delete the server never saw.
 *
 * Pure (Yjs's update readers only): the connection feeds it and asks the server for fresh
 * answers (connection.ts); tests drive it with plain updates.
 */
import * as Y from 'yjs'

/** [client, clock, length] */
type DeleteRange = readonly [number, number, number]

interface Entry {
  readonly clocks: ReadonlyMap<number, number>
  readonly deletes: DeleteRange[]
}

export class PendingTracker {
  private entries: Entry[] = []
  private readonly server = new Map<number, number>()

  /** Local updates the server has not confirmed. */
  get count(): number {
    return this.entries.length
  }

  /** True when some unconfirmed entry waits for deletes (the next answer's delete set is worth reading). */
  get awaitsDeletes(): boolean {
    return this.entries.some((e) => e.deletes.length > 0)
  }

  /** The state vector to ask the server with: ours, lowered to what the server is known to hold for the clients we wait on. */
  probeStateVector(local: Map<number, number>): Map<number, number> {
    const sv = new Map(local)
    for (const e of this.entries) for (const client of e.clocks.keys()) sv.set(client, this.server.get(client) ?? 0)
    return sv
  }

  /** A change made here (any update not received from the server). */
  local(update: Uint8Array): void {
    const { to } = Y.parseUpdateMeta(update)
    const { ds } = Y.decodeUpdate(update)
    const deletes: DeleteRange[] = []
    for (const [client, items] of ds.clients) for (const item of items) deletes.push([client, item.clock, item.len])
    if (to.size === 0 && deletes.length === 0) return
    this.entries.push({ clocks: to, deletes })
  }

  /** A new connection: what the previous node had says nothing about this one. Unconfirmed entries stay. */
  reset(): void {
    this.server.clear()
  }

  /** The server's state vector (its sync step 1). */
  serverStateVector(stateVector: Uint8Array): boolean {
    this.raise(Y.decodeStateVector(stateVector))
    return this.settle([])
  }

  /**
   * An update or sync step 2 from the server. `withDeletes`: read its delete set too (only
   * while some entry waits for deletes: an answer carries the server's whole delete set, a
   * chunk of a large answer part of it, a relayed update the deletes it made).
   */
  serverUpdate(update: Uint8Array, withDeletes: boolean): boolean {
    // The server holds what it sends and everything before it (it applies no update with a gap).
    // (Y.encodeStateVectorFromUpdate would not do: it counts only clients whose structs start at clock 0.)
    this.raise(Y.parseUpdateMeta(update).to)
    if (!withDeletes || !this.awaitsDeletes) return this.settle([])
    const ranges: DeleteRange[] = []
    for (const [client, items] of Y.decodeUpdate(update).ds.clients) for (const item of items) ranges.push([client, item.clock, item.len])
    return this.settle(ranges)
  }

  private raise(sv: Map<number, number>): void {
    for (const [client, clock] of sv) if (clock > (this.server.get(client) ?? 0)) this.server.set(client, clock)
  }

  /** Drops the confirmed entries (an entry's confirmed deletes are struck off as they are seen); true if any was. */
  private settle(serverDeletes: DeleteRange[]): boolean {
    const covered = byClient(serverDeletes)
    const before = this.entries.length
    this.entries = this.entries.filter((e) => {
      if (covered.size > 0) {
        for (let i = e.deletes.length - 1; i >= 0; i--) if (covers(covered.get(e.deletes[i]![0]), e.deletes[i]!)) e.deletes.splice(i, 1)
      }
      if (e.deletes.length > 0) return true
      for (const [client, clock] of e.clocks) if ((this.server.get(client) ?? 0) < clock) return true
      return false
    })
    return this.entries.length !== before
  }
}

/** Delete ranges by client, sorted by clock and merged where they touch. */
function byClient(ranges: readonly DeleteRange[]): Map<number, [number, number][]> {
  const out = new Map<number, [number, number][]>()
  for (const [client, clock, len] of ranges) {
    const list = out.get(client)
    if (list) list.push([clock, clock + len])
    else out.set(client, [[clock, clock + len]])
  }
  for (const list of out.values()) {
    list.sort((a, b) => a[0] - b[0])
    let w = 0
    for (let r = 1; r < list.length; r++) {
      if (list[r]![0] <= list[w]![1]) list[w]![1] = Math.max(list[w]![1], list[r]![1])
      else list[++w] = list[r]!
    }
    list.length = w + 1
  }
  return out
}

/** Whether merged, sorted `[start, end)` ranges cover `[clock, clock + len)` (binary search). */
function covers(list: [number, number][] | undefined, [, clock, len]: DeleteRange): boolean {
  if (!list) return false
  let lo = 0
  let hi = list.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const [start, end] = list[mid]!
    if (clock < start) hi = mid - 1
    else if (clock >= end) lo = mid + 1
    else return clock + len <= end
  }
  return false
}
