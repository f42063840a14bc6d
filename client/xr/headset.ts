/**
 * A simulated XR headset on a connected Site: walks its scripted path and streams head and
 * hands as presence at its rate, each pose stamped with its clock; places and moves spatial
 * anchors through the Site's validated writes; and measures what it sees of the others
 * (peers.ts). It keeps to what the server allows: it never sends awareness faster than the
 * server's default quota, and it knows the tier the server grants the rate it asked for
 * (the same rule the server applies, shared/protocol/awareness-tiers.ts).
 *
 * Pacing: the n-th pose goes out no earlier than start + n/rate; a headset that falls behind
 * (a busy event loop) drops frames instead of bursting to catch up, as a real one does.
 */
import type * as Y from 'yjs'
import { DEFAULT_MAX_AWARENESS_PER_S, grantedTier } from '../../shared/protocol/awareness-tiers.ts'
import { anchorsOf } from '../../shared/schema/document.ts'
import type { Anchor } from '../../shared/schema/domain.ts'
import { type Presence, wallClockMs } from '../sdk/presence.ts'
import { walkFrame, walkPath, type WalkPath } from './path.ts'
import { PeerPoses } from './peers.ts'
import { quatFromYawPitchRoll, RigidTransform, rotate, toPose } from './pose.ts'
import { INPUT_SOURCES, type ReferenceSpace, SimulatedFrame, siteSpace } from './space.ts'

/** What a headset needs of a Site (client/sdk/site.ts has all of it). */
export interface HeadsetSite {
  readonly doc: Y.Doc
  readonly presence: Presence
  setAnchor(id: string, anchor: Anchor): void
  /** An anchor as stored, if it is valid (a Site's sanitized view). */
  anchor(id: string): Readonly<Anchor> | null
  /** The tier the server grants this connection, when the site knows it (a Site does, from its token). */
  readonly awarenessTier?: number | null
}

export interface HeadsetOptions {
  /** This headset's id: its anchors are `<id>.a<n>` (letters, digits, _ . : -). */
  readonly id: string
  /** Shown to the others (default: the id). */
  readonly name?: string
  /** #rrggbb (default: one from the seed). */
  readonly color?: string
  /** Picks the path (and where it lies on the floor). */
  readonly seed: number
  /** Poses per second (60–90 for a headset); capped at `maxAwarenessPerS`. */
  readonly hz: number
  /** For a site that does not say its awarenessTier: the rate its connection asked for (`connectSite({ awarenessHz })`); none: full rate. */
  readonly awarenessHz?: number | null
  /** For a site that does not say its awarenessTier: the token's `awarenessHz` claim, when it has one. */
  readonly claimHz?: number | null
  /** The server's MAX_AWARENESS_PER_S (default: the server's default). */
  readonly maxAwarenessPerS?: number
  /** Where the walker's local-floor origin stands in the site (default: from the seed, within 20 m of the site origin). */
  readonly floorInSite?: RigidTransform
  readonly now?: () => number
}

export interface HeadsetStats {
  readonly posesSent: number
  readonly peersSeen: number
  readonly anchorsCreated: number
  /** Anchors in the document as this headset has it (its own included). */
  readonly anchorsSeen: number
}

export class Headset {
  /** The rate poses actually go out at. */
  readonly sendHz: number
  readonly path: WalkPath
  /** Site coordinates as a WebXR-style reference space. */
  readonly space: ReferenceSpace
  readonly peers: PeerPoses
  readonly name: string
  private readonly now: () => number
  private readonly intervalMs: number
  private readonly floorInSite: RigidTransform
  private startedAt = 0
  private due = 0
  private timer: ReturnType<typeof setTimeout> | undefined
  private sent = 0
  private stopped = false
  private readonly anchorIds: string[] = []

