/**
 * The Hocuspocus framing (as @hocuspocus/provider 3.x and 4.x speak it): every frame starts
 * with a routing key as a varString — the document name, or with a 4.x provider's
 * `sessionAwareness` the name, a NUL and a session id — followed by a message whose types
 * 0 (sync), 1 (awareness) and 3 (query-awareness) are laid out exactly as in y-websocket.
 * Hocuspocus adds 2 = auth (0 token, 1 permission denied, 2 authenticated), 4 = sync reply
 * (a sync message that asks for no step 1 back), 5 = stateless, 6 = broadcast stateless,
 * 7 = close, 8 = sync status (varUint 1: an update was applied; 0: refused). A 4.x provider
 * also answers a bare one-byte ping (9) with a bare pong (10), without a routing key.
 *
 * Pure encode/decode mirror pairs, as in messages.ts: no I/O, safe in the browser.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { AtriumError } from '../errors.ts'

export const HocuspocusType = {
  Sync: 0,
  Awareness: 1,
  Auth: 2,
  QueryAwareness: 3,
  SyncReply: 4,
  Stateless: 5,
  BroadcastStateless: 6,
  Close: 7,
  SyncStatus: 8,
  Ping: 9,
  Pong: 10,
} as const
export const HocuspocusAuth = { Token: 0, PermissionDenied: 1, Authenticated: 2 } as const
/** The scopes an Authenticated message names (the provider's `authorizedScope`). */
export type HocuspocusScope = 'read-write' | 'readonly'

/** The separator of a 4.x provider's routing key (`sessionAwareness: true`): `name\0sessionId`. */
const ROUTING_SEPARATOR = '\u0000'

/** The document a routing key names: the part before a NUL (4.x session-aware providers), or all of it. */
export function documentOfKey(key: string): string {
  const at = key.indexOf(ROUTING_SEPARATOR)
  return at === -1 ? key : key.slice(0, at)
}

/** A frame that cannot be read: its routing key or type is truncated or garbled. */
export class HocuspocusFrameError extends AtriumError {
  override readonly name = 'HocuspocusFrameError'
}

export interface HocuspocusFrame {
  /** The routing key as sent (replies carry it back unchanged). */
  readonly key: string
  readonly type: number
  /** From the type on: for types 0, 1 and 3 a y-websocket message as it is (a view, no copy). */
  readonly message: Uint8Array
  /** After the type (a view). */
  readonly body: Uint8Array
}

/** Reads a frame's routing key and type; throws HocuspocusFrameError when either is unreadable. */
export function decodeHocuspocusFrame(frame: Uint8Array): HocuspocusFrame {
  try {
    const decoder = decoding.createDecoder(frame)
    const key = decoding.readVarString(decoder)
    const start = decoder.pos
    const type = decoding.readVarUint(decoder)
    return { key, type, message: frame.subarray(start), body: frame.subarray(decoder.pos) }
  } catch (err) {
    throw new HocuspocusFrameError(`unreadable Hocuspocus frame: ${(err as Error).message}`)
  }
}

/** A bare pong (a 4.x provider's answer to a ping): one byte, no routing key. */
export function isHocuspocusPong(frame: Uint8Array): boolean {
  return frame.length === 1 && frame[0] === HocuspocusType.Pong
}

/** The varString of a routing key: what every frame of that key starts with (cached by callers that send many). */
export function encodeHocuspocusKey(key: string): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, key)
  return encoding.toUint8Array(encoder)
}

/** A y-websocket-layout message with its routing key in front (one copy). */
export function frameWithKey(prefix: Uint8Array, message: Uint8Array): Uint8Array {
  const out = new Uint8Array(prefix.length + message.length)
  out.set(prefix, 0)
  out.set(message, prefix.length)
  return out
}

/** Prefixes a y-websocket-layout message with the routing key. */
export function encodeHocuspocusFrame(key: string, message: Uint8Array): Uint8Array {
  return frameWithKey(encodeHocuspocusKey(key), message)
}

