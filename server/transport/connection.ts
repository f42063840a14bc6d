/**
 * Per-socket state (uWS user data). A socket carries one document with the y-websocket
 * framing; the session map is shaped for the Hocuspocus framing later, where one socket
 * multiplexes several documents.
 */
import Denque from 'denque'
import type { WebSocket } from 'uWebSockets.js'
import type { CloseCode } from '../../shared/protocol/close-codes.ts'
import type { Refusal } from '../admission/admission.ts'
import type { Peer, SharedDoc } from '../documents/shared-doc.ts'
import type { Backlogged } from './frame-turns.ts'

/** A sequence's next frame goes out once the socket buffers less than this. */
export const SEQUENCE_PACE_BYTES = 1024 * 1024

export class Connection implements Peer, Backlogged {
  ws: WebSocket<{ conn: Connection }> | null = null
  doc: SharedDoc | null = null
  /** Frames received while the document loads; null once it is served. */
  queue: Uint8Array[] | null = []
  queueBytes = 0
  readonly awarenessIds = new Set<number>()
  /** New client ids this connection's updates added (bounded per connection). */
  newClients = 0
  /** Frames waiting for a later turn of the event loop (transport/frame-turns.ts). */
  readonly backlog = new Denque<Uint8Array>()
  backlogBytes = 0
  turn = 0
  turnMs = 0
  closed = false

  constructor(
    readonly id: number,
    readonly docName: string,
    /** Why the name was refused at upgrade, if it was. */
    readonly nameError: string | null,
    readonly remote: string,
    private readonly onSent: (bytes: number) => void,
    private readonly onRefused: (conn: Connection, refusal: Refusal) => void,
  ) {}

  /** An update of this connection was refused after the turn that received it. */
  refuse(refusal: Refusal): void {
    this.onRefused(this, refusal)
  }

  send(frame: Uint8Array): void {
    if (this.closed || !this.ws) return
    this.ws.send(frame, true)
    this.onSent(frame.length)
  }

  /** Bytes uWS buffers for this socket, not yet taken by the client. */
  get buffered(): number {
    return this.closed || !this.ws ? 0 : this.ws.getBufferedAmount()
  }

  /** Frames waiting to be sent as the socket drains (a large first sync in chunks). */
  private sequence: Uint8Array[] = []

  sendSequence(frames: Uint8Array[]): void {
    this.sequence.push(...frames)
    this.pump()
  }

  /** Sends what waits in `sequence` while the socket has room (called again on drain). */
  pump(): void {
    while (this.sequence.length > 0 && !this.closed && this.ws && this.ws.getBufferedAmount() < SEQUENCE_PACE_BYTES) this.send(this.sequence.shift()!)
    if (this.closed) this.sequence = []
  }

  /** Closes with a catalogued code; safe to call more than once. */
  close(code: CloseCode, detail?: string): void {
    if (this.closed || !this.ws) return
    this.closed = true
    const reason = detail ? truncateUtf8(`${code.reason}: ${detail}`, 123) : code.reason
    this.ws.end(code.code, reason)
  }
}

function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = new TextEncoder().encode(text)
  if (bytes.length <= maxBytes) return text
  return new TextDecoder().decode(bytes.subarray(0, maxBytes)).replace(/\uFFFD$/, '')
}
