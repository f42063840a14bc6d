import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createObject, moveObject, objectsOf, readObjects, updateObject } from '../../shared/schema/document.ts'
import { pathTo, resolveHierarchy } from '../../shared/schema/hierarchy.ts'
import type { BuildingObject } from '../../shared/schema/domain.ts'
import { generateSite } from '../../shared/schema/generate.ts'
import { SiteView, type TreeNode } from './views.ts'

const REMOTE = Symbol('remote')

/** Two replicas that exchange every update, as a provider would. */
function pair(): [Y.Doc, Y.Doc] {
  const [a, b] = [new Y.Doc(), new Y.Doc()]
  a.on('update', (u: Uint8Array, origin: unknown) => origin !== REMOTE && Y.applyUpdate(b, u, REMOTE))
  b.on('update', (u: Uint8Array, origin: unknown) => origin !== REMOTE && Y.applyUpdate(a, u, REMOTE))
  return [a, b]
}

type Plain = { id: string; object: BuildingObject; children: Plain[] }
/** What the reader's rules give, built independently of SiteView. */
function expectedTree(doc: Y.Doc): Plain[] {
  const objects = readObjects(doc)
  const h = resolveHierarchy(objects)
  const build = (p: string | null): Plain[] => (h.children.get(p) ?? []).map((id) => ({ id, object: objects.get(id)!, children: build(id) }))
  return build(null)
}

const count = (nodes: readonly TreeNode[]): number => nodes.reduce((n, node) => n + 1 + count(node.children), 0)
const zone = (name: string, parentId: string | null): BuildingObject => ({ type: 'zone', parentId, name })

