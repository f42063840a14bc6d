import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { Anchor, BuildingObject, Human, OBJECT_TYPES, type BuildingObject as Obj } from './domain.ts'
import {
  appendTranscript,
  createHuman,
  createObject,
  deleteObject,
  moveObject,
  readObject,
  readObjects,
  SchemaError,
  setAnchor,
  updateHuman,
  updateObject,
} from './document.ts'
import { pathTo, resolveHierarchy } from './hierarchy.ts'

const box = [0, 0, 0, 1, 1, 3]
const VALID: Record<(typeof OBJECT_TYPES)[number], Obj> = {
  building: { type: 'building', parentId: null, name: 'HQ', address: '1 Main St' },
  floor: { type: 'floor', parentId: 'b', name: 'Level 1', level: 1, elevation: 3.5 },
  zone: { type: 'zone', parentId: 'f', name: 'East wing', bbox: box },
  system: { type: 'system', parentId: 'z', name: 'AHU-1 supply', discipline: 'hvac' },
  component: { type: 'component', parentId: 's', name: 'VAV box 12', kind: 'vav', bbox: box },
  connection: { type: 'connection', parentId: 's', name: 'duct 7', from: 'c1', to: 'c2' },
  space: { type: 'space', parentId: 'f', name: 'Room 101', bbox: box, use: 'office', area: 24 },
}
const INVALID: [string, unknown, RegExp][] = [
  ['unknown type', { type: 'elevator', parentId: null, name: 'x' }, /type/],
  ['building under a parent', { ...VALID.building, parentId: 'x' }, /top level/],
  ['floor without level', { type: 'floor', parentId: 'b', name: 'L', elevation: 0 }, /needs level/],
  ['floor with fractional level', { ...VALID.floor, level: 1.5 }, /level/],
  ['zone with an inverted box', { ...VALID.zone, bbox: [1, 0, 0, 0, 1, 1] }, /min ≤ max/],
  ['system with an unknown discipline', { ...VALID.system, discipline: 'magic' }, /discipline/],
  ['component without bbox', { type: 'component', parentId: 's', name: 'c', kind: 'vav' }, /needs bbox/],
  ['component with a NaN in its box', { ...VALID.component, bbox: [0, 0, 0, Number.NaN, 1, 1] }, /bbox/],
  ['connection without to', { type: 'connection', parentId: 's', name: 'd', from: 'c1' }, /needs to/],
  ['space with negative area', { ...VALID.space, area: -1 }, /area/],
  ['a reading without a unit', { ...VALID.component, reading: { value: 21.5, at: 0 } }, /reading/],
  ['a reading that is not finite', { ...VALID.component, reading: { value: Number.POSITIVE_INFINITY, unit: 'C', at: 0 } }, /reading/],
  ['a reading on a zone', { ...VALID.zone, reading: { value: 1, unit: 'C', at: 0 } }, /has no field .*reading/],
  ['a field the type does not have', { ...VALID.zone, discipline: 'hvac' }, /has no field .*discipline/],
  ['an empty name', { ...VALID.zone, name: '' }, /name/],
  ['a bad parent id', { ...VALID.zone, parentId: 'has space' }, /parentId/],
]

describe('object schemas', () => {
  it.each(OBJECT_TYPES.map((t) => [t]))('accepts a valid %s', (type) => {
    expect(BuildingObject.safeParse(VALID[type]).success).toBe(true)
  })
  it('accepts a component with a sensor reading', () => {
    expect(BuildingObject.safeParse({ ...VALID.component, reading: { value: 21.5, unit: '°C', at: 1_700_000_000_000 } }).success).toBe(true)
  })
  it.each(INVALID)('refuses %s', (_label, value, message) => {
    const r = BuildingObject.safeParse(value)
    expect(r.success).toBe(false)
    expect(JSON.stringify(r.error!.issues)).toMatch(message)
  })
})

describe('anchor and human schemas', () => {
  const anchor = { pose: { p: [1, 1.6, 0], q: [0, 0, 0, 1] }, parentAnchorId: null, label: 'desk', confidence: 0.9, updatedBy: 'headset-1' }
  it('accepts a valid anchor and refuses bad ones', () => {
    expect(Anchor.safeParse(anchor).success).toBe(true)
    expect(Anchor.safeParse({ ...anchor, confidence: 1.5 }).success).toBe(false)
    expect(Anchor.safeParse({ ...anchor, pose: { p: [0, 0, 0], q: [0, 0, 0, 2] } }).success).toBe(false)
    expect(Anchor.safeParse({ ...anchor, extra: 1 }).success).toBe(false)
  })
  it('accepts a valid human and refuses bad ones', () => {
    const human = {
      name: 'Ada',
      expression: { preset: 'happy', intensity: 0.5 },
      gaze: { target: [0, 1.6, 2] },
      speaking: false,
      animation: { clip: 'idle', time: 0, loop: true },
    }
    expect(Human.safeParse(human).success).toBe(true)
    expect(Human.safeParse({ ...human, expression: { preset: 'smug', intensity: 0.5 } }).success).toBe(false)
    expect(Human.safeParse({ ...human, speaking: 'yes' }).success).toBe(false)
  })
})

