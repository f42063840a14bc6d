/**
 * A Site's typed side against a real server process: the tree another client resolves, the
 * events it gets, a refused write that sends nothing, and presence across clients.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { serverHas, untilDoc } from '../../load-tests/harness/clients.ts'
import { killAllServers, type ServerProcess, startServerProcess } from '../../load-tests/harness/server-process.ts'
import { readObjects } from '../../shared/schema/document.ts'
import { resolveHierarchy } from '../../shared/schema/hierarchy.ts'
import { generateSite } from '../../shared/schema/generate.ts'
import type { ObjectsMoved } from './events.ts'
import { connectSite, SchemaError, type Site } from './index.ts'
import type { TreeNode } from './views.ts'

let server: ServerProcess
const sites: Site[] = []
const open = (doc: string, awarenessHz?: number) => {
  const s = connectSite({ urls: server.wsUrl, doc, WebSocket, ...(awarenessHz ? { awarenessHz } : {}) })
  sites.push(s)
  return s
}

/** Resolves with the first value `subscribe` delivers that passes `check`. */
function next<T>(subscribe: (fn: (v: T) => void) => () => void, check: (v: T) => boolean = () => true, ms = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`nothing within ${ms} ms`))
    }, ms)
    const off = subscribe((v) => {
      if (!check(v)) return
      clearTimeout(timer)
      off()
      resolve(v)
    })
  })
}

beforeAll(async () => {
  server = await startServerProcess()
})
afterEach(() => {
  for (const s of sites.splice(0)) s.close()
})
afterAll(() => killAllServers())

describe('a Site against a real server', () => {
  it('resolves the same tree as resolveHierarchy on another client, and fires one typed event per move', async () => {
    const a = open('site/typed')
    const b = open('site/typed')
    await Promise.all([a.whenSynced(), b.whenSynced()])
    generateSite(a.doc, { objects: 2000, anchors: 5, humans: 1, seed: 7 })
    await a.whenConfirmed()
    await untilDoc(b.doc, 'every object at b', (d) => d.getMap('objects').size === 2000)
    expect(b.doc.getMap('objects').size).toBe(2000)

    const h = resolveHierarchy(readObjects(b.doc))
    const ids = (nodes: readonly TreeNode[]): string[] => nodes.flatMap((n) => [n.id, ...ids(n.children)])
    const flatten = (parent: string | null): string[] => (h.children.get(parent) ?? []).flatMap((id) => [id, ...flatten(id)])
    expect(ids(b.tree())).toEqual(flatten(null))
    expect(b.tree()).toEqual(a.tree())

    const component = b.objects('component')[0]!
    const otherSystem = b.objects('system').find((s) => s.id !== component.object.parentId)!
    const moves: ObjectsMoved[] = []
    b.on('objectsMoved', (e) => moves.push(e))
    const moved = next<ObjectsMoved>((fn) => b.on('objectsMoved', fn))
    a.moveObject(component.id, otherSystem.id)
    const e = await moved
    expect(e).toEqual({ moves: [{ id: component.id, from: component.object.parentId, to: otherSystem.id }], local: false })
    expect(b.path(component.id).map((x) => x.id)).toEqual([...b.path(otherSystem.id).map((x) => x.id), component.id])
    await a.whenConfirmed()
    expect(moves).toHaveLength(1)
  })

  it('refuses a schema-invalid write locally: it throws and nothing reaches the server', async () => {
    const a = open('site/refused')
    await a.whenSynced()
    a.createObject('b1', { type: 'building', parentId: null, name: 'HQ' })
    await a.whenConfirmed()
    const before = Y.encodeStateVector(a.doc)
    let updates = 0
    a.doc.on('update', () => updates++)
    expect(() => a.createObject('f1', { type: 'floor', parentId: 'b1', name: 'Ground' })).toThrow(SchemaError) // a floor needs level and elevation
    expect(() =>
      a.batch((w) => {
        w.createObject('f2', { type: 'floor', parentId: 'b1', name: 'First', level: 1, elevation: 4 })
        w.updateObject('b1', { name: '' }) // names are not empty
      }),
    ).toThrow(SchemaError)
    expect(updates).toBe(0)
    expect(a.pendingChanges).toBe(0)
    expect(Y.encodeStateVector(a.doc)).toEqual(before)
    await serverHas(server.wsUrl, 'site/refused', (d) => d.getMap('objects').size === 1)
  })

  it('shows each client the others’ presence, sanitized', async () => {
    const a = open('site/presence')
    const b = open('site/presence', 10)
    await Promise.all([a.whenSynced(), b.whenSynced()])
    expect(b.awarenessTier).toBe(10)
    expect(a.awarenessTier).toBeNull()
    a.presence.setUser({ name: 'Ada', color: '#3366ff' })
    a.presence.setSelection(['b1'])
    const seen = await next(
      (fn) => b.presence.onChange(fn),
      () => b.presence.others().some((p) => p.user?.name === 'Ada' && p.selection?.[0] === 'b1'),
    )
    expect(seen).toBeTruthy()
    expect(b.presence.others().map((p) => p.clientId)).toEqual([a.doc.clientID])
  })
})