  constructor(
    private readonly site: HeadsetSite,
    private readonly o: HeadsetOptions,
  ) {
    if (!(o.hz > 0)) throw new RangeError(`hz: a positive rate, not ${o.hz}`)
    this.now = o.now ?? wallClockMs
    this.sendHz = Math.min(o.hz, o.maxAwarenessPerS ?? DEFAULT_MAX_AWARENESS_PER_S)
    this.intervalMs = 1000 / this.sendHz
    this.path = walkPath(o.seed)
    const spread = (o.seed * 7.31) % 20
    this.floorInSite = o.floorInSite ?? new RigidTransform({ x: spread, z: 20 - spread })
    this.space = siteSpace(this.floorInSite)
    this.peers = new PeerPoses(site.presence, this.now)
    this.name = o.name ?? o.id
  }

  /** The awareness tier the server grants this connection (null: full rate, every tick): how often this headset sees the others. */
  get grantedTier(): number | null {
    return this.site.awarenessTier !== undefined ? this.site.awarenessTier : grantedTier(this.o.awarenessHz ?? null, this.o.claimHz ?? null)
  }

  /** The simulated device's frame `tMs` after the walk began (WebXR-shaped: getViewerPose, getPose). */
  frame(tMs: number): SimulatedFrame {
    return new SimulatedFrame(tMs, walkFrame(this.path, tMs))
  }

  /** Shows the user and starts streaming poses. */
  start(): void {
    if (this.timer || this.stopped) return
    this.site.presence.setUser({ name: this.name, color: this.o.color ?? colorOf(this.o.seed) })
    this.startedAt = this.now()
    this.due = this.startedAt
    this.loop()
  }

  /** Sends the pose of this instant (start() calls it at the rate). */
  sendPose(): void {
    const at = this.now()
    const frame = this.frame(at - this.startedAt)
    const [left, right] = INPUT_SOURCES.map((s) => toPose(frame.getPose(s.gripSpace, this.space)!.transform))
    this.site.presence.setPose({ head: toPose(frame.getViewerPose(this.space).transform), left: left!, right: right! }, at)
    this.sent++
  }

  /** Places a new anchor on the floor a metre ahead of the head; returns its id. */
  createAnchor(label = `${this.name} marker`): string {
    const id = `${this.o.id}.a${this.anchorIds.length}`
    this.site.setAnchor(id, this.anchorAhead(label))
    this.anchorIds.push(id)
    return id
  }

  /** Moves one of this headset's anchors to a metre ahead of where the head is now. */
  moveAnchor(id: string): void {
    // Someone else may have overwritten it with anything: the Site's view keeps only valid anchors.
    this.site.setAnchor(id, this.anchorAhead(this.site.anchor(id)?.label ?? `${this.name} marker`))
  }

  get anchors(): readonly string[] {
    return this.anchorIds
  }

  stats(): HeadsetStats {
    return { posesSent: this.sent, peersSeen: this.peers.peersSeen, anchorsCreated: this.anchorIds.length, anchorsSeen: anchorsOf(this.site.doc).size }
  }

  /** Stops streaming and leaves XR (the user stays until the Site closes). */
  stop(): void {
    if (this.stopped) return
    this.stopped = true
    clearTimeout(this.timer)
    this.timer = undefined
    this.peers.close()
    this.site.presence.setPose(null)
  }

  private loop(): void {
    const now = this.now()
    if (now - this.due > this.intervalMs) this.due = now // fell behind: drop the missed frames
    this.timer = setTimeout(
      () => {
        this.sendPose()
        this.due += this.intervalMs
        this.loop()
      },
      Math.max(0, Math.ceil(this.due - now)),
    )
  }

  private anchorAhead(label: string): Anchor {
    const head = this.frame(this.now() - this.startedAt).getViewerPose(this.space).transform
    const f = rotate(head.orientation, { x: 0, y: 0, z: -1 })
    const yaw = Math.atan2(-f.x, -f.z)
    const at = new RigidTransform(
      { x: head.position.x - Math.sin(yaw), y: this.floorInSite.position.y, z: head.position.z - Math.cos(yaw) },
      quatFromYawPitchRoll(yaw, 0, 0),
    )
    return { pose: toPose(at), parentAnchorId: null, label, confidence: 0.9, updatedBy: this.name }
  }
}

function colorOf(seed: number): string {
  return `#${((Math.imul(seed + 1, 2654435761) >>> 8) & 0xffffff).toString(16).padStart(6, '0')}`
}
