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
  const refuse = (edit: (doc: Y.Doc) => void, message: RegExp) => {
    const u = send(edit)
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