describe('document helpers', () => {
  function site(): Y.Doc {
    const doc = new Y.Doc()
    createObject(doc, 'b', VALID.building)
    createObject(doc, 'f', VALID.floor)
    createObject(doc, 'z', VALID.zone)
    createObject(doc, 's', VALID.system)
    createObject(doc, 'c1', VALID.component)
    return doc
  }

  it('creates, updates, moves and deletes objects, validating every write', () => {
    const doc = site()
    expect(readObject(doc, 'c1')).toEqual(VALID.component)
    updateObject(doc, 'c1', { name: 'VAV 12b' })
    expect(readObject(doc, 'c1')!.name).toBe('VAV 12b')
    expect(() => updateObject(doc, 'c1', { bbox: [1, 1, 1, 0, 0, 0] })).toThrow(SchemaError)
    expect(() => updateObject(doc, 'c1', { type: 'zone' })).toThrow(/type cannot change/)
    expect(() => updateObject(doc, 'c1', { level: 2 })).toThrow(/has no field "level"/)
    expect(() => createObject(doc, 'c1', VALID.component)).toThrow(/exists already/)
    expect(() => createObject(doc, 'bad id', VALID.component)).toThrow(/object id/)
    moveObject(doc, 'c1', 'z')
    expect(readObject(doc, 'c1')!.parentId).toBe('z')
    expect(deleteObject(doc, 'f')).toBe(4) // f, z, s and c1 (moved under z)
    expect([...readObjects(doc).keys()]).toEqual(['b'])
  })

  it('keeps anchors and humans valid', () => {
    const doc = new Y.Doc()
    setAnchor(doc, 'a1', { pose: { p: [0, 0, 0], q: [0, 0, 0, 1] }, parentAnchorId: null, label: 'door', confidence: 1, updatedBy: 'x' })
    expect(() => setAnchor(doc, 'a2', { pose: { p: [0, 0], q: [0, 0, 0, 1] } } as never)).toThrow(SchemaError)
    createHuman(doc, 'h1', { name: 'Ada', expression: { preset: 'neutral', intensity: 0 }, gaze: null, speaking: false, animation: null })
    updateHuman(doc, 'h1', { speaking: true, gaze: { anchorId: 'a1' } })
    expect(() => updateHuman(doc, 'h1', { speaking: 'loud' } as never)).toThrow(SchemaError)
    appendTranscript(doc, 'h1', 'Hello ')
    appendTranscript(doc, 'h1', 'world')
    expect(doc.getMap<Y.Map<unknown>>('humans').get('h1')!.get('transcript')!.toString()).toBe('Hello world')
  })
})

describe('hierarchy resolution', () => {
  it('attaches objects with a missing parent to the top level', () => {
    const h = resolveHierarchy(
      new Map([
        ['a', { parentId: null }],
        ['b', { parentId: 'gone' }],
        ['c', { parentId: 'b' }],
      ]),
    )
    expect(h.parent.get('b')).toBeNull()
    expect(h.detached.get('b')).toBe('missing-parent')
    expect(h.children.get(null)).toEqual(['a', 'b'])
    expect(pathTo(h, 'c')).toEqual(['b', 'c'])
  })

  it('resolves a cycle from concurrent moves identically on every replica', () => {
    // Two editors, offline from each other: one moves zone z1 under z2, the other z2 under z1.
    const base = new Y.Doc()
    createObject(base, 'b', VALID.building)
    createObject(base, 'f', VALID.floor)
    createObject(base, 'z1', { ...VALID.zone, name: 'z1' })
    createObject(base, 'z2', { ...VALID.zone, name: 'z2' })
    createObject(base, 'c', { ...VALID.zone, name: 'z3', parentId: 'z2' })
    const [r1, r2] = [new Y.Doc(), new Y.Doc()]
    Y.applyUpdate(r1, Y.encodeStateAsUpdate(base))
    Y.applyUpdate(r2, Y.encodeStateAsUpdate(base))
    moveObject(r1, 'z1', 'z2')
    moveObject(r2, 'z2', 'z1')
    Y.applyUpdate(r1, Y.encodeStateAsUpdate(r2))
    Y.applyUpdate(r2, Y.encodeStateAsUpdate(r1))
    const [h1, h2] = [resolveHierarchy(readObjects(r1)), resolveHierarchy(readObjects(r2))]
    expect([...h1.parent]).toEqual([...h2.parent])
    expect(h1.detached.get('z1')).toBe('cycle') // the smallest id of the cycle breaks it
    expect(h1.parent.get('z1')).toBeNull()
    expect(h1.parent.get('z2')).toBe('z1')
    expect(pathTo(h1, 'c')).toEqual(['z1', 'z2', 'c'])
    // Every object is reachable from the top level exactly once.
    const seen = new Set<string>()
    const walk = (p: string | null): void => {
      for (const id of h1.children.get(p) ?? []) {
        expect(seen.has(id)).toBe(false)
        seen.add(id)
        walk(id)
      }
    }
    walk(null)
    expect(seen.size).toBe(5)
  })

  it('breaks a longer cycle and a self-parent', () => {
    const h = resolveHierarchy(
      new Map([
        ['x', { parentId: 'y' }],
        ['y', { parentId: 'z' }],
        ['z', { parentId: 'x' }],
        ['s', { parentId: 's' }],
      ]),
    )
    expect(h.parent.get('x')).toBeNull()
    expect(h.parent.get('z')).toBe('x')
    expect(h.parent.get('s')).toBeNull()
    expect([...h.detached.keys()].sort()).toEqual(['s', 'x'])
  })
})
