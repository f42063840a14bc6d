/** The Hocuspocus framing's encoders and decoders are mirror pairs, and garbled frames are refused, never half-read. */
import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import {
  decodeAuthToken,
  decodeCloseReason,
  decodeHocuspocusFrame,
  decodeStatelessPayload,
  decodeSyncStatus,
  documentOfKey,
  encodeAuthenticated,
  encodeHocuspocusAuth,
  encodeHocuspocusClose,
  encodeHocuspocusFrame,
  encodeHocuspocusStateless,
  encodePermissionDenied,
  encodeStatelessMessage,
  encodeSyncStatus,
  HocuspocusAuth,
  HocuspocusFrameError,
  HocuspocusType,
  isHocuspocusPong,
} from './hocuspocus.ts'
import { encodeSyncStep1 } from './messages.ts'

describe('the Hocuspocus framing', () => {
  it('puts the document name in front of a y-websocket message and takes it off again (a view, no copy)', () => {
    const message = encodeSyncStep1(Uint8Array.of(0))
    const frame = encodeHocuspocusFrame('site/é', message)
    const f = decodeHocuspocusFrame(frame)
    expect([f.key, f.type, [...f.message]]).toEqual(['site/é', HocuspocusType.Sync, [...message]])
    expect(f.message.buffer).toBe(frame.buffer)
    expect([...f.body]).toEqual([...message.subarray(1)])
  })

  it('round-trips auth, close, sync status and stateless messages', () => {
    const token = decodeHocuspocusFrame(encodeHocuspocusAuth('d', 'tok'))
    expect([token.type, decodeAuthToken(token.body)]).toEqual([HocuspocusType.Auth, 'tok'])
    const close = decodeHocuspocusFrame(encodeHocuspocusClose('d', '4422 schema'))
    expect([close.type, decodeCloseReason(close.body)]).toEqual([HocuspocusType.Close, '4422 schema'])
    expect(decodeCloseReason(new Uint8Array(0))).toBe('')
    for (const applied of [true, false]) expect(decodeSyncStatus(decodeHocuspocusFrame(encodeSyncStatus('d', applied)).body)).toBe(applied)
    const stateless = decodeHocuspocusFrame(encodeHocuspocusStateless('d', '{"a":1}'))
    expect([stateless.type, decodeStatelessPayload(stateless.body)]).toEqual([HocuspocusType.Stateless, '{"a":1}'])
    expect(decodeHocuspocusFrame(encodeHocuspocusStateless('d', 'x', true)).type).toBe(HocuspocusType.BroadcastStateless)
    expect([...encodeStatelessMessage('x')]).toEqual([...decodeHocuspocusFrame(encodeHocuspocusStateless('d', 'x')).message])
  })

  it('writes authenticated and permission denied as @hocuspocus/common reads them', () => {
    const ok = decodeHocuspocusFrame(encodeAuthenticated('d', 'readonly'))
    expect([...ok.body]).toEqual([HocuspocusAuth.Authenticated, 8, ...new TextEncoder().encode('readonly')])
    const denied = decodeHocuspocusFrame(encodePermissionDenied('d', 'no'))
    expect([...denied.body]).toEqual([HocuspocusAuth.PermissionDenied, 2, 110, 111])
  })

  it('refuses truncated names and types, and auth messages that carry no token', () => {
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 50) // a name of 50 bytes, of which 1 follows
    encoding.writeUint8(e, 65)
    expect(() => decodeHocuspocusFrame(encoding.toUint8Array(e))).toThrow(HocuspocusFrameError)
    expect(() => decodeHocuspocusFrame(Uint8Array.of(1, 65))).toThrow(HocuspocusFrameError) // no type
    expect(() => decodeAuthToken(Uint8Array.of(HocuspocusAuth.Authenticated, 0))).toThrow(HocuspocusFrameError)
    expect(() => decodeStatelessPayload(Uint8Array.of(9))).toThrow(HocuspocusFrameError)
  })

  it('reads routing keys and pongs', () => {
    expect(documentOfKey('site/a')).toBe('site/a')
    expect(documentOfKey('site/a\u0000abc')).toBe('site/a')
    expect(isHocuspocusPong(Uint8Array.of(HocuspocusType.Pong))).toBe(true)
    expect(isHocuspocusPong(Uint8Array.of(HocuspocusType.Pong, 0))).toBe(false)
  })
})
