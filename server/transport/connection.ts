/**
 * One client socket (uWS user data holds it): sends bytes, paces long sequences by what the
 * socket has buffered, closes with a catalogued code. It owns the sessions it carries (one per
 * document: exactly one with the y-websocket framing) but knows nothing of documents or framing:
 * what a frame means is the framing's business (transport/y-websocket.ts).
 */
import type { WebSocket } from 'uWebSockets.js'
import type { CloseCode } from '../../shared/protocol/close-codes.ts'
import type { Session } from '../documents/session.ts'
import type { ConnectionRates } from '../limits/token-bucket.ts'
import type { SequenceGate } from './sequence-gate.ts'

/** A sequence's next frame goes out once the socket buffers less than this. */
export const SEQUENCE_PACE_BYTES = 1024 * 1024

export class Connection {
  ws: WebSocket<unknown> | null = null
  closed = false
  /**
   * The sessions it carries, by document name. At most one per document: a publish from this
   * socket skips exactly that session. Closing the socket ends them all.
   */
  readonly sessions = new Map<string, Session>()
  /** What to undo when the socket ends (timers of its sessions). */
  private endHooks: (() => void)[] = []
  /** Frames waiting to be sent as the socket drains (a large first sync in chunks), with the session each belongs to. */
  private sequence: { readonly frame: Uint8Array; readonly owner: unknown }[] = []

  constructor(
    readonly id: number,
    readonly remote: string,
    /** The URL it was upgraded at (logged when it carries no session). */
    readonly path: string,
    private readonly onSent: (bytes: number) => void,
    /** What it may send per second (server/limits/token-bucket.ts). */
    readonly rates: ConnectionRates | null = null,
    /** The node-wide bound on what sequences keep buffered (sequence-gate.ts). */
    private readonly gate: SequenceGate | null = null,
  ) {}

  onEnd(hook: () => void): void {
    this.endHooks.push(hook)
  }

  /** The socket has closed: runs and forgets what `onEnd` registered. */
  ended(): void {
    this.sequence = []
    this.gate?.done(this)
    for (const hook of this.endHooks) hook()
    this.endHooks = []
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

  /**
   * Sends `frames` in order as the socket drains. A sequence is one whole answer (a large first
   * sync): a newer one for the same session replaces what is left of the older, so a client that
   * asks again and again without reading holds one answer queued, not one per request.
   */
  sendSequence(frames: Uint8Array[], owner: unknown = null): void {
    this.dropSequence(owner)
    for (const frame of frames) this.sequence.push({ frame, owner })
    this.pump()
  }

  /** Forgets what is queued for `owner` (a session that ended while its socket goes on). */
  dropSequence(owner: unknown): void {
    if (this.sequence.some((e) => e.owner === owner)) this.sequence = this.sequence.filter((e) => e.owner !== owner)
  }

  /** Sends what waits in `sequence` while the socket, and the node's gate, have room (called again on drain, or by the gate). */
  pump(): void {
    // Only a socket with a sequence, or one still draining it, takes part in the gate (a drain of fan-out bytes alone does not).
    const gate = this.gate && (this.sequence.length > 0 || this.gate.holds(this)) ? this.gate : null
    gate?.update(this)
    while (this.sequence.length > 0 && !this.closed && this.ws && this.ws.getBufferedAmount() < SEQUENCE_PACE_BYTES) {
      if (gate && !gate.mayBuffer()) return gate.wait(this)
      this.send(this.sequence.shift()!.frame)
      gate?.update(this)
    }
    // A finished sequence keeps its share until the socket drains it (drain calls pump, which reads it again).
    if (this.closed) {
      this.sequence = []
      this.gate?.done(this)
    }
  }

  /** Its documents, for logs: the names of its sessions, or the path it asked for when it has none. */
  get docs(): string {
    if (this.sessions.size === 0) return this.path
    let names = ''
    for (const name of this.sessions.keys()) names += names ? ` ${name}` : name
    return names
  }

  /** Closes with a catalogued code; safe to call more than once. */
  close(code: CloseCode, detail?: string): void {
    if (this.closed || !this.ws) return
    this.closed = true
    this.sequence = []
    this.gate?.done(this)
    const reason = detail ? truncateUtf8(`${code.reason}: ${detail}`, 123) : code.reason
    this.ws.end(code.code, reason)
  }
}

function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = new TextEncoder().encode(text)
  if (bytes.length <= maxBytes) return text
  return new TextDecoder().decode(bytes.subarray(0, maxBytes)).replace(/\uFFFD$/, '')
}
