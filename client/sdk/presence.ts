/**
 * Presence over a y-protocols Awareness: what this client shows the others (user, selection,
 * cursor, XR poses) and what it sees of them, in the layout of shared/schema/presence.ts.
 * Each setter validates first (a SchemaError, nothing sent) and writes only its own field,
 * so a headset's 90 Hz pose stream never rewrites the user or the selection. Everything read
 * from others is sanitized: the server relays their states verbatim. Browser-safe.
 */
import type { Awareness } from 'y-protocols/awareness'
import { describeIssue } from '../../shared/schema/domain.ts'
import { SchemaError } from '../../shared/schema/document.ts'
import {
  type Pose,
  PRESENCE_FIELDS,
  type PresenceCursor,
  type PresenceField,
  type PresenceState,
  type PresenceUser,
  sanitizePresence,
} from '../../shared/schema/presence.ts'

/** Another client's presence, sanitized. */
export interface Peer extends PresenceState {
  readonly clientId: number
}

/** Which other clients changed, by awareness client id. */
export interface PresenceChange {
  readonly added: readonly number[]
  readonly updated: readonly number[]
  readonly removed: readonly number[]
}

export interface XrPoses {
  head: Pose
  left?: Pose | null
  right?: Pose | null
}

/** The sender clock of pose timestamps: wall-clock ms with sub-ms precision (same epoch in every process). */
export const wallClockMs = () => performance.timeOrigin + performance.now()

type ChangeEvent = { added: number[]; updated: number[]; removed: number[] }

export class Presence {
  constructor(
    readonly awareness: Awareness,
    private readonly now: () => number = wallClockMs,
  ) {}

  get clientId(): number {
    return this.awareness.clientID
  }

  setUser(user: PresenceUser): void {
    this.write('user', user)
  }

  setSelection(ids: readonly string[]): void {
    this.write('selection', [...ids])
  }

  setCursor(cursor: PresenceCursor): void {
    this.write('cursor', cursor)
  }

  /** Head and hands (null or missing: not tracked), stamped with this client's clock; `null` leaves XR. */
  setPose(poses: XrPoses | null, t = this.now()): void {
    this.write('xr', poses && { head: poses.head, left: poses.left ?? null, right: poses.right ?? null, t, space: 'local-floor' })
  }

  /** Every other client's presence (this one left out). */
  others(): Peer[] {
    const out: Peer[] = []
    for (const [clientId, state] of this.awareness.getStates()) if (clientId !== this.clientId) out.push({ clientId, ...sanitizePresence(state) })
    return out
  }

  /** One other client's presence, or null when it has none. */
  peer(clientId: number): Peer | null {
    const state = this.awareness.getStates().get(clientId)
    return state === undefined ? null : { clientId, ...sanitizePresence(state) }
  }

  /** Calls `listener` when other clients' presence changes (not for this client's own writes); returns an unsubscribe function. */
  onChange(listener: (change: PresenceChange) => void): () => void {
    const self = this.clientId
    const handler = ({ added, updated, removed }: ChangeEvent) => {
      const change = { added: added.filter((id) => id !== self), updated: updated.filter((id) => id !== self), removed: removed.filter((id) => id !== self) }
      if (change.added.length + change.updated.length + change.removed.length > 0) listener(change)
    }
    this.awareness.on('change', handler)
    return () => this.awareness.off('change', handler)
  }

  private write(field: PresenceField, value: unknown): void {
    const r = PRESENCE_FIELDS[field].safeParse(value)
    if (!r.success) throw new SchemaError(`presence ${field}: ${describeIssue(r.error)}`)
    this.awareness.setLocalStateField(field, r.data)
  }
}