function withKey(key: string, write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, key)
  write(encoder)
  return encoding.toUint8Array(encoder)
}

/** Client → server: the token for one document. */
export function encodeHocuspocusAuth(key: string, token: string): Uint8Array {
  return withKey(key, (e) => {
    encoding.writeVarUint(e, HocuspocusType.Auth)
    encoding.writeVarUint(e, HocuspocusAuth.Token)
    encoding.writeVarString(e, token)
  })
}

export function encodeAuthenticated(key: string, scope: HocuspocusScope): Uint8Array {
  return withKey(key, (e) => {
    encoding.writeVarUint(e, HocuspocusType.Auth)
    encoding.writeVarUint(e, HocuspocusAuth.Authenticated)
    encoding.writeVarString(e, scope)
  })
}

/** The provider hands `reason` to `onAuthenticationFailed`. */
export function encodePermissionDenied(key: string, reason: string): Uint8Array {
  return withKey(key, (e) => {
    encoding.writeVarUint(e, HocuspocusType.Auth)
    encoding.writeVarUint(e, HocuspocusAuth.PermissionDenied)
    encoding.writeVarString(e, reason)
  })
}

/** Server → client: one document of the socket ends (the provider's onClose gets code 1000 and `reason`). */
export function encodeHocuspocusClose(key: string, reason: string): Uint8Array {
  return withKey(key, (e) => {
    encoding.writeVarUint(e, HocuspocusType.Close)
    encoding.writeVarString(e, reason)
  })
}

/** Whether an update was applied (acknowledged) or refused; the provider counts `unsyncedChanges` down on 1. */
export function encodeSyncStatus(key: string, applied: boolean): Uint8Array {
  return withKey(key, (e) => {
    encoding.writeVarUint(e, HocuspocusType.SyncStatus)
    encoding.writeVarUint(e, applied ? 1 : 0)
  })
}

/** The message of a stateless payload (type 5 and the string), without a routing key: fanned out to many keys' sessions. */
export function encodeStatelessMessage(payload: string): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, HocuspocusType.Stateless)
  encoding.writeVarString(encoder, payload)
  return encoding.toUint8Array(encoder)
}

export function encodeHocuspocusStateless(key: string, payload: string, broadcast = false): Uint8Array {
  return withKey(key, (e) => {
    encoding.writeVarUint(e, broadcast ? HocuspocusType.BroadcastStateless : HocuspocusType.Stateless)
    encoding.writeVarString(e, payload)
  })
}

/** The token of an auth message's body; throws HocuspocusFrameError when it is not a token message. */
export function decodeAuthToken(body: Uint8Array): string {
  try {
    const decoder = decoding.createDecoder(body)
    const kind = decoding.readVarUint(decoder)
    if (kind !== HocuspocusAuth.Token) throw new Error(`auth message of kind ${kind}; a client sends only tokens (0)`)
    return decoding.readVarString(decoder)
  } catch (err) {
    throw new HocuspocusFrameError(`unreadable auth message: ${(err as Error).message}`)
  }
}

/** The payload of a stateless (or broadcast stateless) message's body. */
export function decodeStatelessPayload(body: Uint8Array): string {
  try {
    return decoding.readVarString(decoding.createDecoder(body))
  } catch (err) {
    throw new HocuspocusFrameError(`unreadable stateless message: ${(err as Error).message}`)
  }
}

/** The close reason of a server's close message body ('' when it carries none, as a client's does). */
export function decodeCloseReason(body: Uint8Array): string {
  if (body.length === 0) return ''
  try {
    return decoding.readVarString(decoding.createDecoder(body))
  } catch (err) {
    throw new HocuspocusFrameError(`unreadable close message: ${(err as Error).message}`)
  }
}

/** The flag of a sync status body (1 applied, 0 refused). */
export function decodeSyncStatus(body: Uint8Array): boolean {
  try {
    return decoding.readVarUint(decoding.createDecoder(body)) === 1
  } catch (err) {
    throw new HocuspocusFrameError(`unreadable sync status: ${(err as Error).message}`)
  }
}
