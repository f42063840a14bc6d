/**
 * Per-document awareness without JSON: states are kept as the bytes clients sent, with
 * y-protocols' clock rule deciding which entry wins. Changes are coalesced until the
 * owner takes them (once per tick), so a burst of XR poses becomes one message per tick.
 */
import { decodeAwarenessUpdate, encodeAwarenessUpdate, type AwarenessEntry } from '../../shared/protocol/awareness.ts'

export class AwarenessRelay {
  private readonly entries = new Map<number, AwarenessEntry>()
  private readonly changed = new Map<number, AwarenessEntry>()
  /** The subset of `changed` made by this node's own clients (for the cluster bus). */
  private readonly changedLocal = new Map<number, AwarenessEntry>()

  /** `trackLocal`: keep this node's own changes apart (cluster mode only; off, it costs nothing). */
  constructor(private readonly trackLocal = false) {}
  private live = 0

  /** Number of clients with a non-null state. */
  get size(): number {
    return this.live
  }

  get hasChanges(): boolean {
    return this.changed.size > 0
  }

  /**
   * Applies an awareness update; throws when it cannot be decoded. `owned` collects the
   * client ids this sender now controls (added on a state, removed on null), so they can
   * be removed when the sender disconnects.
   */
  apply(update: Uint8Array, owned: Set<number>, local = true): void {
    for (const entry of decodeAwarenessUpdate(update)) {
      const current = this.entries.get(entry.clientId)
      const accept =
        current === undefined ||
        current.clock < entry.clock ||
        (current.clock === entry.clock && entry.state === null && current.state !== null)
      if (!accept) continue
      this.set(entry, current, local)
      if (entry.state === null) owned.delete(entry.clientId)
      else owned.add(entry.clientId)
    }
  }

  /** Marks these clients as gone (their sender disconnected). */
  remove(clientIds: Iterable<number>, local = true): void {
    for (const clientId of clientIds) {
      const current = this.entries.get(clientId)
      if (current?.state) this.set({ clientId, clock: current.clock + 1, state: null }, current, local)
    }
  }

  private set(entry: AwarenessEntry, current: AwarenessEntry | undefined, local: boolean): void {
    if (current?.state && !entry.state) this.live--
    else if (!current?.state && entry.state) this.live++
    this.entries.set(entry.clientId, entry)
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

  /** The coalesced changes since the last call, as one awareness update (or null). */
  takeChanges(): Uint8Array | null {
    if (this.changed.size === 0) return null
    const update = encodeAwarenessUpdate(this.changed.values())
    this.changed.clear()
    this.changedLocal.clear()
    return update
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
}
