import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { SiteView } from '../../../sdk/views.ts'
import { createObject, moveObject, objectsOf, updateObject } from '../../../../shared/schema/document.ts'
import type { BBox } from '../../../../shared/schema/domain.ts'
import { cellSpan, FloorIndex, type Rect } from './floor-index.ts'

/** A building with two floors; on f1 a zone, a space and a system; on f2 a system. */
function site() {
  const doc = new Y.Doc()
  createObject(doc, 'b', { type: 'building', parentId: null, name: 'B' })
  createObject(doc, 'f1', { type: 'floor', parentId: 'b', name: 'L1', level: 1, elevation: 0 })
  createObject(doc, 'f2', { type: 'floor', parentId: 'b', name: 'L2', level: 2, elevation: 4 })
  createObject(doc, 'z', { type: 'zone', parentId: 'f1', name: 'Z', bbox: [0, 0, 0, 50, 50, 4] })
  createObject(doc, 'room', { type: 'space', parentId: 'f1', name: 'Room', bbox: [60, 0, 0, 70, 10, 3] })
  createObject(doc, 's1', { type: 'system', parentId: 'f1', name: 'S1', discipline: 'hvac' })
  createObject(doc, 's2', { type: 'system', parentId: 'f2', name: 'S2', discipline: 'hvac' })
  return { doc, view: new SiteView(doc) }
}

const component = (doc: Y.Doc, id: string, parentId: string, bbox: BBox) => createObject(doc, id, { type: 'component', parentId, name: id, kind: 'ahu', bbox })
const ids = (index: FloorIndex, view: Rect) =>
  index
    .query(view)
    .map((i) => i.id)
    .sort()

