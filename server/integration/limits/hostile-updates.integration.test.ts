/**
 * Issue 12's hostile updates, each against a real server process while a bystander (an
 * unchanged y-websocket client) keeps editing the same document: the attacker is closed with
 * the documented code, nothing of the refused update is applied, stored or fanned out, and the
 * bystander loses nothing, also after the document is reloaded from storage. How long the
 * event loop stalls is the hostile-input benchmark's job (BENCHMARKS.md), not these tests'.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { chainBomb, clientFlood, conflictBomb, deleteFlood, deletedContentWrite, encodeItems, shadowWrite } from '../../../load-tests/harness/craft.ts'
import { CloseCodes } from '../../../shared/protocol/close-codes.ts'
import { encodeUpdate } from '../../../shared/protocol/messages.ts'
import { createObject, readObjects, setAnchor } from '../../../shared/schema/document.ts'
import { eventually, provider, rawClient, serverHas, synced, untilDoc, type RawClient } from '../../../load-tests/harness/clients.ts'
import { killAllServers, metric, startServerProcess, type ServerProcess } from '../../../load-tests/harness/server-process.ts'
import type { WebsocketProvider } from 'y-websocket'

/** Edits `doc` every few ms until stopped (map `bystander`, or anchors of a site document); resolves to the keys it wrote. */
function keepEditing(p: WebsocketProvider, prefix: string, site = false): () => Promise<string[]> {
  const keys: string[] = []
  let running = true
  const loop = (async () => {
    while (running) {
      const key = `${prefix}${keys.length}`
      if (site)
        setAnchor(p.doc, key, { pose: { p: [keys.length, 0, 0], q: [0, 0, 0, 1] }, parentAnchorId: null, label: 'bystander', confidence: 1, updatedBy: 'test' })
      else p.doc.getMap('bystander').set(key, keys.length)
      keys.push(key)
      await new Promise((r) => setTimeout(r, 5)) // paces the bystander like a person editing, not a wait for a condition
    }
  })()
  return async () => {
    running = false
    await loop
    return keys
  }
}

/** The bystander's edits all reach a fresh client (from memory now). */
async function allArrive(url: string, doc: string, keys: string[], site = false): Promise<void> {
  const check = provider(url, doc)
  await synced(check)
  const map = site ? 'anchors' : 'bystander'
  await untilDoc(check.doc, `${keys.length} bystander edits`, (d) => keys.every((k) => d.getMap(map).has(k)), 20_000)
  check.destroy()
}

async function attack(url: string, doc: string, ...updates: Uint8Array[]): Promise<{ code: number; reason: string; client: RawClient }> {
  const client = await rawClient(`${url}/${doc}`)
  for (const u of updates) client.send(encodeUpdate(u))
  const closed = await Promise.race([
    client.closed,
    new Promise<{ code: number; reason: string }>((r) => setTimeout(() => r({ code: 0, reason: 'still open' }), 20_000)),
  ])
  return { ...closed, client }
}

