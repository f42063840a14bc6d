/**
 * The Hocuspocus framing (as @hocuspocus/provider speaks it): every frame starts with the
 * document name as a varString, followed by a message whose types 0 (sync), 1 (awareness)
 * and 3 (query-awareness) are laid out exactly as in y-websocket. Hocuspocus adds
 * 2 = auth (0 token, 1 permission denied, 2 authenticated), 4 = sync reply, 5/6 = stateless,
 * 7 = close, 8 = sync status.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'

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
} as const
export const HocuspocusAuth = { Token: 0, PermissionDenied: 1, Authenticated: 2 } as const

/** Prefixes a y-websocket-layout message with the document name. */
export function encodeHocuspocusFrame(docName: string, message: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, docName)
  encoding.writeUint8Array(encoder, message)
  return encoding.toUint8Array(encoder)
}

export function encodeHocuspocusAuth(docName: string, token: string): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, docName)
  encoding.writeVarUint(encoder, HocuspocusType.Auth)
  encoding.writeVarUint(encoder, HocuspocusAuth.Token)
  encoding.writeVarString(encoder, token)
  return encoding.toUint8Array(encoder)
}

/** Splits a frame into its document name and the message that follows (a view, no copy). */
export function decodeHocuspocusFrame(frame: Uint8Array): { docName: string; type: number; message: Uint8Array } {
  const decoder = decoding.createDecoder(frame)
  const docName = decoding.readVarString(decoder)
  const message = frame.subarray(decoder.pos)
  const type = decoding.readVarUint(decoder)
  return { docName, type, message }
}
