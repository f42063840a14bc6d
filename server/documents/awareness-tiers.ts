/**
 * Awareness at a lower rate for the subscribers that ask for it (browser viewers beside XR
 * headsets at 90 Hz): one uWS topic per document and tier; every interval a tier sends only
 * the newest state of each client that changed in it (a departure included), so 200 viewers
 * at 10 Hz do not pay for 50 headsets at 90 Hz. Full-rate sessions get every coalesced tick
 * as before. Document updates are never thinned: they travel on the document's own topic.
 * Which tier a session gets is shared/protocol/awareness-tiers.ts (the client computes it too).
 */
import { encodeAwarenessUpdate, type AwarenessEntry } from '../../shared/protocol/awareness.ts'
import { encodeAwareness } from '../../shared/protocol/messages.ts'

/** The topic of a document's awareness at `tier` (null: full rate). */
export const awarenessTopic = (doc: string, tier: number | null) => (tier === null ? `aw|${doc}` : `aw${tier}|${doc}`)

/** The document of a topic: its update topic is its name, its awareness topics are `aw…|name` (names never hold `|`: shared/protocol/doc-name.ts). */
export const documentOfTopic = (topic: string) => topic.slice(topic.indexOf('|') + 1)

interface Tier {
  readonly pending: Map<number, AwarenessEntry>
  subscribers: number
  readonly timer: NodeJS.Timeout
}

export class AwarenessTiers {
  private readonly tiers = new Map<number, Tier>()

  constructor(
    private readonly doc: string,
    private readonly publish: (topic: string, message: Uint8Array) => void,
  ) {}

  /** A subscriber of `tier` joined: its interval runs while it has any. */
  join(tier: number): void {
    let t = this.tiers.get(tier)
    if (!t) {
      const timer = setInterval(() => this.flush(tier), 1000 / tier)
      timer.unref()
      this.tiers.set(tier, (t = { pending: new Map(), subscribers: 0, timer }))
    }
    t.subscribers++
  }

  leave(tier: number): void {
    const t = this.tiers.get(tier)
    if (!t || --t.subscribers > 0) return
    clearInterval(t.timer)
    this.tiers.delete(tier)
  }

  /** A tick's coalesced changes: kept, newest per client, until each tier's next interval. */
  changed(entries: readonly AwarenessEntry[]): void {
    for (const t of this.tiers.values()) for (const e of entries) t.pending.set(e.clientId, e)
  }

  private flush(tier: number): void {
    const t = this.tiers.get(tier)
    if (!t || t.pending.size === 0) return
    const update = encodeAwarenessUpdate(t.pending.values())
    t.pending.clear()
    this.publish(awarenessTopic(this.doc, tier), encodeAwareness(update))
  }

  destroy(): void {
    for (const t of this.tiers.values()) clearInterval(t.timer)
    this.tiers.clear()
  }
}
