import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { readObject, readObjects, SchemaError } from '../../shared/schema/document.ts'
import type { BuildingObject, Human } from '../../shared/schema/domain.ts'
import { generateSite } from '../../shared/schema/generate.ts'
import { BatchMisuse, batch, writerFor, type Writer } from './batch.ts'

const ORIGIN = Symbol('this client')
const REMOTE = Symbol('remote')

/** Two synced replicas, with the updates replica `a` emits (and their origins). */
function pair() {
  const [a, b] = [new Y.Doc(), new Y.Doc()]
  const sent: { update: Uint8Array; origin: unknown }[] = []
  a.on('update', (update: Uint8Array, origin: unknown) => {
    if (origin === REMOTE) return
    sent.push({ update, origin })
    Y.applyUpdate(b, update, REMOTE)
  })
  b.on('update', (u: Uint8Array, origin: unknown) => origin !== REMOTE && Y.applyUpdate(a, u, REMOTE))
  return { a, b, sent }
}

const building: BuildingObject = { type: 'building', parentId: null, name: 'HQ' }
const floor = (parentId: string): BuildingObject => ({ type: 'floor', parentId, name: 'L1', level: 1, elevation: 0 })
const zone = (parentId: string, name = 'East'): BuildingObject => ({ type: 'zone', parentId, name })
const ada: Human = { name: 'Ada', expression: { preset: 'neutral', intensity: 0 }, gaze: null, speaking: false, animation: null }

const content = (doc: Y.Doc) => Object.fromEntries(['objects', 'anchors', 'humans'].map((name) => [name, doc.getMap(name).toJSON()]))

/** Runs `fill` as a batch that must be refused: nothing applied, nothing sent, the state vector unchanged. */
function expectRefused(doc: Y.Doc, sent: unknown[], fill: (w: Writer) => void, message: RegExp) {
  const before = Y.encodeStateVector(doc)
  const json = content(doc)
  const updates = sent.length
  expect(() => batch(doc, ORIGIN, fill)).toThrow(SchemaError)
  expect(() => batch(doc, ORIGIN, fill)).toThrow(message)
  expect(sent.length - updates).toBe(0)
  expect(Y.encodeStateVector(doc)).toEqual(before)
  expect(content(doc)).toEqual(json)
}