describe('hostile updates are refused whole; the bystander loses nothing', () => {
  let server: ServerProcess
  beforeAll(async () => {
    server = await startServerProcess({ MAX_UPDATE_NEW_CLIENTS: 5000, MAX_CONNECTION_NEW_CLIENTS: 12_000, MAX_UPDATE_STRUCTS: 60_000 })
  })
  afterAll(() => killAllServers())

  it('finding 1: a conflicting-insert bomb (4,000 + 4,000 inserts at one position) is refused with 4413 before Yjs sees it', async () => {
    const doc = 'doc/bomb'
    const bystander = provider(server.wsUrl, doc)
    await synced(bystander)
    const stop = keepEditing(bystander, 'k')
    // The first batch alone is cheap for Yjs (it integrates the highest id first) and goes in;
    // the second, with higher ids, would scan every item of the first for each of its own.
    const first = await rawClient(`${server.wsUrl}/${doc}`)
    first.send(encodeUpdate(conflictBomb(4000, 1000)))
    await untilDoc(bystander.doc, 'the first batch', (d) => d.getText('t').length === 4000, 20_000)
    first.ws.close()
    const { code, reason } = await attack(server.wsUrl, doc, conflictBomb(4000, 100_000))
    expect(code).toBe(CloseCodes.UPDATE_OVER_LIMIT.code)
    expect(reason).toMatch(/concurrent inserts/)
    // Scaled up, and quadratic inside a single update: refused the same way.
    expect((await attack(server.wsUrl, doc, chainBomb(4000, 4000, 'u', 7, 200_000))).code).toBe(CloseCodes.UPDATE_OVER_LIMIT.code)
    const keys = await stop()
    await allArrive(server.wsUrl, doc, keys)
    expect(bystander.doc.getText('t').length).toBe(4000) // nothing of the bombs was fanned out
    expect(bystander.doc.getText('u').length).toBe(0)
    expect(await metric(server.httpUrl, 'atrium_updates_refused_total', { reason: 'conflicts' })).toBeGreaterThanOrEqual(2)
    bystander.destroy()
    // Reloaded from storage: the bystander's edits and the first batch, never the bombs.
    await eventually(
      'unloaded',
      () => metric(server.httpUrl, 'atrium_documents_loaded'),
      (n) => n === 0,
      20_000,
    )
    const reloaded = provider(server.wsUrl, doc)
    await synced(reloaded)
    await untilDoc(reloaded.doc, 'everything', (d) => keys.every((k) => d.getMap('bystander').has(k)))
    expect(reloaded.doc.getText('t').length).toBe(4000)
    expect(reloaded.doc.getText('u').length).toBe(0)
    reloaded.destroy()
  })

  it('finding 6: a client-id flood is refused with 4413, per update and per connection', async () => {
    const doc = 'doc/flood'
    const bystander = provider(server.wsUrl, doc)
    await synced(bystander)
    const stop = keepEditing(bystander, 'f')
    // 150,000 ids (1 MB): refused at the 5,001st, before the rest is read.
    const flood = await attack(server.wsUrl, doc, clientFlood(150_000, 10_000))
    expect(flood.code).toBe(CloseCodes.UPDATE_OVER_LIMIT.code)
    expect(flood.reason).toMatch(/new client ids in one update/)
    expect((await attack(server.wsUrl, doc, clientFlood(6000, 300_000))).reason).toMatch(/new client ids in one update \(limit 5000\)/)
    // 4,000 at a time passes the per-update bound, until the connection's 12,000 are used up.
    const many = await rawClient(`${server.wsUrl}/${doc}`)
    for (let k = 0; k < 4; k++) many.send(encodeUpdate(clientFlood(4000, 1_000_000 + k * 4000)))
    expect((await many.closed).code).toBe(CloseCodes.UPDATE_OVER_LIMIT.code)
    const keys = await stop()
    await allArrive(server.wsUrl, doc, keys)
    // Exactly the three batches that fitted, and nothing of the flood.
    const clients = Y.decodeStateVector(Y.encodeStateVector(bystander.doc))
    expect([...clients.keys()].filter((c) => c >= 10_000 && c < 1_000_000 + 16_000).length).toBe(12_000)
    expect(await metric(server.httpUrl, 'atrium_updates_refused_total', { reason: 'new_clients' })).toBeGreaterThanOrEqual(3)
    bystander.destroy()
  })

  it('an update with more structs than MAX_UPDATE_STRUCTS is refused with 4413 before it is read to the end', async () => {
    const items = Array.from({ length: 70_000 }, (_, k) => ({
      client: 77,
      clock: k,
      origin: k > 0 ? Y.createID(77, k - 1) : null,
      parent: k === 0 ? 'list' : null,
      content: { any: k },
    }))
    const { code, reason } = await attack(server.wsUrl, 'doc/structs', encodeItems(items))
    expect(code).toBe(CloseCodes.UPDATE_OVER_LIMIT.code)
    expect(reason).toMatch(/structs/)
  })

  describe('on a site document', () => {
    const doc = 'site/target'
    let owner: WebsocketProvider
    beforeAll(async () => {
      owner = provider(server.wsUrl, doc)
      await synced(owner)
      createObject(owner.doc, 'b1', { type: 'building', parentId: null, name: 'HQ' })
      createObject(owner.doc, 'f1', { type: 'floor', parentId: 'b1', name: 'L1', level: 1, elevation: 0 })
      createObject(owner.doc, 'z1', { type: 'zone', parentId: 'f1', name: 'East', bbox: [0, 0, 0, 10, 10, 3] })
      for (let k = 0; k < 5; k++)
        setAnchor(owner.doc, `a${k}`, { pose: { p: [k, 0, 0], q: [0, 0, 0, 1] }, parentAnchorId: null, label: 'x', confidence: 1, updatedBy: 'test' })
      await serverHas(server.wsUrl, doc, (d) => readObjects(d).has('z1') && d.getMap('anchors').size === 5)
    })
    afterAll(() => owner.destroy())

    const idOf = (object: string, field: string) => owner.doc.getMap<Y.Map<unknown>>('objects').get(object)!._map.get(field)!.id

    it('finding 3a: a deleted-content write that would become the current value of f1.name is refused with 4422', async () => {
      const stop = keepEditing(owner, 'n', true)
      const { code, reason } = await attack(server.wsUrl, doc, deletedContentWrite(9001, idOf('f1', 'name')))
      expect(code).toBe(CloseCodes.SCHEMA_VIOLATION.code)
      expect(reason).toMatch(/f1\.name/)
      await allArrive(server.wsUrl, doc, await stop(), true)
    })

    it('finding 3b: a shadow write of z1.type (placed before the current value) plus deleting the current value is refused with 4422', async () => {
      const { code, reason } = await attack(server.wsUrl, doc, shadowWrite(9002, idOf('z1', 'type'), 'zone'))
      expect(code).toBe(CloseCodes.SCHEMA_VIOLATION.code)
      expect(reason).toMatch(/z1\.type/)
    })

    it('finding 2: 40,000 copies of one deleted range are merged: deleting an anchor goes through, a required field is refused', async () => {
      const anchor = owner.doc.getMap('anchors')._map.get('a0')!.id
      const ok = await rawClient(`${server.wsUrl}/${doc}`)
      ok.send(encodeUpdate(deleteFlood(anchor.client, anchor.clock, 1, 40_000)))
      await untilDoc(owner.doc, 'the anchor deleted', (d) => !d.getMap('anchors').has('a0'))
      ok.ws.close()
      const name = idOf('b1', 'name')
      expect((await attack(server.wsUrl, doc, deleteFlood(name.client, name.clock, 1, 40_000))).code).toBe(CloseCodes.SCHEMA_VIOLATION.code)
    })

    it('after all of it the site is whole: every object keeps its fields, and the floor exports', async () => {
      const check = provider(server.wsUrl, doc)
      await synced(check)
      await untilDoc(check.doc, 'the site', (d) => d.getMap('objects').size === 3)
      const objects = readObjects(check.doc)
      expect(objects.get('f1')).toMatchObject({ name: 'L1', type: 'floor' })
      expect(objects.get('z1')).toMatchObject({ name: 'East', type: 'zone' })
      expect(objects.get('b1')).toMatchObject({ name: 'HQ' })
      check.destroy()
      const svg = await fetch(`${server.httpUrl}/api/documents/${encodeURIComponent(doc)}/export.svg?floor=f1`)
      expect(svg.status).toBe(200)
      expect(await metric(server.httpUrl, 'atrium_updates_refused_total', { reason: 'schema' })).toBeGreaterThanOrEqual(3)
    })
  })
})
