/**
 * Schema validation on the wire: a client writing an invalid object into a site document is
 * closed with 4422 naming the error, its update is neither applied, fanned out nor stored,
 * and a valid client on the same document carries on. Documents outside SCHEMA_DOCS stay
 * free-form. Real y-websocket clients, in-process server on LMDB.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startInProcess, type InProcessServer } from '../../testing/in-process.ts'
import * as Y from 'yjs'
import { CloseCodes } from '../../../shared/protocol/close-codes.ts'
import { createObject, readObjects, updateObject } from '../../../shared/schema/document.ts'
import { eventually, provider, synced, untilDoc } from '../../../load-tests/harness/clients.ts'

describe('schema validation of site documents', () => {
  let node: InProcessServer
  let url: string
  beforeAll(async () => {
    node = await startInProcess()
    url = node.url
  })
  afterAll(() => node.close())

  it('closes the client that writes an invalid object with 4422; the valid client carries on; nothing invalid is stored', async () => {
    const good = provider(url, 'site/guarded')
    await synced(good)
    createObject(good.doc, 'b', { type: 'building', parentId: null, name: 'HQ' })
    createObject(good.doc, 'f', { type: 'floor', parentId: 'b', name: 'L1', level: 1, elevation: 0 })

    const bad = provider(url, 'site/guarded')
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      bad.on('connection-close', (e: CloseEvent | null) => resolve({ code: e?.code ?? 0, reason: e?.reason ?? '' })),
    )
    await synced(bad)
    await untilDoc(bad.doc, 'the floor', (d) => d.getMap('objects').has('f'))
    // Bypasses the helpers: a floor whose level is not an integer.
    bad.doc.getMap<Y.Map<unknown>>('objects').get('f')!.set('level', 1.5)
    const { code, reason } = await closed
    bad.destroy()
    expect(code).toBe(CloseCodes.SCHEMA_VIOLATION.code)
    expect(CloseCodes.SCHEMA_VIOLATION.retry).toBe(false)
    expect(reason).toMatch(/objects\/f\.level/)

    updateObject(good.doc, 'f', { name: 'Ground floor' })
    createObject(good.doc, 'z', { type: 'zone', parentId: 'f', name: 'East' })
    const check = provider(url, 'site/guarded')
    await synced(check)
    await untilDoc(check.doc, 'the zone', (d) => d.getMap('objects').has('z'))
    expect(readObjects(check.doc).get('f')).toMatchObject({ level: 1, name: 'Ground floor' })
    good.destroy()
    check.destroy()
    // Stored: the valid edits (up to the last one, the zone), never the invalid one.
    const storedObjects = async () => {
      const replica = new Y.Doc()
      for (const u of (await node.store.load('site/guarded'))?.updates ?? []) Y.applyUpdate(replica, u)
      return readObjects(replica)
    }
    const stored = await eventually('the zone stored', storedObjects, (objects) => objects.has('z'))
    expect(stored.get('f')).toMatchObject({ level: 1, name: 'Ground floor' })
    expect(Number((await node.server.metrics.schemaViolations.get()).values[0]?.value)).toBe(1)
  })

  it('leaves documents outside SCHEMA_DOCS free-form', async () => {
    const a = provider(url, 'load/free')
    const b = provider(url, 'load/free')
    await Promise.all([synced(a), synced(b)])
    a.doc.getMap('anything').set('x', { whatever: true })
    await untilDoc(b.doc, 'the free-form write', (d) => d.getMap('anything').has('x'))
    a.destroy()
    b.destroy()
  })
})
