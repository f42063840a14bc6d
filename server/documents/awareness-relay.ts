/**
 * Per-document awareness: states kept as the bytes clients sent (relayed verbatim, never
 * re-serialized), with y-protocols' clock rule deciding which entry wins. Changes are
 * coalesced until the owner takes them (once per tick), so a burst of XR poses becomes one
 * message per tick.
 *
 * Every byte is a client's, so (issue 12):
 * - a message is checked whole before any of it applies: clocks are safe integers, each state
 *   is JSON (parsed once, here) of at most `maxStateBytes`; otherwise the sender is refused
 *   (AwarenessError) and nothing of the message is relayed;
 * - an id belongs to the first sender that claimed it (a session, or another node) until it
 *   is removed or that sender leaves; others' entries for it are dropped;
 * - a sender owns at most `maxIdsPerOwner` ids (a session's message of more than four times
 *   that many entries is refused unread); a clock may not jump by more than MAX_CLOCK_JUMP;
 * - removed entries are forgotten once they were broadcast, and states not renewed for
 *   `timeoutMs` are removed, as y-protocols' own clients time them out.
 */
import { decodeAwarenessUpdate, encodeAwarenessUpdate, type AwarenessEntry } from '../../shared/protocol/awareness.ts'
import { AtriumError } from '../../shared/errors.ts'

/** A message the relay refuses whole (the sender is closed with 4415). */
export class AwarenessError extends AtriumError {
  override readonly name = 'AwarenessError'
}

/** A message that would change the sender's own presence while its awareness rate is spent (the sender is closed with 4429). */
export class AwarenessOverRate extends AtriumError {
  override readonly name = 'AwarenessOverRate'
}

export interface AwarenessLimits {
  readonly maxStateBytes: number
  readonly maxIdsPerOwner: number
  /** States not renewed for this long are removed (y-protocols' outdatedTimeout is 30 s). */
  readonly timeoutMs: number
}

/** Why an entry was dropped (metrics label). */
export type Dropped = 'foreign' | 'too_many' | 'clock_jump'

/** A clock may grow by at most this much in one step: years of 90 Hz poses, far below what breaks float clocks. */
export const MAX_CLOCK_JUMP = 2 ** 32

interface Entry extends AwarenessEntry {
  /** Who may change it: the id set of the sender that claimed it (null once removed). */
  readonly owner: Set<number> | null
  readonly at: number
}

const DEFAULT_LIMITS: AwarenessLimits = { maxStateBytes: 32 * 1024, maxIdsPerOwner: 8, timeoutMs: 30_000 }
const utf8 = new TextDecoder('utf-8', { fatal: true })

export class AwarenessRelay {
  private readonly entries = new Map<number, Entry>()
  private readonly changed = new Map<number, AwarenessEntry>()
  /** The subset of `changed` made by this node's own clients (for the cluster bus). */
  private readonly changedLocal = new Map<number, AwarenessEntry>()
  private live = 0

  /** `trackLocal`: keep this node's own changes apart (cluster mode only; off, it costs nothing). */
  constructor(
    private readonly trackLocal = false,
    private readonly limits: AwarenessLimits = DEFAULT_LIMITS,
    private readonly onDrop: (why: Dropped) => void = () => {},
  ) {}

  /** Number of clients with a non-null state. */
  get size(): number {
    return this.live
  }

  get hasChanges(): boolean {
    return this.changed.size > 0
  }

  /**
   * Applies an awareness update from the sender whose ids are `owned` (a session's, or
   * another node's); throws AwarenessError (nothing applied) when it is not acceptable.
   * `owned` collects the ids this sender holds, so they can be removed when it leaves.
   * `admit` is asked once, before anything applies, when the message has any entry that is not
   * another sender's (an echo of others' states, as y-websocket 3.1 clients send, is checked,
   * dropped and costs no admission); false refuses the message with AwarenessOverRate.
   */
  apply(update: Uint8Array, owned: Set<number>, local = true, now = Date.now(), admit?: () => boolean): void {
    let list: AwarenessEntry[]
    try {
      // A session sends its own few states; a message of thousands is refused before it is read.
      list = decodeAwarenessUpdate(update, local ? Math.max(16, 4 * this.limits.maxIdsPerOwner) : Number.POSITIVE_INFINITY)
    } catch (err) {
      throw new AwarenessError(`awareness update refused: ${(err as Error).message}`)
    }
    // Checked whole before any of it applies (another node's entries were checked where its client sent them).
    if (local) for (const e of list) this.check(e)
    if (admit && list.some((e) => !this.isForeign(e.clientId, owned)) && !admit())
      throw new AwarenessOverRate("awareness of the sender's own clients over its rate")
    for (const entry of list) {
      const current = this.entries.get(entry.clientId)
      if (current?.owner && current.owner !== owned) {
        this.onDrop('foreign')
        continue
      }
      // Another node's ids are all its clients': bounded there, per session.
      if (local && entry.state !== null && !owned.has(entry.clientId) && owned.size >= this.limits.maxIdsPerOwner) {
        this.onDrop('too_many')
        continue
      }
      if (current && entry.clock - current.clock > MAX_CLOCK_JUMP) {
        this.onDrop('clock_jump')
        continue
      }
      const accept = current === undefined || current.clock < entry.clock || (current.clock === entry.clock && entry.state === null && current.state !== null)
      if (!accept) continue
      this.set(entry, current, local, owned, now)
    }
  }