describe('SiteView', () => {
  it('reads a generated site on a synced replica exactly as resolveHierarchy(readObjects(doc)) places it', () => {
    const [a, b] = pair()
    const early = new SiteView(b) // follows the sync incrementally
    early.tree()
    const summary = generateSite(a, { objects: 3000, anchors: 12, humans: 2, batch: 500 })
    const late = new SiteView(b) // reads the synced state once
    for (const view of [early, late]) {
      expect(view.tree()).toEqual(expectedTree(a))
      expect(count(view.tree())).toBe(3000)
      expect(view.objects()).toHaveLength(3000)
      expect(view.objects('floor')).toHaveLength(summary.counts.floor)
      expect(view.objects('component').every((e) => e.object.type === 'component')).toBe(true)
      const h = resolveHierarchy(readObjects(b))
      expect(view.children(null).map((e) => e.id)).toEqual(h.children.get(null))
      expect(view.children('f0').map((e) => e.id)).toEqual(h.children.get('f0'))
      expect(view.children('nope')).toEqual([])
      expect(view.path('f0-z00-hvac-c0').map((e) => e.id)).toEqual(pathTo(h, 'f0-z00-hvac-c0'))
      expect(view.path('f0-z00-hvac-c0').map((e) => e.id)).toEqual(['b0', 'f0', 'f0-z00', 'f0-z00-hvac', 'f0-z00-hvac-c0'])
      expect(view.path('nope')).toEqual([])
      expect(view.object('f0')).toEqual(readObjects(b).get('f0'))
      expect(view.object('nope')).toBeNull()
      expect(view.anchors().map((e) => e.id)).toEqual([...b.getMap('anchors').keys()].sort())
      expect(view.anchor('a0')).toEqual(b.getMap('anchors').get('a0'))
      expect(view.humans().map((e) => e.id)).toEqual(['h0', 'h1'])
      expect(view.human('h0')).toMatchObject({ name: 'Ada', speaking: true, transcript: expect.stringMatching(/^Hello, I am Ada/) })
      expect(view.human('nope')).toBeNull()
    }
  })

  it('places missing parents, cycles and invalid stored objects by the reader rules, the same on both replicas', () => {
    const [a, b] = pair()
    createObject(a, 'b', { type: 'building', parentId: null, name: 'HQ' })
    createObject(a, 'f', { type: 'floor', parentId: 'b', name: 'L1', level: 1, elevation: 0 })
    for (const id of ['z1', 'z2', 'z3']) createObject(a, id, zone(id, 'f'))
    createObject(a, 'orphan', zone('orphan', 'gone'))
    // Stored before the schema was enforced: no type. Left out; its child goes to the top level.
    const raw = new Y.Map<unknown>()
    raw.set('name', 'untyped')
    raw.set('parentId', 'f')
    objectsOf(a).set('raw', raw)
    createObject(a, 'child', zone('child', 'raw'))
    // Concurrent moves while apart: z1 under z2 on one side, z2 under z1 on the other.
    const [x, y] = [new Y.Doc(), new Y.Doc()]
    Y.applyUpdate(x, Y.encodeStateAsUpdate(a))
    Y.applyUpdate(y, Y.encodeStateAsUpdate(a))
    moveObject(x, 'z1', 'z2')
    moveObject(y, 'z2', 'z1')
    moveObject(y, 'z3', 'z2')
    const [va, vb] = [new SiteView(a), new SiteView(b)]
    va.tree()
    Y.applyUpdate(a, Y.encodeStateAsUpdate(x))
    Y.applyUpdate(a, Y.encodeStateAsUpdate(y))
    expect(va.tree()).toEqual(vb.tree())
    expect(va.children(null).map((e) => e.id)).toEqual(['b', 'child', 'orphan', 'z1'])
    expect(va.path('z3').map((e) => e.id)).toEqual(['z1', 'z2', 'z3'])
    expect(va.object('raw')).toBeNull()
    expect(va.hierarchy().detached).toEqual(
      new Map([
        ['child', 'missing-parent'],
        ['orphan', 'missing-parent'],
        ['z1', 'cycle'],
      ]),
    )
    expect(count(va.tree())).toBe(7)
  })

  it('caches reads, re-resolves the hierarchy only for structural changes, and returns frozen plain data', () => {
    const doc = new Y.Doc()
    generateSite(doc, { objects: 10_000 })
    const view = new SiteView(doc)
    const tree = view.tree()
    // Cached: the same tree object until something changes (no timing asserted: a shared machine).
    for (let i = 0; i < 3; i++) expect(view.tree()).toBe(tree)
    const h = view.hierarchy()
    updateObject(doc, 'f0', { name: 'Ground' })
    expect(view.object('f0')!.name).toBe('Ground')
    expect(view.tree()).not.toBe(tree)
    expect(view.hierarchy()).toBe(h) // a rename moves nothing
    moveObject(doc, 'f0-z00', 'f1')
    expect(view.hierarchy()).not.toBe(h)
    expect(view.path('f0-z00').map((e) => e.id)).toEqual(['b0', 'f1', 'f0-z00'])
    const object = view.object('f0-z00-hvac-c0')!
    expect(Object.isFrozen(object) && Object.isFrozen(object.bbox) && Object.isFrozen(view.tree()[0]!.children)).toBe(true)
    expect(object.bbox).not.toBe(objectsOf(doc).get('f0-z00-hvac-c0')!.get('bbox')) // a copy, not the stored array
  })

  it('skips anchors and humans that fail their schema, and stays current for them', () => {
    const doc = new Y.Doc()
    generateSite(doc, { objects: 50, anchors: 2, humans: 1 })
    const view = new SiteView(doc)
    expect(view.anchors()).toHaveLength(2)
    doc.getMap('anchors').set('bad', { pose: { p: [0, 0], q: [0, 0, 0, 1] } })
    doc.getMap('anchors').delete('a1')
    expect(view.anchors().map((e) => e.id)).toEqual(['a0'])
    expect(view.anchor('bad')).toBeNull()
    const h0 = doc.getMap<Y.Map<unknown>>('humans').get('h0')!
    ;(h0.get('transcript') as Y.Text).insert(0, '>> ')
    expect(view.human('h0')!.transcript).toMatch(/^>> Hello/)
    h0.set('speaking', 'loudly')
    expect(view.humans()).toEqual([])
  })

  it('stops observing on destroy, and still answers from the document', () => {
    const doc = new Y.Doc()
    const view = new SiteView(doc)
    const handlers = () => doc._observers.get('beforeObserverCalls')?.size ?? 0
    expect(handlers()).toBe(1)
    view.destroy()
    view.destroy()
    expect(handlers()).toBe(0)
    createObject(doc, 'b', { type: 'building', parentId: null, name: 'HQ' })
    expect(view.tree().map((n) => n.id)).toEqual(['b'])
  })

  it('is current inside any event of the same transaction, whichever map changed first', () => {
    const doc = new Y.Doc()
    const view = new SiteView(doc)
    createObject(doc, 'b', { type: 'building', parentId: null, name: 'HQ' })
    view.tree()
    view.anchors()
    let seen: string | undefined
    // An observer of the map that changes first in the transaction reads the map that changes after it.
    doc.getMap('anchors').observe(() => (seen = view.object('b')?.name))
    doc.transact(() => {
      doc.getMap('anchors').set('a', { pose: { p: [0, 0, 0], q: [0, 0, 0, 1] }, parentAnchorId: null, label: 'x', confidence: 1, updatedBy: 't' })
      objectsOf(doc).get('b')!.set('name', 'Renamed')
    })
    expect(seen).toBe('Renamed')
  })
})
