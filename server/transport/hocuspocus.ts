/**
 * The transport side of one document on a Hocuspocus socket (many per socket): every frame it
 * sends carries the document name in front, its fan-out arrives on the Hocuspocus wire topics
 * (publisher.ts), and it can end alone — the socket and its other documents go on.
 *
 * What one session may spend is counted on it (awareness and stateless messages here, waiting
 * updates and new client ids in the writer); messages and bytes per second are the socket's
 * (one client's network), in ws-server.ts.
 */
import type { Refusal } from '../admission/admission.ts'
import type { Identity } from '../auth/claims.ts'
import { Session, type Rights, type SessionLink } from '../documents/session.ts'
import type { ConnectionRates } from '../limits/token-bucket.ts'
import { encodeHocuspocusKey, frameWithKey } from '../../shared/protocol/hocuspocus.ts'
import type { CloseCode } from '../../shared/protocol/close-codes.ts'
import type { Connection } from './connection.ts'
import { QueuedMessages, type RunnerLink } from './session-runner.ts'
import { hocuspocusTopic } from './publisher.ts'

/**
 * Hocuspocus frames of shared messages, by message. A message belongs to one document, and every
 * Hocuspocus session of a document has the same routing key (its name), so one copy serves all.
 */
const keyed = new WeakMap<Uint8Array, Uint8Array>()

/** The socket a link belongs to (hocuspocus-socket.ts): it decides how a session ends. */
export interface HpLinkOwner {
  refused(link: HpLink, refusal: Refusal): void
  end(link: HpLink, code: CloseCode, detail: string): void
  left(link: HpLink): void
}

export class HpLink extends QueuedMessages implements SessionLink, RunnerLink {
  readonly session: Session
  readonly hocuspocus = true
  /** The routing key's varString, in front of every frame it sends. */
  private readonly prefix: Uint8Array
  /** The session ended while the socket stays open (closed by the client, or refused). */
  ended = false
  /** What to undo when the session ends (its expiry timer): run once, alone or with the socket. */
  private endHooks: (() => void)[] = []

  constructor(
    readonly conn: Connection,
    /** The routing key its frames carry: the document name. */
    readonly key: string,
    rights: Rights,
    identity: Identity,
    /** Its own awareness and stateless budget. */
    private readonly rates: ConnectionRates | null,
    private readonly owner: HpLinkOwner,
  ) {
    super()
    this.prefix = encodeHocuspocusKey(key)
    this.session = new Session(key, rights, this, identity)
    conn.sessions.set(key, this.session)
  }

  get closed(): boolean {
    return this.ended || this.conn.closed
  }

  /** A y-websocket-layout message, framed with the document name. */
  send(message: Uint8Array): void {
    if (!this.ended) this.conn.send(frameWithKey(this.prefix, message))
  }

  /** A frame that carries its routing key already (auth, close, sync status). */
  sendFrame(frame: Uint8Array): void {
    if (!this.ended) this.conn.send(frame)
  }

  /** The messages are shared by every joiner of the document (shared-doc.ts): so are their framed copies. */
  sendSequence(messages: Uint8Array[]): void {
    if (this.ended) return
    this.conn.sendSequence(
      messages.map((m) => {
        let framed = keyed.get(m)
        if (!framed) keyed.set(m, (framed = frameWithKey(this.prefix, m)))
        return framed
      }),
      this,
    )
  }

  subscribe(topic: string): void {
    this.conn.ws?.subscribe(hocuspocusTopic(topic))
  }

  unsubscribe(topic: string): void {
    this.conn.ws?.unsubscribe(hocuspocusTopic(topic))
  }

  publish(wireTopic: string, frame: Uint8Array): void {
    this.conn.ws?.publish(wireTopic, frame, true)
  }

  refuse(refusal: Refusal): void {
    this.owner.refused(this, refusal)
  }

  /** Ends the session with `code`: alone, or with its socket when the code says retry (hocuspocus-socket.ts). */
  end(code: CloseCode, detail: string): void {
    this.owner.end(this, code, detail)
  }

  onEnd(hook: () => void): void {
    this.endHooks.push(hook)
  }

  /** The session ended (alone, or with its socket): runs and forgets what `onEnd` registered. */
  finished(): void {
    for (const hook of this.endHooks) hook()
    this.endHooks = []
  }

  /** The client closed the document. */
  leave(): void {
    this.owner.left(this)
  }

  takeAwareness(): boolean {
    return this.rates?.takeAwareness() ?? true
  }
}
