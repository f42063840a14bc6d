import { afterEach, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import type { Anchor, Human } from '../../shared/schema/domain.ts'
import { batch } from './batch.ts'
import { SiteEvents, type SiteEventMap, type SiteEventName } from './events.ts'

const ORIGIN = Symbol('this client')
const REMOTE = Symbol('remote')
const isLocal = (origin: unknown) => origin === ORIGIN

/** Two replicas that exchange every update, each with its events and a log of everything they fired. */
function pair() {
  const [a, b] = [new Y.Doc(), new Y.Doc()]
  a.on('update', (u: Uint8Array, origin: unknown) => origin !== REMOTE && Y.applyUpdate(b, u, REMOTE))
  b.on('update', (u: Uint8Array, origin: unknown) => origin !== REMOTE && Y.applyUpdate(a, u, REMOTE))
  const logged = (doc: Y.Doc) => {
    const events = new SiteEvents(doc, isLocal)
    const log: { name: SiteEventName; event: SiteEventMap[SiteEventName] }[] = []
    for (const name of ['objectChanged', 'objectsMoved', 'anchorMoved', 'humanChanged', 'transcript'] as const)
      events.on(name, (event) => log.push({ name, event }))
    const take = () => log.splice(0)
    return { events, take }
  }
  return { a, b, la: logged(a), lb: logged(b) }
}

/** The same events on both replicas, `local` true only where the write was made. */
function expectBoth(la: { take: () => unknown[] }, lb: { take: () => unknown[] }, expected: { name: SiteEventName; event: object }[]) {
  const local = expected.map(({ name, event }) => ({ name, event: { ...event, local: true } }))
  const remote = expected.map(({ name, event }) => ({ name, event: { ...event, local: false } }))
  expect(la.take()).toEqual(local)
  expect(lb.take()).toEqual(remote)
}

const anchor = (x: number): Anchor => ({ pose: { p: [x, 0, 0], q: [0, 0, 0, 1] }, parentAnchorId: null, label: 'door', confidence: 1, updatedBy: 'me' })
const ada: Human = { name: 'Ada', expression: { preset: 'neutral', intensity: 0 }, gaze: null, speaking: false, animation: null }

afterEach(() => vi.unstubAllGlobals())

describe('SiteEvents', () => {
  it('fires objectChanged once per object per transaction with old and new values, and objectsMoved once with every move', () => {
    const { a, la, lb } = pair()
    batch(a, ORIGIN, (w) => {
      w.createObject('b', { type: 'building', parentId: null, name: 'HQ' })
      w.createObject('f', { type: 'floor', parentId: 'b', name: 'L1', level: 1, elevation: 0 })
      w.createObject('z1', { type: 'zone', parentId: 'f', name: 'East' })
      w.createObject('z2', { type: 'zone', parentId: 'f', name: 'West' })
    })
    const added = (id: string, type: string, fields: Record<string, unknown>) => ({
      name: 'objectChanged' as const,
      event: { id, kind: 'added', type, changes: Object.fromEntries(Object.entries({ type, ...fields }).map(([k, v]) => [k, { old: undefined, new: v }])) },
    })
    expectBoth(la, lb, [
      added('b', 'building', { parentId: null, name: 'HQ' }),
      added('f', 'floor', { parentId: 'b', name: 'L1', level: 1, elevation: 0 }),
      added('z1', 'zone', { parentId: 'f', name: 'East' }),
      added('z2', 'zone', { parentId: 'f', name: 'West' }),
    ])

    batch(a, ORIGIN, (w) => {
      w.updateObject('z1', { name: 'East 1' })
      w.updateObject('z1', { name: 'East 2', bbox: [0, 0, 0, 1, 1, 1] }) // twice in one transaction: one event, first old, last new
      w.moveObject('z2', 'z1')
    })
    expectBoth(la, lb, [
      {
        name: 'objectChanged',
        event: {
          id: 'z1',
          kind: 'updated',
          type: 'zone',
          changes: { name: { old: 'East', new: 'East 2' }, bbox: { old: undefined, new: [0, 0, 0, 1, 1, 1] } },
        },
      },
      { name: 'objectChanged', event: { id: 'z2', kind: 'updated', type: 'zone', changes: { parentId: { old: 'f', new: 'z1' } } } },
      { name: 'objectsMoved', event: { moves: [{ id: 'z2', from: 'f', to: 'z1' }] } },
    ])

    batch(a, ORIGIN, (w) => {
      w.moveObject('z1', 'b')
      w.moveObject('z2', 'f')
    })
    const [ea, eb] = [la.take(), lb.take()]
    expect(ea.filter((e) => (e as { name: string }).name === 'objectsMoved')).toEqual([
      {
        name: 'objectsMoved',
        event: {
          moves: expect.arrayContaining([
            { id: 'z1', from: 'f', to: 'b' },
            { id: 'z2', from: 'z1', to: 'f' },
          ]),
          local: true,
        },
      },
    ])
    expect(eb.filter((e) => (e as { name: string }).name === 'objectChanged')).toHaveLength(2)
  })

  it('gives a deleted object its old values on both replicas, and a delete-then-recreate as one update', () => {
    const { a, b, la, lb } = pair()
    batch(a, ORIGIN, (w) => {
      w.createObject('b', { type: 'building', parentId: null, name: 'HQ' })
      w.createObject('f', { type: 'floor', parentId: 'b', name: 'L1', level: 1, elevation: 0 })
    })
    batch(b, ORIGIN, (w) => w.updateObject('f', { name: 'Ground' })) // the field's newest value came from the other replica
    la.take()
    lb.take()
    batch(a, ORIGIN, (w) => w.deleteObject('b'))
    const deleted = (id: string, type: string, fields: Record<string, unknown>) => ({
      name: 'objectChanged' as const,
      event: { id, kind: 'deleted', type, changes: Object.fromEntries(Object.entries({ type, ...fields }).map(([k, v]) => [k, { old: v, new: undefined }])) },
    })
    expectBoth(la, lb, [
      deleted('b', 'building', { parentId: null, name: 'HQ' }),
      deleted('f', 'floor', { parentId: 'b', name: 'Ground', level: 1, elevation: 0 }),
    ])

    batch(a, ORIGIN, (w) => w.createObject('b', { type: 'building', parentId: null, name: 'HQ' }))
    la.take()
    lb.take()
    batch(a, ORIGIN, (w) => {
      w.deleteObject('b')
      w.createObject('b', { type: 'building', parentId: null, name: 'New HQ', address: '2 Main St' })
    })
    expectBoth(la, lb, [
      {
        name: 'objectChanged',
        event: { id: 'b', kind: 'updated', type: 'building', changes: { name: { old: 'HQ', new: 'New HQ' }, address: { old: undefined, new: '2 Main St' } } },
      },
    ])
  })

  it('fires anchorMoved once per anchor set or deleted', () => {
    const { a, la, lb } = pair()
    batch(a, ORIGIN, (w) => {
      w.setAnchor('a1', anchor(1))
      w.setAnchor('a1', anchor(2))
      w.setAnchor('a2', anchor(3))
    })
    expectBoth(la, lb, [
      { name: 'anchorMoved', event: { id: 'a1', old: null, new: anchor(2) } },
      { name: 'anchorMoved', event: { id: 'a2', old: null, new: anchor(3) } },
    ])
    batch(a, ORIGIN, (w) => w.setAnchor('a1', anchor(4)))
    expectBoth(la, lb, [{ name: 'anchorMoved', event: { id: 'a1', old: anchor(2), new: anchor(4) } }])
    batch(a, ORIGIN, (w) => w.deleteAnchor('a2'))
    expectBoth(la, lb, [{ name: 'anchorMoved', event: { id: 'a2', old: anchor(3), new: null } }])
  })

  it('fires humanChanged for fields and transcript for the text, each once per transaction', () => {
    const { a, la, lb } = pair()
    batch(a, ORIGIN, (w) => w.createHuman('h1', ada, 'Hi'))
    expectBoth(la, lb, [
      {
        name: 'humanChanged',
        event: { id: 'h1', kind: 'added', changes: Object.fromEntries(Object.entries(ada).map(([k, v]) => [k, { old: undefined, new: v }])) },
      },
      { name: 'transcript', event: { humanId: 'h1', delta: [{ insert: 'Hi' }], text: 'Hi' } },
    ])
    batch(a, ORIGIN, (w) => {
      w.updateHuman('h1', { speaking: true, gaze: { anchorId: 'a1' } })
      w.appendTranscript('h1', ', I am')
      w.appendTranscript('h1', ' Ada')
    })
    expectBoth(la, lb, [
      {
        name: 'humanChanged',
        event: { id: 'h1', kind: 'updated', changes: { speaking: { old: false, new: true }, gaze: { old: null, new: { anchorId: 'a1' } } } },
      },
      { name: 'transcript', event: { humanId: 'h1', delta: [{ retain: 2 }, { insert: ', I am Ada' }], text: 'Hi, I am Ada' } },
    ])
    batch(a, ORIGIN, (w) => w.appendTranscript('h1', '.'))
    expectBoth(la, lb, [{ name: 'transcript', event: { humanId: 'h1', delta: [{ retain: 12 }, { insert: '.' }], text: 'Hi, I am Ada.' } }])
  })

  it('hands listeners copies, stops a listener when unsubscribed, and keeps going when one throws', () => {
    const doc = new Y.Doc()
    const events = new SiteEvents(doc, isLocal)
    const seen: unknown[] = []
    const thrown: unknown[] = []
    vi.stubGlobal('queueMicrotask', (f: () => void) => {
      try {
        f()
      } catch (err) {
        thrown.push(err)
      }
    })
    events.on('objectChanged', () => {
      throw new Error('listener bug')
    })
    const off = events.on('objectChanged', (e) => seen.push(e.id))
    batch(doc, ORIGIN, (w) => w.createObject('b', { type: 'building', parentId: null, name: 'HQ', bbox: [0, 0, 0, 1, 1, 1] }))
    expect(seen).toEqual(['b'])
    expect(thrown).toEqual([new Error('listener bug')])
    off()
    off()
    let bbox: number[] | undefined
    events.on('objectChanged', (e) => (bbox = e.changes.bbox?.new as number[]))
    batch(doc, ORIGIN, (w) => w.updateObject('b', { bbox: [0, 0, 0, 2, 2, 2] }))
    bbox![0] = 99
    expect(doc.getMap<Y.Map<unknown>>('objects').get('b')!.get('bbox')).toEqual([0, 0, 0, 2, 2, 2])
    expect(seen).toEqual(['b'])
    events.destroy()
    batch(doc, ORIGIN, (w) => w.updateObject('b', { name: 'x' }))
    expect(thrown).toHaveLength(2) // the second update, not the third
  })

  it('does no work for a map nobody listens to', () => {
    const doc = new Y.Doc()
    const local = vi.fn(isLocal)
    const events = new SiteEvents(doc, local)
    events.on('anchorMoved', () => {})
    batch(doc, ORIGIN, (w) => {
      w.createObject('b', { type: 'building', parentId: null, name: 'HQ' })
      w.createHuman('h', ada, 'hi')
    })
    expect(local).not.toHaveBeenCalled()
    batch(doc, ORIGIN, (w) => w.setAnchor('a', anchor(1)))
    expect(local).toHaveBeenCalledTimes(1)
  })

  it('survives entries an old or hostile client stored as something other than a Y.Map', () => {
    const { a, b, lb } = pair()
    // Written without the helpers (no server schema in between here): a string where an object's map belongs, a plain human.
    expect(() =>
      a.transact(() => {
        a.getMap('objects').set('x', 'garbage')
        a.getMap('humans').set('h', { name: 'not a map' })
        a.getMap('anchors').set('n', 42)
      }),
    ).not.toThrow()
    const names = lb.take().map((e) => e.name)
    expect(names).toContain('objectChanged')
    expect(b.getMap('objects').get('x')).toBe('garbage')
  })
})