describe('FloorIndex', () => {
  it('returns what meets the view, and only that', () => {
    const { doc, view } = site()
    component(doc, 'c1', 's1', [5, 5, 0, 6, 6, 1])
    component(doc, 'c2', 's1', [105, 105, 0, 106, 106, 1])
    const index = new FloorIndex(view, 'f1')
    expect(ids(index, [0, 0, 10, 10])).toEqual(['c1', 'z'])
    expect(ids(index, [58, 0, 59, 1])).toEqual([])
    expect(ids(index, [65, 5, 66, 6])).toEqual(['room'])
    expect(ids(index, [100, 100, 200, 200])).toEqual(['c2'])
    // Touching edges count.
    expect(ids(index, [70, 10, 80, 20])).toEqual(['room'])
    expect(index.extent()).toEqual([0, 0, 106, 106])
  })

  it('holds the objects of its floor only', () => {
    const { doc, view } = site()
    component(doc, 'here', 's1', [1, 1, 0, 2, 2, 1])
    component(doc, 'there', 's2', [1, 1, 4, 2, 2, 5])
    expect(ids(new FloorIndex(view, 'f1'), [0, 0, 3, 3])).toEqual(['here', 'z'])
    expect(ids(new FloorIndex(view, 'f2'), [0, 0, 3, 3])).toEqual(['there'])
    expect(new FloorIndex(view, 'nowhere').query([-1e6, -1e6, 1e6, 1e6])).toEqual([])
    expect(new FloorIndex(view, 'nowhere').extent()).toBeNull()
  })

  it('a moved object is found where it went, not where it was; its connections follow', () => {
    const { doc, view } = site()
    component(doc, 'a', 's1', [0, 0, 0, 2, 2, 1])
    component(doc, 'b2', 's1', [10, 0, 0, 12, 2, 1])
    createObject(doc, 'link', { type: 'connection', parentId: 's1', name: 'L', from: 'a', to: 'b2' })
    const index = new FloorIndex(view, 'f1')
    expect(index.get('link')?.line).toEqual([1, 1, 11, 1])

    updateObject(doc, 'a', { bbox: [200, 200, 0, 202, 202, 1] })
    index.refresh(['a'])
    expect(ids(index, [199, 199, 203, 203])).toEqual(['a', 'link'])
    expect(ids(index, [-1, -1, 3, 3])).toEqual(['z'])
    expect(index.get('link')?.line).toEqual([201, 201, 11, 1])

    // To another floor: a parent change rebuilds on the next read.
    moveObject(doc, 'a', 's2')
    index.invalidate()
    expect(index.get('a')).toBeUndefined()
    expect(index.get('link')).toBeUndefined()
    expect(new FloorIndex(view, 'f2').get('a')?.rect).toEqual([200, 200, 202, 202])
  })

  it('a box of 1e300 metres is indexed and found without walking its cells', () => {
    const { doc, view } = site()
    component(doc, 'huge', 's1', [-1e300, -1e300, 0, 1e300, 1e300, 1])
    component(doc, 'far', 's1', [1e300, 1e300, 0, 1e300, 1e300, 1])
    component(doc, 'edge', 's1', [1.7e308, 1.7e308, 0, 1.79e308, 1.79e308, 1])
    createObject(doc, 'link', { type: 'connection', parentId: 's1', name: 'L', from: 'edge', to: 'edge' })
    const index = new FloorIndex(view, 'f1')
    expect(ids(index, [0, 0, 1, 1])).toEqual(['huge', 'z'])
    expect(ids(index, [1e300, 1e300, 1e300, 1e300])).toEqual(['far', 'huge'])
    // The centre of a box near Number.MAX_VALUE is finite (not (a + b) / 2 = Infinity).
    const line = index.get('link')?.line
    expect(line?.every(Number.isFinite)).toBe(true)
    expect(ids(index, [-Number.MAX_VALUE, -Number.MAX_VALUE, Number.MAX_VALUE, Number.MAX_VALUE])).toEqual(['edge', 'far', 'huge', 'link', 'room', 'z'])
    // Re-indexed after a move back to a sane size.
    updateObject(doc, 'huge', { bbox: [0, 0, 0, 1, 1, 1] })
    index.refresh(['huge'])
    expect(ids(index, [30, 30, 31, 31])).toEqual(['z'])
  })

  it('a view that is not finite answers nothing rather than looping or throwing', () => {
    const { view } = site()
    const index = new FloorIndex(view, 'f1')
    expect(index.query([Number.NaN, 0, 10, 10])).toEqual([])
    expect(ids(index, [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY])).toEqual(['room', 'z'])
  })

  it('an object stored without the schema (no server guard) is read through the SDK’s sanitizer', () => {
    const { doc, view } = site()
    const raw = new Y.Map<unknown>()
    for (const [k, v] of Object.entries({ type: 'component', parentId: 's1', name: 'x', kind: 'k', bbox: [Number.NaN, 0, 0, 1, 1, 1] })) raw.set(k, v)
    objectsOf(doc).set('bad"id', raw)
    const index = new FloorIndex(view, 'f1')
    expect(index.get('bad"id')).toBeUndefined()
    expect(ids(index, [0, 0, 1, 1])).toEqual(['z'])
  })
})

describe('cellSpan', () => {
  it('covers the cells of a rect (10 m cells, inclusive)', () => {
    expect(cellSpan([0, 0, 10, 5])).toEqual({ cx0: 0, cy0: 0, cx1: 1, cy1: 0, count: 2 })
    expect(cellSpan([-1, -1, 0, 0])).toEqual({ cx0: -1, cy0: -1, cx1: 0, cy1: 0, count: 4 })
  })

  it('null for what cannot be walked: NaN, infinities, spans past 2^53', () => {
    expect(cellSpan([Number.NaN, 0, 1, 1])).toBeNull()
    expect(cellSpan([0, 0, Number.POSITIVE_INFINITY, 1])).toBeNull()
    expect(cellSpan([-1e300, 0, 1e300, 1])).toBeNull()
    expect(cellSpan([-1e9, -1e9, 1e9, 1e9])).toBeNull()
  })
})
