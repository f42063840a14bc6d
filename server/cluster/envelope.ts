/**
 * What nodes say to each other on the Redis bus: one compact msgpack array per message,
 *   [version, origin node, kind, document, payload, sent-at ms, sequence, digest]
 * Every field is checked on the way in: the bus is shared infrastructure, and another
 * publisher writing garbage to a channel must cost us a log line, never a crash or a
 * corrupted document.
 */
import { decode, encode } from '@msgpack/msgpack'
import { AtriumError } from '../../shared/errors.ts'

export const ENVELOPE_VERSION = 1

export const BusKind = {
  /** A Yjs update accepted on the origin node (from its clients). */
  update: 0,
  /** Coalesced awareness changes of the origin node's clients. */
  awareness: 1,
  /** Anti-entropy: the origin's state vector (payload) and delete-set digest of a document. */
  state: 2,
  /** Anti-entropy reply to a `state`: the same, but it never triggers another reply. */
  stateReply: 3,
  /** Anti-entropy repair: what the receiver lacked (a Yjs update), sent to one node. */
  repair: 4,
  /** Liveness, on the cluster channel; `seq` is the origin's last update seq known durable. */
  heartbeat: 5,
  /** A token revocation (JSON payload), on the cluster channel: every node closes the matching sessions. */
  revoke: 6,
  /** A stateless message (Hocuspocus type 5 and its string) for the document's clients on every node. */
  stateless: 7,
} as const
export type BusKind = (typeof BusKind)[keyof typeof BusKind]

export interface Envelope {
  readonly origin: string
  readonly kind: BusKind
  /** Document name ('' for heartbeats and revocations). */
  readonly doc: string
  readonly payload: Uint8Array
  /** Origin's wall clock (ms, sub-ms precision) when it published: bus latency. */
  readonly sentAt: number
  /** Per-origin sequence of `update` messages (0 for other kinds). */
  readonly seq: number
  /** Delete-set digest for `state`/`stateReply` (0 otherwise). */
  readonly digest: number
}

export class EnvelopeError extends AtriumError {
  override readonly name = 'EnvelopeError'
}

const MAX_KIND = BusKind.stateless
const EMPTY = new Uint8Array(0)

export function encodeEnvelope(e: Envelope): Uint8Array {
  return encode([ENVELOPE_VERSION, e.origin, e.kind, e.doc, e.payload, e.sentAt, e.seq, e.digest])
}

/** Decodes and validates one bus message; throws EnvelopeError on anything unexpected. */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  let raw: unknown
  try {
    raw = decode(bytes)
  } catch (err) {
    throw new EnvelopeError(`not msgpack: ${(err as Error).message}`)
  }
  if (!Array.isArray(raw) || raw.length !== 8) throw new EnvelopeError('not an 8-element envelope')
  const [version, origin, kind, doc, payload, sentAt, seq, digest] = raw as unknown[]
  if (version !== ENVELOPE_VERSION) throw new EnvelopeError(`unsupported envelope version ${String(version)}`)
  if (typeof origin !== 'string' || origin.length === 0 || origin.length > 128) throw new EnvelopeError('bad origin')
  if (typeof kind !== 'number' || !Number.isInteger(kind) || kind < 0 || kind > MAX_KIND) throw new EnvelopeError(`bad kind ${String(kind)}`)
  if (typeof doc !== 'string' || doc.length > 1024) throw new EnvelopeError('bad document name')
  if (kind !== BusKind.heartbeat && kind !== BusKind.revoke && doc.length === 0) throw new EnvelopeError('missing document name')
  if (!(payload instanceof Uint8Array)) throw new EnvelopeError('payload is not binary')
  if (typeof sentAt !== 'number' || !Number.isFinite(sentAt)) throw new EnvelopeError('bad sent-at')
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw new EnvelopeError('bad sequence')
  if (typeof digest !== 'number' || !Number.isInteger(digest) || digest < 0 || digest > 0xffffffff) throw new EnvelopeError('bad digest')
  return { origin, kind: kind as BusKind, doc, payload: payload.length === 0 ? EMPTY : payload, sentAt, seq, digest }
}
