import * as encoding from 'lib0/encoding'
import * as prng from 'lib0/prng'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { generateSite } from '../../shared/schema/generate.ts'
import { objectsOf } from '../../shared/schema/document.ts'
import { deletePieces, MergedDeletes } from './deletes.ts'
import { IntegrationModel } from './model.ts'
import { scanUpdate } from './scan.ts'
import { allSlices, planSlices } from './slices.ts'

const copy = (doc: Y.Doc) => {
  const c = new Y.Doc()
  Y.applyUpdate(c, Y.encodeStateAsUpdate(doc))
  return c
}

function sameState(a: Y.Doc, b: Y.Doc): void {
  expect(Y.encodeStateVector(a)).toEqual(Y.encodeStateVector(b))
  expect(Y.equalDeleteSets(Y.createDeleteSetFromStructStore(a.store), Y.createDeleteSetFromStructStore(b.store))).toBe(true)
  for (const name of new Set([...a.share.keys(), ...b.share.keys()])) {
    expect(a.getMap(name).toJSON()).toEqual(b.getMap(name).toJSON())
  }
}

/** Slices of `update` applied one by one leave `doc` exactly as the whole update does. */
function slicedEqualsWhole(doc: Y.Doc, update: Uint8Array, budget: number): number {
  const whole = copy(doc)
  Y.applyUpdate(whole, update)
  const u = scanUpdate(update)
  const model = new IntegrationModel(doc, u, Number.POSITIVE_INFINITY)
  model.run()
  const deletes = MergedDeletes.from(u.deletes)
  const plan = planSlices(u, model, deletes, deletePieces(doc, deletes, (c) => model.stateAfter(c), budget).pieces, budget)
  for (const slice of allSlices(plan)) Y.applyUpdate(doc, slice)
  sameState(doc, whole)
  expect(doc.store.pendingStructs === null).toBe(whole.store.pendingStructs === null)
  return plan.count
}

describe('slices of an update', () => {
  it('rebuild a 3,000-object site sent in one update, in many slices', () => {
    const src = new Y.Doc()
    generateSite(src, { objects: 3000 })
    const slices = slicedEqualsWhole(new Y.Doc(), Y.encodeStateAsUpdate(src), 2_000_000)
    expect(slices).toBeGreaterThan(5)
  })

  it('apply a bulk delete in pieces', () => {
    const src = new Y.Doc()
    generateSite(src, { objects: 2000 })
    const server = copy(src)
    const ids = [...objectsOf(src).keys()]
    let update: Uint8Array | null = null
    src.on('update', (u: Uint8Array) => (update = u))
    src.transact(() => {
      for (const id of ids.filter((_, i) => i % 3 === 0)) objectsOf(src).delete(id)
    })
    expect(slicedEqualsWhole(server, update!, 300_000)).toBeGreaterThan(3)
  })

  it('keep concurrent edits, offline sessions and pending structs exactly', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const gen = prng.create(seed)
      const a = new Y.Doc()
      const b = new Y.Doc()
      const server = new Y.Doc()
      const logA: Uint8Array[] = []
      a.on('update', (u: Uint8Array) => logA.push(u))
      for (let round = 0; round < 5; round++) {
        for (const d of [a, b]) {
          for (let k = prng.int32(gen, 1, 30); k > 0; k--) {
            const t = d.getText('t')
            if (prng.bool(gen) || t.length === 0) t.insert(prng.int32(gen, 0, t.length), prng.word(gen, 1, 5))
            else t.delete(prng.int32(gen, 0, t.length - 1), 1)
            d.getMap('m').set(prng.word(gen, 1, 2), prng.int32(gen, 0, 9))
            if (prng.int32(gen, 0, 4) === 0) d.getArray('l').insert(0, [prng.int32(gen, 0, 9)])
          }
        }
        if (prng.bool(gen)) Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)))
      }
      Y.applyUpdate(server, Y.encodeStateAsUpdate(b))
      // A long offline session of a, as one diff; or one of its updates out of order (pending).
      const update = prng.bool(gen) ? Y.encodeStateAsUpdate(a, Y.encodeStateVector(server)) : prng.oneOf(gen, logA)
      slicedEqualsWhole(server, update, prng.int32(gen, 2000, 50_000))
    }
  })

  it('merge a delete set with duplicates and overlaps, and still delete exactly', () => {
    const src = new Y.Doc()
    src.getText('t').insert(0, 'abcdefghijklmnopqrstuvwxyz')
    const server = copy(src)
    const client = src.clientID
    // 200 copies of overlapping ranges, unsorted.
    const ranges: [number, number][] = []
    for (let i = 0; i < 200; i++) ranges.push([5 + (i % 7), 3], [2, 2])
    const bytes = encodeDeleteOnly(client, ranges)
    const u = scanUpdate(bytes)
    const merged = MergedDeletes.from(u.deletes)
    expect(merged.canonical).toBe(false)
    expect(merged.ranges).toBe(2)
    expect(merged.has(client, 3)).toBe(true)
    expect(merged.has(client, 4)).toBe(false)
    expect(merged.has(client, 14)).toBe(false)
    slicedEqualsWhole(server, bytes, 1_000_000)
  })
})

/** An update with no structs and one client's delete ranges, as given (Yjs would sort and merge them). */
function encodeDeleteOnly(client: number, ranges: [number, number][]): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 0)
  encoding.writeVarUint(e, 1)
  encoding.writeVarUint(e, client)
  encoding.writeVarUint(e, ranges.length)
  for (const [clock, len] of ranges) {
    encoding.writeVarUint(e, clock)
    encoding.writeVarUint(e, len)
  }
  return encoding.toUint8Array(e)
}
