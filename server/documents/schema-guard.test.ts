import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { appendTranscript, createHuman, createObject, deleteObject, moveObject, setAnchor, updateHuman, updateObject } from '../../shared/schema/document.ts'
import { checkSiteUpdate, SchemaViolation } from './schema-guard.ts'

const box = [0, 0, 0, 1, 1, 3]

/** A server doc and a client doc in sync; `write` returns what the client sends, checked and applied like the server does. */
function pair() {
  const server = new Y.Doc()
  const client = new Y.Doc()
  const send = (edit: (doc: Y.Doc) => void): Uint8Array => {
    const updates: Uint8Array[] = []
    const on = (u: Uint8Array) => updates.push(u)
    client.on('update', on)
    edit(client)
    client.off('update', on)
    return Y.mergeUpdates(updates)
  }
  const accept = (edit: (doc: Y.Doc) => void) => {
    const u = send(edit)
    checkSiteUpdate(server, u)
    Y.applyUpdate(server, u)
  }
  // A refused client is closed and resends everything when it reconnects, so each refusal is
  // tried by a fresh client that has what the server has (its next update would otherwise
  // start past a gap, and be pending).
  const refuse = (edit: (doc: Y.Doc) => void, message: RegExp) => {
    const fresh = new Y.Doc()
    Y.applyUpdate(fresh, Y.encodeStateAsUpdate(server))
    const updates: Uint8Array[] = []
    fresh.on('update', (u: Uint8Array) => updates.push(u))
    edit(fresh)
    const u = Y.mergeUpdates(updates)
    expect(() => checkSiteUpdate(server, u)).toThrow(SchemaViolation)
    expect(() => checkSiteUpdate(server, u)).toThrow(message)
  }
  return { server, client, send, accept, refuse }
}

function building(doc: Y.Doc) {
  createObject(doc, 'b', { type: 'building', parentId: null, name: 'HQ' })
  createObject(doc, 'f', { type: 'floor', parentId: 'b', name: 'L1', level: 1, elevation: 0 })
  createObject(doc, 'z', { type: 'zone', parentId: 'f', name: 'East' })
  createObject(doc, 's', { type: 'system', parentId: 'z', name: 'AHU', discipline: 'hvac' })
  createObject(doc, 'c', { type: 'component', parentId: 's', name: 'VAV', kind: 'vav', bbox: box })
}

