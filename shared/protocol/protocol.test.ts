import { Awareness, encodeAwarenessUpdate as yEncodeAwareness, applyAwarenessUpdate } from 'y-protocols/awareness'
import * as syncProtocol from 'y-protocols/sync'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import { CloseCodes, describeCloseCode } from './close-codes.ts'
import { checkDocName, docNameFromPath } from './doc-name.ts'
import { decodeAwarenessUpdate, encodeAwarenessUpdate } from './awareness.ts'
import {
  ProtocolError,
  decodeMessage,
  encodeAwareness,
  encodeAuthDenied,
  encodeQueryAwareness,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeUpdate,
} from './messages.ts'

describe('message mirror pairs', () => {
  const doc = new Y.Doc()
  doc.getMap('m').set('k', 'v')
  const sv = Y.encodeStateVector(doc)
  const update = Y.encodeStateAsUpdate(doc)

  it('round-trips every message type', () => {
    expect(decodeMessage(encodeSyncStep1(sv))).toEqual({ type: 'sync-step1', stateVector: sv })
    expect(decodeMessage(encodeSyncStep2(update))).toEqual({ type: 'sync-step2', update })
    expect(decodeMessage(encodeUpdate(update))).toEqual({ type: 'update', update })
    expect(decodeMessage(encodeAwareness(Uint8Array.of(0)))).toEqual({ type: 'awareness', update: Uint8Array.of(0) })
    expect(decodeMessage(encodeQueryAwareness())).toEqual({ type: 'query-awareness' })
    expect(decodeMessage(encodeAuthDenied('no'))).toEqual({ type: 'auth', reason: 'no' })
  })

  it('is byte-compatible with y-protocols', () => {
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 0)
    syncProtocol.writeSyncStep1(e, doc)
    expect(encodeSyncStep1(sv)).toEqual(encoding.toUint8Array(e))
    const e2 = encoding.createEncoder()
    encoding.writeVarUint(e2, 0)
    syncProtocol.writeUpdate(e2, update)
    expect(encodeUpdate(update)).toEqual(encoding.toUint8Array(e2))
    // and y-protocols reads ours
    const d = decoding.createDecoder(encodeSyncStep2(update))
    decoding.readVarUint(d)
    const replica = new Y.Doc()
    syncProtocol.readSyncMessage(d, encoding.createEncoder(), replica, null)
    expect(replica.getMap('m').get('k')).toBe('v')
  })

  it('returns views, not copies, of the frame', () => {
    const frame = encodeUpdate(update)
    const msg = decodeMessage(frame) as { update: Uint8Array }
    expect(msg.update.buffer).toBe(frame.buffer)
  })

  it('rejects defects with a typed error', () => {
    const kinds = (f: Uint8Array) => {
      try {
        decodeMessage(f)
        return 'ok'
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError)
        return (err as ProtocolError).kind
      }
    }
    expect(kinds(new Uint8Array(0))).toBe('malformed')
    expect(kinds(encodeUpdate(update).subarray(0, 4))).toBe('malformed')
    expect(kinds(Uint8Array.from([...encodeQueryAwareness(), 1]))).toBe('malformed')
    expect(kinds(Uint8Array.of(9))).toBe('unknown-type')
    expect(kinds(Uint8Array.of(0, 5, 0))).toBe('unknown-type')
  })
})

describe('awareness codec', () => {
  it('reads y-protocols awareness updates and writes ones y-protocols applies', () => {
    const a = new Awareness(new Y.Doc())
    a.setLocalState({ user: 'Ada', pose: { p: [1, 2, 3] } })
    const entries = decodeAwarenessUpdate(yEncodeAwareness(a, [a.clientID]))
    expect(entries).toHaveLength(1)
    expect(entries[0]!.clientId).toBe(a.clientID)
    expect(JSON.parse(new TextDecoder().decode(entries[0]!.state!))).toEqual({ user: 'Ada', pose: { p: [1, 2, 3] } })

    const b = new Awareness(new Y.Doc())
    applyAwarenessUpdate(b, encodeAwarenessUpdate(entries), 'test')
    expect(b.getStates().get(a.clientID)).toEqual({ user: 'Ada', pose: { p: [1, 2, 3] } })
    applyAwarenessUpdate(b, encodeAwarenessUpdate([{ clientId: a.clientID, clock: entries[0]!.clock + 1, state: null }]), 'test')
    expect(b.getStates().has(a.clientID)).toBe(false)
  })

  it('recognises null states and rejects garbage', () => {
    const aw = new Awareness(new Y.Doc())
    aw.setLocalState(null)
    expect(decodeAwarenessUpdate(yEncodeAwareness(aw, [aw.clientID]))[0]!.state).toBeNull()
    expect(() => decodeAwarenessUpdate(Uint8Array.of(1, 5))).toThrow()
    expect(() => decodeAwarenessUpdate(Uint8Array.of(200, 200, 200, 1))).toThrow(/claims/)
    expect(() => decodeAwarenessUpdate(Uint8Array.of(0, 0))).toThrow(/trailing/)
  })
})

describe('document names', () => {
  it('accepts names with slashes and decodes paths', () => {
    expect(checkDocName('site/hq-tower')).toEqual({ ok: true, name: 'site/hq-tower' })
    expect(docNameFromPath('/site%2Fhq-tower')).toEqual({ ok: true, name: 'site/hq-tower' })
    expect(docNameFromPath('/site/hq-tower')).toEqual({ ok: true, name: 'site/hq-tower' })
  })
  it.each(['', 'a//b', '/lead', 'trail/', 'a/../b', 'sp ace', 'x'.repeat(256), 'tab\t'])('refuses %j', (name) => {
    expect(checkDocName(name).ok).toBe(false)
  })
  it('reports a bad percent-escape as invalid rather than throwing', () => {
    expect(docNameFromPath('/%E0%A4%A')).toMatchObject({ ok: false })
  })
})

describe('close codes', () => {
  it('are unique, within the allowed ranges, and looked up by number', () => {
    const all = Object.values(CloseCodes)
    expect(new Set(all.map((c) => c.code)).size).toBe(all.length)
    for (const c of all) {
      expect(c.code === 1000 || c.code === 1001 || c.code === 1011 || (c.code >= 4000 && c.code <= 4999)).toBe(true)
      expect(describeCloseCode(c.code)).toBe(c)
    }
  })
})

describe('close codes and an unchanged y-websocket client', () => {
  // The provider's own decision (y-websocket 3.1+: it gives up on 4400–4499), not a copy of the rule.
  const p = new WebsocketProvider('ws://127.0.0.1:1', 'x', new Y.Doc(), { connect: false, WebSocketPolyfill: WebSocket as never, disableBc: true })
  it.each(
    Object.values(CloseCodes)
      .filter((c) => c.code >= 4000)
      .map((c) => [c.code, c.name, c.retry] as const),
  )('%i (%s): reconnects = %s', (code, _, retry) => {
    expect(p.shouldReconnect({ code } as CloseEvent, p)).toBe(retry)
  })
})
