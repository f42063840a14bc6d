import { encode } from '@msgpack/msgpack'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { BusKind, decodeEnvelope, encodeEnvelope, EnvelopeError, ENVELOPE_VERSION, type Envelope } from './envelope.ts'

const sample: Envelope = {
  origin: 'node-a',
  kind: BusKind.update,
  doc: 'site/demo',
  payload: Uint8Array.of(1, 2, 3),
  sentAt: 1234.5,
  seq: 7,
  digest: 0xdeadbeef,
}

describe('bus envelope', () => {
  it('round-trips every field, compactly', () => {
    const bytes = encodeEnvelope(sample)
    expect(decodeEnvelope(bytes)).toEqual(sample)
    // version, origin, kind, name, 3 payload bytes, a float64 and two ints: well under 64 bytes.
    expect(bytes.length).toBeLessThan(64)
  })

  it.each([
    ['not msgpack', Uint8Array.of(0xc1)],
    ['not an array', encode({ v: 1 })],
    ['a short array', encode([ENVELOPE_VERSION, 'a', 0])],
    ['another version', encode([99, 'a', 0, 'd', new Uint8Array(0), 0, 0, 0])],
    ['an empty origin', encode([ENVELOPE_VERSION, '', 0, 'd', new Uint8Array(0), 0, 0, 0])],
    ['an unknown kind', encode([ENVELOPE_VERSION, 'a', 42, 'd', new Uint8Array(0), 0, 0, 0])],
    ['a text payload', encode([ENVELOPE_VERSION, 'a', 0, 'd', 'text', 0, 0, 0])],
    ['no document for an update', encode([ENVELOPE_VERSION, 'a', 0, '', new Uint8Array(0), 0, 0, 0])],
    ['a negative sequence', encode([ENVELOPE_VERSION, 'a', 0, 'd', new Uint8Array(0), 0, -1, 0])],
    ['a digest above 32 bits', encode([ENVELOPE_VERSION, 'a', 2, 'd', new Uint8Array(0), 0, 0, 2 ** 33])],
  ])('rejects %s with an EnvelopeError', (_what, bytes) => {
    expect(() => decodeEnvelope(bytes)).toThrow(EnvelopeError)
  })

  it('heartbeats need no document', () => {
    const hb = { ...sample, kind: BusKind.heartbeat, doc: '', payload: new Uint8Array(0) }
    expect(decodeEnvelope(encodeEnvelope(hb)).kind).toBe(BusKind.heartbeat)
  })
})

describe('delete-set digest input', () => {
  // Anti-entropy digests the update Yjs encodes from a full state vector (no structs, all
  // deletes). Replicas that hold the same deletes, received in different orders and split
  // differently, must produce the same bytes, or nodes would repair each other forever.
  it('is identical on replicas that received the same changes in different orders', () => {
    const a = new Y.Doc()
    const b = new Y.Doc()
    const writers = [1, 2, 3].map((id) => {
      const d = new Y.Doc()
      d.clientID = id
      return d
    })
    const updates: Uint8Array[] = []
    writers.forEach((w, i) => {
      w.on('update', (u: Uint8Array) => updates.push(u))
      const t = w.getText('t')
      t.insert(0, `writer ${i} wrote this line`)
      t.delete(2, 5)
      w.getMap('m').set('k', i)
      w.getMap('m').delete('k')
    })
    for (const u of updates) Y.applyUpdate(a, u)
    for (const u of [...updates].reverse()) Y.applyUpdate(b, u)
    const digestInput = (d: Y.Doc) => Buffer.from(Y.encodeStateAsUpdate(d, Y.encodeStateVector(d))).toString('hex')
    expect(digestInput(a)).toBe(digestInput(b))
    // And a missing delete shows.
    const c = new Y.Doc()
    for (const u of updates.slice(0, -1)) Y.applyUpdate(c, u)
    expect(Buffer.from(Y.encodeStateVector(c)).toString('hex')).toBe(Buffer.from(Y.encodeStateVector(a)).toString('hex'))
    expect(digestInput(c)).not.toBe(digestInput(a))
  })
})