describe('schema guard', () => {
  it('accepts everything the typed helpers write', () => {
    const { accept, server } = pair()
    accept(building)
    accept((d) => updateObject(d, 'c', { name: 'VAV 2', bbox: [1, 1, 1, 2, 2, 2] })) // overwrites: items with only an origin
    accept((d) => moveObject(d, 'c', 's'))
    accept((d) => updateObject(d, 'c', { reading: { value: 21.5, unit: '°C', at: 1_700_000_000_000 }, tags: ['alarm'] }))
    accept((d) => setAnchor(d, 'a1', { pose: { p: [0, 1, 0], q: [0, 0, 0, 1] }, parentAnchorId: null, label: 'door', confidence: 0.5, updatedBy: 'hmd' }))
    accept((d) => createHuman(d, 'h', { name: 'Ada', expression: { preset: 'happy', intensity: 1 }, gaze: null, speaking: false, animation: null }))
    accept((d) => updateHuman(d, 'h', { speaking: true }))
    accept((d) => appendTranscript(d, 'h', 'Hello'))
    accept((d) => appendTranscript(d, 'h', ' there'))
    accept((d) => deleteObject(d, 'z'))
    expect(server.getMap<Y.Map<unknown>>('objects').size).toBe(2)
    expect(server.getMap<Y.Map<unknown>>('humans').get('h')!.get('transcript')!.toString()).toBe('Hello there')
  })

  it('refuses writes that break the schema, naming what is wrong', () => {
    const { accept, refuse } = pair()
    accept(building)
    accept((d) => createHuman(d, 'h', { name: 'Ada', expression: { preset: 'happy', intensity: 1 }, gaze: null, speaking: false, animation: null }))
    refuse((d) => d.getMap('scratch').set('x', 1), /unknown top-level "scratch"/)
    refuse((d) => d.getMap<Y.Map<unknown>>('objects').get('c')!.set('bbox', [1, 0, 0, 0, 1, 1]), /objects\/c\.bbox: .*min ≤ max/)
    refuse((d) => d.getMap<Y.Map<unknown>>('objects').get('c')!.set('level', 3), /a component has no field "level"/)
    refuse((d) => d.getMap<Y.Map<unknown>>('objects').get('c')!.set('reading', { value: 1, unit: '' }), /objects\/c\.reading/)
    refuse((d) => d.getMap<Y.Map<unknown>>('objects').get('z')!.set('reading', { value: 1, unit: 'C', at: 0 }), /a zone has no field "reading"/)
    refuse((d) => d.getMap<Y.Map<unknown>>('objects').get('c')!.set('type', 'zone'), /type cannot change/)
    refuse((d) => d.getMap<Y.Map<unknown>>('objects').get('c')!.set('name', new Y.Map()), /must be a plain value/)
    refuse((d) => d.getMap('objects').set('x', { type: 'zone' }), /must be a Y\.Map/)
    refuse((d) => {
      const m = new Y.Map()
      m.set('type', 'component')
      m.set('parentId', 's')
      m.set('name', 'no box')
      m.set('kind', 'vav')
      d.getMap('objects').set('c2', m)
    }, /a new component needs bbox/)
    refuse((d) => d.getMap('objects').set('bad id!', new Y.Map()), /objects id/)
    refuse((d) => d.getMap('anchors').set('a', { pose: { p: [0, 0, 0], q: [0, 0, 0, 1] } }), /anchor a/)
    refuse((d) => d.getMap<Y.Map<unknown>>('humans').get('h')!.set('speaking', 'loud'), /humans\/h\.speaking/)
    refuse((d) => d.getMap<Y.Map<unknown>>('humans').get('h')!.set('mood', 1), /has no field "mood"/)
    refuse((d) => d.getMap<Y.Map<Y.Text>>('humans').get('h')!.get('transcript')!.insertEmbed(0, { img: 'x' }), /text only/)
  })

  it('refuses an update that refers to content the server does not have', () => {
    const { send, server } = pair()
    const first = send(building)
    const second = send((d) => updateObject(d, 'c', { name: 'renamed' }))
    Y.applyUpdate(server, Y.encodeStateAsUpdate(new Y.Doc())) // nothing
    expect(() => checkSiteUpdate(server, second)).toThrow(/does not have/)
    checkSiteUpdate(server, first)
  })

  it('lets a write into an object another client deleted meanwhile through (it lands as garbage)', () => {
    const { accept, server, client, send } = pair()
    accept(building)
    // Another client deletes the component on the server; this client still edits it.
    const other = new Y.Doc()
    Y.applyUpdate(other, Y.encodeStateAsUpdate(server))
    const del: Uint8Array[] = []
    other.on('update', (u: Uint8Array) => del.push(u))
    other.getMap('objects').delete('c')
    Y.applyUpdate(server, del[0]!)
    const late = send((d) => updateObject(d, 'c', { name: 'late rename' }))
    expect(() => checkSiteUpdate(server, late)).not.toThrow()
    Y.applyUpdate(server, late)
    expect(server.getMap('objects').has('c')).toBe(false)
    void client
  })
})

// ---- crafted updates (found in review): each one got a schema-breaking value past an earlier guard ----
import * as encoding from 'lib0/encoding'
import { BuildingObject } from '../../shared/schema/domain.ts'
import { BrokenReference } from '../admission/model.ts'
import { UpdateFormatError } from '../admission/scan.ts'