  /** An id another sender holds (its entries from this sender are dropped). */
  private isForeign(clientId: number, owned: Set<number>): boolean {
    const owner = this.entries.get(clientId)?.owner
    return owner !== undefined && owner !== null && owner !== owned
  }

  /** The whole message's checks, before anything of it applies. */
  private check(e: AwarenessEntry): void {
    if (!Number.isSafeInteger(e.clientId) || !Number.isSafeInteger(e.clock))
      throw new AwarenessError(`client ${e.clientId}: clock ${e.clock} is not a safe integer`)
    if (e.state === null) return
    if (e.state.length > this.limits.maxStateBytes)
      throw new AwarenessError(`client ${e.clientId}: state of ${e.state.length} bytes (limit ${this.limits.maxStateBytes})`)
    try {
      JSON.parse(utf8.decode(e.state))
    } catch {
      throw new AwarenessError(`client ${e.clientId}: state is not JSON`)
    }
  }

  /** Marks these clients as gone (their sender disconnected, or their node went silent). */
  remove(clientIds: Iterable<number>, local = true, now = Date.now()): void {
    for (const clientId of [...clientIds]) {
      const current = this.entries.get(clientId)
      if (current?.state) this.set({ clientId, clock: current.clock + 1, state: null }, current, local, current.owner, now)
    }
  }

  /** Removes states not renewed within the timeout; returns how many. */
  expire(now = Date.now()): number {
    let expired = 0
    for (const e of this.entries.values()) {
      if (e.state === null || now - e.at < this.limits.timeoutMs) continue
      // Each node times out what it relays; only this node's own clients' removals go on the bus.
      const local = e.owner !== null && this.localOwners.has(e.owner)
      this.set({ clientId: e.clientId, clock: e.clock + 1, state: null }, e, local, e.owner, now)
      expired++
    }
    return expired
  }

  /** Owners that are this node's sessions (for expiry's bus flag). */
  private readonly localOwners = new WeakSet<Set<number>>()

  private set(entry: AwarenessEntry, current: Entry | undefined, local: boolean, owned: Set<number> | null, now: number): void {
    if (current?.state && !entry.state) this.live--
    else if (!current?.state && entry.state) this.live++
    if (entry.state) {
      owned?.add(entry.clientId)
      if (owned && local) this.localOwners.add(owned)
    } else owned?.delete(entry.clientId)
    this.entries.set(entry.clientId, { ...entry, owner: entry.state ? owned : null, at: now })
    this.changed.set(entry.clientId, entry)
    if (!this.trackLocal) return
    if (local) this.changedLocal.set(entry.clientId, entry)
    else this.changedLocal.delete(entry.clientId)
  }

  /** This node's own clients' changes since the last call (or null); call before takeChanges. */
  takeLocalChanges(): Uint8Array | null {
    if (this.changedLocal.size === 0) return null
    const update = encodeAwarenessUpdate(this.changedLocal.values())
    this.changedLocal.clear()
    return update
  }

  /** The coalesced changes since the last call, as one awareness update (or null). Removed entries are forgotten once taken. */
  takeChanges(): Uint8Array | null {
    return this.takeChangedEntries()?.update ?? null
  }

  /** takeChanges, with the entries it encoded (for the slower tiers, which coalesce them further). */
  takeChangedEntries(): { update: Uint8Array; entries: AwarenessEntry[] } | null {
    if (this.changed.size === 0) return null
    const entries = [...this.changed.values()]
    const update = encodeAwarenessUpdate(entries)
    for (const [id, e] of this.changed) if (e.state === null && this.entries.get(id)?.state === null) this.entries.delete(id)
    this.changed.clear()
    this.changedLocal.clear()
    return { update, entries }
  }

  /** Live states of these clients (or null when none is live). */
  encodeSome(clientIds: Iterable<number>): Uint8Array | null {
    const live: AwarenessEntry[] = []
    for (const id of clientIds) {
      const entry = this.entries.get(id)
      if (entry?.state) live.push(entry)
    }
    return live.length > 0 ? encodeAwarenessUpdate(live) : null
  }

  /** Every live state, for a joining client or a query-awareness (or null when empty). */
  encodeAll(): Uint8Array | null {
    if (this.live === 0) return null
    const live: AwarenessEntry[] = []
    for (const entry of this.entries.values()) if (entry.state) live.push(entry)
    return encodeAwarenessUpdate(live)
  }

  /** Entries kept (live and removed-not-yet-broadcast): bounded by what is live. */
  get kept(): number {
    return this.entries.size
  }
}
