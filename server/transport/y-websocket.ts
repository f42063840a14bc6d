/**
 * The y-websocket framing: the upgrade's path names the socket's one document, and a frame is a
 * y-protocol message as it is, both ways. So a frame's session is the socket's only one, and
 * ending the session ends the socket (the protocol cannot close one document alone).
 *
 * A `YwsLink` is the transport's side of that session: what its client receives goes through
 * it, and what its client sent waits in it (for the document to load, or for a later turn of
 * the event loop). Those waits are bounded per session, like everything a client may spend.
 */
import type { Refusal } from '../admission/admission.ts'
import type { Identity } from '../auth/claims.ts'
import { Session, type Rights, type SessionLink } from '../documents/session.ts'
import type { CloseCode } from '../../shared/protocol/close-codes.ts'
import type { Connection } from './connection.ts'
import { QueuedMessages, type RunnerLink } from './session-runner.ts'

export class YwsLink extends QueuedMessages implements SessionLink, RunnerLink {
  readonly session: Session

  constructor(
    readonly conn: Connection,
    docName: string,
    rights: Rights,
    identity: Identity,
    private readonly onRefused: (link: YwsLink, refusal: Refusal) => void,
  ) {
    super()
    this.session = new Session(docName, rights, this, identity)
    conn.sessions.set(docName, this.session)
  }

  get closed(): boolean {
    return this.conn.closed
  }

  send(message: Uint8Array): void {
    this.conn.send(message)
  }

  sendSequence(messages: Uint8Array[]): void {
    this.conn.sendSequence(messages, this)
  }

  subscribe(topic: string): void {
    this.conn.ws?.subscribe(topic)
  }

  unsubscribe(topic: string): void {
    this.conn.ws?.unsubscribe(topic)
  }

  readonly hocuspocus = false

  /** uWS's publish from a socket skips that socket: here, exactly this session. */
  publish(wireTopic: string, frame: Uint8Array): void {
    this.conn.ws?.publish(wireTopic, frame, true)
  }

  /** The session ends with its socket. */
  onEnd(hook: () => void): void {
    this.conn.onEnd(hook)
  }

  /** Ends the session: with this framing, its socket. */
  end(code: CloseCode, detail: string): void {
    this.conn.close(code, detail)
  }

  refuse(refusal: Refusal): void {
    this.onRefused(this, refusal)
  }

  takeAwareness(): boolean {
    return this.conn.rates?.takeAwareness() ?? true
  }
}