const anchorValue = { pose: { p: [0, 1, 0], q: [0, 0, 0, 1] }, parentAnchorId: null, label: 'door', confidence: 0.5, updatedBy: 'hmd' }
const id = (c: number, k: number) => Y.createID(c, k)
function item(
  c: number,
  k: number,
  o: { origin?: Y.ID | null; right?: Y.ID | null; parent?: string | Y.ID | null; sub?: string | null },
  content: ConstructorParameters<typeof Y.Item>[7],
): Y.Item {
  return new Y.Item(id(c, k), null, o.origin ?? null, null, o.right ?? null, (o.parent ?? null) as never, o.sub ?? null, content)
}
const any = (v: unknown) => new Y.ContentAny([v])
/** Writes client blocks (and deleted ranges) as given (V1), so tests can build updates no Yjs client would. */
function encode(blocks: { client: number; clock: number; structs: Y.Item[] }[], deletes: [client: number, clock: number, len: number][] = []): Uint8Array {
  const enc = new Y.UpdateEncoderV1()
  encoding.writeVarUint(enc.restEncoder, blocks.length)
  for (const b of blocks) {
    encoding.writeVarUint(enc.restEncoder, b.structs.length)
    enc.writeClient(b.client)
    encoding.writeVarUint(enc.restEncoder, b.clock)
    for (const s of b.structs) s.write(enc, 0)
  }
  encoding.writeVarUint(enc.restEncoder, deletes.length)
  for (const [client, clock, len] of deletes) {
    encoding.writeVarUint(enc.restEncoder, client)
    encoding.writeVarUint(enc.restEncoder, 1)
    encoding.writeVarUint(enc.restEncoder, clock)
    encoding.writeVarUint(enc.restEncoder, len)
  }
  return enc.toUint8Array()
}
/** Building b (client 100: (100,0) its map, (100,1) its type), anchor a1 and human h (client 101). */
function crafted(): Y.Doc {
  const d = new Y.Doc()
  d.clientID = 100
  createObject(d, 'b', { type: 'building', parentId: null, name: 'HQ' })
  d.clientID = 101
  setAnchor(d, 'a1', anchorValue as never)
  createHuman(d, 'h', { name: 'Ada', expression: { preset: 'happy', intensity: 1 }, gaze: null, speaking: false, animation: null })
  return d
}
/** Guard, then apply if accepted; the document must still be valid either way. */
function attempt(d: Y.Doc, update: Uint8Array): boolean {
  let accepted = true
  try {
    checkSiteUpdate(d, update)
    Y.applyUpdate(d, update)
  } catch (err) {
    // Refused as breaking the schema, or as not a valid update at all (4422 or 4402 on the wire).
    if (!(err instanceof SchemaViolation || err instanceof UpdateFormatError || err instanceof BrokenReference)) throw err
    accepted = false
  }
  for (const [k, v] of d.getMap('objects')) {
    expect(v).toBeInstanceOf(Y.Map)
    expect(BuildingObject.safeParse((v as Y.Map<unknown>).toJSON()).success, `objects/${k} = ${JSON.stringify((v as Y.Map<unknown>).toJSON())}`).toBe(true)
  }
  expect([...d.share.keys()].every((k) => ['objects', 'anchors', 'humans'].includes(k))).toBe(true)
  return accepted
}

