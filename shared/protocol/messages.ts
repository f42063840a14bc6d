/**
 * The y-websocket wire protocol (y-protocols sync + awareness), as pure encode/decode
 * mirror pairs. No I/O, no Yjs document access: safe in the browser and on the hot path.
 *
 * Frame layout: varUint messageType, then
 *   sync (0):            varUint syncType (0 step1 | 1 step2 | 2 update), varUint8Array payload
 *   awareness (1):       varUint8Array awareness update
 *   auth (2):            varUint authType (0 permission denied), varString reason
 *   query-awareness (3): nothing
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { AtriumError } from '../errors.ts'

export const MessageType = { Sync: 0, Awareness: 1, Auth: 2, QueryAwareness: 3 } as const
export const SyncType = { Step1: 0, Step2: 1, Update: 2 } as const

export type Message =
  | { type: 'sync-step1'; stateVector: Uint8Array }
  | { type: 'sync-step2'; update: Uint8Array }
  | { type: 'update'; update: Uint8Array }
  | { type: 'awareness'; update: Uint8Array }
  | { type: 'auth'; reason: string }
  | { type: 'query-awareness' }

/** Why a frame could not be decoded; maps 1:1 to a close code. */
export class ProtocolError extends AtriumError {
  override readonly name = 'ProtocolError'
  constructor(
    readonly kind: 'malformed' | 'unknown-type',
    message: string,
  ) {
    super(message)
  }
}

/**
 * Decodes one frame. Payloads are views into `frame` (no copy): the caller owns `frame`
 * and must not reuse it while the views are alive. Throws ProtocolError on any defect,
 * including trailing bytes, so a garbled frame is never half-understood.
 */
export function decodeMessage(frame: Uint8Array): Message {
  const decoder = decoding.createDecoder(frame)
  try {
    const msg = readMessage(decoder)
    if (decoding.hasContent(decoder)) throw new ProtocolError('malformed', 'trailing bytes after message')
    return msg
  } catch (err) {
    if (err instanceof ProtocolError) throw err
    throw new ProtocolError('malformed', `truncated or garbled frame: ${(err as Error).message}`)
  }
}

function readMessage(decoder: decoding.Decoder): Message {
  const type = decoding.readVarUint(decoder)
  switch (type) {
    case MessageType.Sync: {
      const syncType = decoding.readVarUint(decoder)
      const payload = decoding.readVarUint8Array(decoder)
      if (syncType === SyncType.Step1) return { type: 'sync-step1', stateVector: payload }
      if (syncType === SyncType.Step2) return { type: 'sync-step2', update: payload }
      if (syncType === SyncType.Update) return { type: 'update', update: payload }
      throw new ProtocolError('unknown-type', `unknown sync message type ${syncType}`)
    }
    case MessageType.Awareness:
      return { type: 'awareness', update: decoding.readVarUint8Array(decoder) }
    case MessageType.Auth: {
      decoding.readVarUint(decoder)
      return { type: 'auth', reason: decoding.readVarString(decoder) }
    }
    case MessageType.QueryAwareness:
      return { type: 'query-awareness' }
    default:
      throw new ProtocolError('unknown-type', `unknown message type ${type}`)
  }
}

function syncFrame(syncType: number, payload: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MessageType.Sync)
  encoding.writeVarUint(encoder, syncType)
  encoding.writeVarUint8Array(encoder, payload)
  return encoding.toUint8Array(encoder)
}

export const encodeSyncStep1 = (stateVector: Uint8Array): Uint8Array => syncFrame(SyncType.Step1, stateVector)
export const encodeSyncStep2 = (update: Uint8Array): Uint8Array => syncFrame(SyncType.Step2, update)
export const encodeUpdate = (update: Uint8Array): Uint8Array => syncFrame(SyncType.Update, update)

export function encodeAwareness(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MessageType.Awareness)
  encoding.writeVarUint8Array(encoder, update)
  return encoding.toUint8Array(encoder)
}

export function encodeQueryAwareness(): Uint8Array {
  return Uint8Array.of(MessageType.QueryAwareness)
}

export function encodeAuthDenied(reason: string): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MessageType.Auth)
  encoding.writeVarUint(encoder, 0)
  encoding.writeVarString(encoder, reason)
  return encoding.toUint8Array(encoder)
}