describe('batch', () => {
  it('applies a valid batch as exactly one update, tagged with its origin, on both replicas', () => {
    const { a, b, sent } = pair()
    batch(a, ORIGIN, (w) => {
      w.createObject('b', building)
      w.createObject('f', floor('b'))
      w.setAnchor('a1', { pose: { p: [0, 0, 0], q: [0, 0, 0, 1] }, parentAnchorId: null, label: 'door', confidence: 1, updatedBy: 'me' })
      w.createHuman('h1', ada)
    })
    expect(sent).toHaveLength(1)
    expect(sent[0]!.origin).toBe(ORIGIN)
    expect(content(b)).toEqual(content(a))
    expect(readObject(b, 'f')).toEqual(floor('b'))
    expect(batch(a, ORIGIN, () => 42)).toBe(42) // an empty batch sends nothing
    expect(sent).toHaveLength(1)
  })

  it('applies nothing when any write is invalid, wherever it is in the batch', () => {
    const { a, sent } = pair()
    generateSite(a, { objects: 200, anchors: 3, humans: 1 })
    const cases: [(w: Writer) => void, RegExp][] = [
      [
        (w) => {
          w.createObject('z9', zone('f0'))
          w.createObject('bad id', zone('f0'))
        },
        /object id/,
      ],
      [
        (w) => {
          w.createObject('z9', zone('f0'))
          w.createObject('z9', zone('f0'))
        },
        /exists already/,
      ],
      [
        (w) => {
          w.updateObject('f0', { name: 'x' })
          w.updateObject('f0', { type: 'zone' })
        },
        /type cannot change/,
      ],
      [
        (w) => {
          w.updateObject('f0', { name: 'x' })
          w.updateObject('f0', { discipline: 'hvac' })
        },
        /has no field "discipline"/,
      ],
      [
        (w) => {
          w.moveObject('f0-z00', 'f0')
          w.moveObject('f0', 'has space')
        },
        /parentId/,
      ],
      [
        (w) => {
          w.deleteObject('f0')
          w.updateObject('f0-z00', { name: 'gone' })
        },
        /no object f0-z00/,
      ],
      [
        (w) => {
          w.updateObject('f0', { name: 'x' })
          w.updateObject('nope', { name: 'x' })
        },
        /no object nope/,
      ],
      [
        (w) => {
          w.deleteAnchor('a0')
          w.setAnchor('a9', { label: 'x' } as never)
        },
        /anchor a9/,
      ],
      [
        (w) => {
          w.appendTranscript('h0', 'hi')
          w.updateHuman('h0', { speaking: 'yes' } as never)
        },
        /human h0.speaking/,
      ],
      [
        (w) => {
          w.appendTranscript('h0', 'hi')
          w.updateHuman('h0', { toString: 1 } as never)
        },
        /no field "toString"/,
      ],
      [
        (w) => {
          w.createHuman('h9', ada)
          w.appendTranscript('h8', 'hi')
        },
        /no transcript for human h8/,
      ],
    ]
    for (const [fill, message] of cases) expectRefused(a, sent, fill, message)
  })

  it('checks each write against the ones before it in the same batch', () => {
    const { a, b, sent } = pair()
    const deleted = batch(a, ORIGIN, (w) => {
      w.createObject('b', building)
      w.updateObject('b', { address: '1 Main St' }) // create A then update A
      w.createObject('f', floor('b'))
      w.createObject('g', floor('b'))
      w.createObject('z', zone('g'))
      w.moveObject('z', 'f') // create B then move it under A
      w.createObject('doomed', zone('g'))
      const n = w.deleteObject('g') // cascades over what this batch put under it
      w.createObject('g', floor('b')) // delete then recreate
      w.createHuman('h', ada)
      w.updateHuman('h', { speaking: true })
      w.appendTranscript('h', 'Hello')
      w.appendTranscript('h', ' world')
      return n
    })
    expect(deleted).toBe(2)
    expect(sent).toHaveLength(1)
    expect([...readObjects(b).keys()].sort()).toEqual(['b', 'f', 'g', 'z'])
    expect(readObject(b, 'b')!.address).toBe('1 Main St')
    expect(readObject(b, 'z')!.parentId).toBe('f')
    const h = b.getMap<Y.Map<unknown>>('humans').get('h')!
    expect([h.get('speaking'), h.get('transcript')!.toString()]).toEqual([true, 'Hello world'])
    // A cascade sees moves made earlier in the batch: z has left f for g, so deleting f leaves it.
    expect(
      batch(a, ORIGIN, (w) => {
        w.moveObject('z', 'g')
        return w.deleteObject('f')
      }),
    ).toBe(1)
    expect([...readObjects(b).keys()].sort()).toEqual(['b', 'g', 'z'])
    expect(batch(a, ORIGIN, (w) => w.deleteObject('nope'))).toBe(0)
    expect(sent).toHaveLength(2)
  })

  it('copies what it validated, so changing an argument afterwards changes nothing', () => {
    const doc = new Y.Doc()
    const object = { ...zone('f'), bbox: [0, 0, 0, 1, 1, 1] }
    batch(doc, ORIGIN, (w) => {
      w.createObject('z', object)
      object.bbox[3] = -5 // would fail the schema, had it been checked now
    })
    expect(readObject(doc, 'z')!.bbox).toEqual([0, 0, 0, 1, 1, 1])
  })

  it('applies nothing of a batch whose callback wrote to the document another way', () => {
    const doc = new Y.Doc()
    const single = writerFor(doc, ORIGIN)
    single.createObject('b', building)
    single.createObject('f', { type: 'floor', parentId: 'b', name: 'F', level: 0, elevation: 0 })
    expect(() =>
      batch(doc, ORIGIN, (w) => {
        w.createObject('f2', { type: 'floor', parentId: 'b', name: 'F2', level: 1, elevation: 4 })
        w.updateObject('f', { name: 'renamed' }) // checked against f as it was
        single.deleteObject('b') // not through w: f is gone, and the checked update would fail half-way
      }),
    ).toThrow(/outside the batch writer/)
    expect(readObject(doc, 'f2')).toBeNull()
    expect(readObject(doc, 'b')).toBeNull()
  })

  it('refuses a writer used after its batch, and an async callback', async () => {
    const doc = new Y.Doc()
    let kept: Writer | undefined
    batch(doc, ORIGIN, (w) => {
      kept = w
    })
    expect(() => kept!.createObject('b', building)).toThrow(BatchMisuse)
    const updates: Uint8Array[] = []
    doc.on('update', (u: Uint8Array) => updates.push(u))
    expect(() =>
      batch(doc, ORIGIN, async (w) => {
        w.createObject('b', building)
      }),
    ).toThrow(/synchronous/)
    expect(updates).toHaveLength(0)
  })
})

describe('writerFor', () => {
  it('makes every write a validated batch of one, tagged with the origin', () => {
    const { a, b, sent } = pair()
    const w = writerFor(a, ORIGIN)
    w.createObject('b', building)
    w.createObject('f', floor('b'))
    w.moveObject('f', 'b')
    expect(() => w.updateObject('f', { level: 1.5 })).toThrow(SchemaError)
    expect(w.deleteObject('b')).toBe(2)
    expect(sent.map((s) => s.origin)).toEqual([ORIGIN, ORIGIN, ORIGIN, ORIGIN])
    expect(readObjects(b).size).toBe(0)
  })
})