describe('schema guard against crafted updates', () => {
  it('does not place a pending item by its right neighbour (it would land by its left one later)', () => {
    const d = crafted()
    expect(attempt(d, encode([{ client: 200, clock: 0, structs: [item(200, 0, { origin: id(300, 0), right: id(101, 0) }, any(anchorValue))] }]))).toBe(false)
    attempt(d, encode([{ client: 300, clock: 0, structs: [item(300, 0, { parent: id(100, 0), sub: 'type' }, any('building'))] }]))
  })

  it('looks ids the document has up in the document, not in the update', () => {
    const d = crafted()
    attempt(
      d,
      encode([
        {
          client: 100,
          clock: 0,
          structs: [item(100, 0, { parent: 'anchors', sub: 'x0' }, any(anchorValue)), item(100, 1, { parent: 'anchors', sub: 'x1' }, any(anchorValue))],
        },
        { client: 200, clock: 0, structs: [item(200, 0, { origin: id(100, 1) }, any(anchorValue))] },
      ]),
    )
    expect(d.getMap<Y.Map<unknown>>('objects').get('b')!.get('type')).toBe('building')
  })

  it('refuses a client listed in two blocks', () => {
    const d = crafted()
    const u = encode([
      { client: 200, clock: 0, structs: [item(200, 0, { parent: 'anchors', sub: 'x9' }, any(anchorValue))] },
      { client: 200, clock: 0, structs: [item(200, 0, { parent: id(100, 0), sub: 'name' }, any('x'))] },
      { client: 201, clock: 0, structs: [item(201, 0, { origin: id(200, 0) }, any(anchorValue))] },
    ])
    expect(attempt(d, u)).toBe(false)
  })

  it('checks a second map for the same object on its own (no borrowed type)', () => {
    const d = crafted()
    const u = encode([
      {
        client: 200,
        clock: 0,
        structs: [
          item(200, 0, { origin: id(100, 0) }, new Y.ContentType(new Y.Map())),
          item(200, 1, { parent: id(200, 0), sub: 'type' }, any('component')),
          item(200, 2, { parent: id(200, 0), sub: 'name' }, any('X')),
          item(200, 3, { parent: id(200, 0), sub: 'parentId' }, any(null)),
          item(200, 4, { parent: id(200, 0), sub: 'address' }, any('nowhere')),
          item(200, 5, { origin: id(100, 1) }, any('building')),
        ],
      },
    ])
    expect(attempt(d, u)).toBe(false)
  })

  it('refuses deleting a field a live object needs, and setting a type afterwards', () => {
    const d = crafted()
    const c = new Y.Doc()
    c.clientID = 200
    Y.applyUpdate(c, Y.encodeStateAsUpdate(d))
    const capture = (f: () => void) => {
      const us: Uint8Array[] = []
      const on = (u: Uint8Array) => us.push(u)
      c.on('update', on)
      f()
      c.off('update', on)
      return Y.mergeUpdates(us)
    }
    const b = c.getMap<Y.Map<unknown>>('objects').get('b')!
    expect(
      attempt(
        d,
        capture(() => b.delete('type')),
      ),
    ).toBe(false)
    expect(
      attempt(
        d,
        capture(() => b.set('type', 'floor')),
      ),
    ).toBe(false)
    // Deleting the whole object is fine.
    expect(
      attempt(
        d,
        capture(() => c.getMap('objects').delete('b')),
      ),
    ).toBe(true)
  })

  it('checks the top level of deleted content too, and the exact type of a transcript', () => {
    const d = crafted()
    expect(attempt(d, encode([{ client: 200, clock: 0, structs: [item(200, 0, { parent: 'evil', sub: 'x' }, new Y.ContentDeleted(1))] }]))).toBe(false)
    expect(attempt(d, encode([{ client: 201, clock: 0, structs: [item(201, 0, { origin: id(101, 7) }, new Y.ContentType(new Y.XmlText()))] }]))).toBe(false)
  })

  // Issue 12, finding 3: two ways past the first guard that stripped required fields.
  const fieldId = (d: Y.Doc, object: string, field: string) => d.getMap<Y.Map<unknown>>('objects').get(object)!._map.get(field)!.id

  it('treats a write of deleted content that becomes the current value as deleting the field', () => {
    const d = crafted()
    const name = fieldId(d, 'b', 'name')
    expect(attempt(d, encode([{ client: 200, clock: 0, structs: [item(200, 0, { origin: name }, new Y.ContentDeleted(1))] }]))).toBe(false)
    expect(d.getMap<Y.Map<unknown>>('objects').get('b')!.get('name')).toBe('HQ')
  })

  it('does not count a write Yjs places left of the current value (and deletes) as writing the field', () => {
    const d = crafted()
    const type = fieldId(d, 'b', 'type')
    // Right origin = the current value: Yjs puts the new item before it, so it is not current; the delete set removes the current one.
    const u = encode([{ client: 200, clock: 0, structs: [item(200, 0, { right: type }, any('building'))] }], [[type.client, type.clock, 1]])
    expect(attempt(d, u)).toBe(false)
    expect(d.getMap<Y.Map<unknown>>('objects').get('b')!.get('type')).toBe('building')
    // The same value written after the current one is an ordinary overwrite.
    expect(attempt(d, encode([{ client: 201, clock: 0, structs: [item(201, 0, { origin: type }, any('building'))] }], [[type.client, type.clock, 1]]))).toBe(
      true,
    )
    expect(d.getMap<Y.Map<unknown>>('objects').get('b')!.get('type')).toBe('building')
  })

  it('lets objects stored before the guard, already missing a field, still be edited', () => {
    const d = crafted()
    // Written without the guard: the building loses its name.
    d.getMap<Y.Map<unknown>>('objects').get('b')!.delete('name')
    const c = new Y.Doc()
    Y.applyUpdate(c, Y.encodeStateAsUpdate(d))
    const updates: Uint8Array[] = []
    c.on('update', (u: Uint8Array) => updates.push(u))
    c.getMap<Y.Map<unknown>>('objects').get('b')!.set('address', 'Main St 1')
    expect(attempt2(d, Y.mergeUpdates(updates))).toBe(true)
  })

  it('checks a flood of 40,000 duplicate delete ranges as the one range it is', () => {
    const d = crafted()
    const name = fieldId(d, 'b', 'name')
    const ranges: [number, number, number][] = Array.from({ length: 40_000 }, () => [name.client, name.clock, 1])
    // Refused for what it deletes (its cost is measured in BENCHMARKS.md, hostile input).
    expect(attempt(d, encode([], ranges))).toBe(false)
  })
})

/** Guard then apply, without the whole-document validity check (for documents that were already invalid). */
function attempt2(d: Y.Doc, update: Uint8Array): boolean {
  try {
    checkSiteUpdate(d, update)
    Y.applyUpdate(d, update)
    return true
  } catch (err) {
    if (!(err instanceof SchemaViolation)) throw err
    return false
  }
}
