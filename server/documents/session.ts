/**
 * A session: one document on one socket. A y-websocket socket carries exactly one; a socket of
 * the Hocuspocus framing will carry many. Documents, their fan-out, the writer and the awareness
 * relay deal in sessions only; how a session's messages reach its client (which socket, which
 * framing) is its link's business (server/transport).
 *
 * Rules:
 * - Rights are decided once, at the edge (the upgrade, or an auth message), before the session
 *   exists; after that the hot path reads a boolean here, never a token.
 * - What a client may spend on a document is counted on its session, never on its socket: one
 *   socket's sessions must not share, or exhaust, each other's quotas.
 * - A session is subscribed to its document's topic (updates) and to one awareness topic (its
 *   rate tier); a socket has at most one session per document: so publishing an update from the
 *   session's socket skips exactly this session. Awareness goes to everyone, sender included.
 */
import type { Refusal } from '../admission/admission.ts'
import { OPEN_IDENTITY, type Identity } from '../auth/claims.ts'
import type { SharedDoc } from './shared-doc.ts'

/**
 * What a session may do to its document, each checked where its messages would take effect
 * (SharedDoc). Reading is what a session is: a client refused reading gets no session.
 */
export interface Rights {
  /** Its updates are applied (false: read-only, its updates are ignored). */
  readonly write: boolean
  /** Its awareness states are relayed (false: it sees others' presence, shows none). */
  readonly awareness: boolean
}

/** Every right: what each y-websocket session has until access control decides otherwise. */
export const FULL_RIGHTS: Rights = Object.freeze({ write: true, awareness: true })

/** How a session's messages reach its client: the framing on its socket (server/transport). */
export interface SessionLink {
  /** The client can no longer be reached (its socket closed). */
  readonly closed: boolean
  send(message: Uint8Array): void
  /** Sends messages in order as the socket drains (a large first sync). */
  sendSequence(messages: Uint8Array[]): void
  /** Subscribes to a document topic (the link maps it to its framing's wire topic). */
  subscribe(topic: string): void
  unsubscribe(topic: string): void
  /** Its framing: Hocuspocus (frames carry the document name) or y-websocket (they do not); the publisher frames fan-out for each. */
  readonly hocuspocus: boolean
  /** Sends an already framed message to a wire topic's other subscribers, from this session's socket: everyone but this session. */
  publish(wireTopic: string, frame: Uint8Array): void
  /** A refusal decided after the turn that received the update: the session is closed with its code. */
  refuse(refusal: Refusal): void
  /** Takes one awareness message of the client's own presence from its rate; false when spent. */
  takeAwareness(): boolean
}

export class Session {
  /** The document it joined (set by `SharedDoc.join`, cleared by `leave`). */
  doc: SharedDoc | null = null
  /** The topic of its document's fan-out it is subscribed to, or null. */
  topic: string | null = null
  /** Awareness client ids this session controls (bounded by the relay's `maxIdsPerOwner`). */
  readonly awarenessIds = new Set<number>()
  /** New client ids its updates added so far (bounded by the writer's `maxSessionNewClients`). */
  newClients = 0
  /** The awareness rate it asked for (documents/awareness-tiers.ts), or null: every tick. Set before it joins. */
  awarenessTier: number | null = null
  /** The awareness topic it is subscribed to, or null. */
  awarenessTopic: string | null = null

  /** Asked by the awareness relay before a message that changes this session's own presence applies. */
  readonly admitAwareness = (): boolean => this.link.takeAwareness()

  constructor(
    readonly docName: string,
    readonly rights: Rights,
    readonly link: SessionLink,
    /** Who opened it (its token's subject, id and expiry): for expiry and revocation. */
    readonly identity: Identity = OPEN_IDENTITY,
  ) {}

  get closed(): boolean {
    return this.link.closed
  }

  send(message: Uint8Array): void {
    this.link.send(message)
  }

  sendSequence(messages: Uint8Array[]): void {
    this.link.sendSequence(messages)
  }

  refuse(refusal: Refusal): void {
    this.link.refuse(refusal)
  }

  /** Subscribes to `topic` (its document's fan-out), leaving the one it had. */
  subscribe(topic: string): void {
    if (this.topic === topic) return
    this.unsubscribe()
    this.link.subscribe(topic)
    this.topic = topic
  }

  /** Leaves its topics; a closed socket has left every topic already. */
  unsubscribe(): void {
    if (this.awarenessTopic !== null && !this.link.closed) this.link.unsubscribe(this.awarenessTopic)
    this.awarenessTopic = null
    if (this.topic === null) return
    if (!this.link.closed) this.link.unsubscribe(this.topic)
    this.topic = null
  }

  /** Subscribes to its document's awareness at its tier (one topic, besides the document's). */
  subscribeAwareness(topic: string): void {
    if (this.awarenessTopic === topic) return
    if (this.awarenessTopic !== null && !this.link.closed) this.link.unsubscribe(this.awarenessTopic)
    this.link.subscribe(topic)
    this.awarenessTopic = topic
  }
}
