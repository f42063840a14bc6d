import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { CloseCodes } from '../../../shared/protocol/close-codes.ts'
import { eventually, provider, rawClient, synced, untilDoc } from '../../../load-tests/harness/clients.ts'
import { killAllServers, metric, startServerProcess } from '../../../load-tests/harness/server-process.ts'

afterEach(() => killAllServers())

describe('document lifecycle', () => {
  it('30 clients joining one document at the same instant trigger exactly one storage load', async () => {
    const server = await startServerProcess({ DOC_UNLOAD_GRACE_MS: 300 })
    const clients = Array.from({ length: 30 }, () => provider(server.wsUrl, 'doc/rush'))
    await Promise.all(clients.map((c) => synced(c)))
    clients[0]!.doc.getMap('m').set('k', 'v')
    await Promise.all(clients.map((c) => untilDoc(c.doc, 'edit fan-out', (d) => d.getMap('m').get('k') === 'v')))
    expect(await metric(server.httpUrl, 'atrium_storage_loads_total')).toBe(1)
    expect(await metric(server.httpUrl, 'atrium_documents_loaded')).toBe(1)
    expect(await metric(server.httpUrl, 'atrium_connections')).toBe(30)

    for (const c of clients) c.destroy()
    // Unloaded after the grace period, with its edit durable; a new client loads it again.
    await eventually(
      'document unloaded',
      () => metric(server.httpUrl, 'atrium_documents_loaded'),
      (n) => n === 0,
    )
    const again = provider(server.wsUrl, 'doc/rush')
    await synced(again)
    await untilDoc(again.doc, 'reloaded content', (d) => d.getMap('m').get('k') === 'v')
    expect(await metric(server.httpUrl, 'atrium_storage_loads_total')).toBe(2)
    again.destroy()
  })
})

describe('durability', () => {
  it('an edit survives SIGKILL once its flush window has passed and the server reports it durable', async () => {
    const server = await startServerProcess({ FLUSH_INTERVAL_MS: 25 })
    const writer = provider(server.wsUrl, 'doc/durable')
    const watcher = provider(server.wsUrl, 'doc/durable')
    await Promise.all([synced(writer), synced(watcher)])
    const objects = writer.doc.getMap('objects')
    for (let i = 0; i < 200; i++) objects.set(`o${i}`, { type: 'component', name: `c${i}` })
    writer.doc.getText('notes').insert(0, 'survives kill -9')
    // The watcher seeing every edit proves the server accepted (and queued) them; then the flush makes them durable.
    await untilDoc(watcher.doc, 'server accepted all edits', (d) => d.getMap('objects').size === 200 && d.getText('notes').length > 0)
    await eventually(
      'every edit durable',
      () => metric(server.httpUrl, 'atrium_storage_pending_updates'),
      (n) => n === 0,
    )
    expect((await server.kill('SIGKILL')).signal).toBe('SIGKILL')
    writer.destroy()
    watcher.destroy()

    const restarted = await startServerProcess({}, server.dataDir)
    const reader = provider(restarted.wsUrl, 'doc/durable')
    await synced(reader)
    expect(reader.doc.getMap('objects').size).toBe(200)
    expect(reader.doc.getText('notes').toString()).toBe('survives kill -9')
    expect(reader.doc.getMap('objects').toJSON()).toEqual(writer.doc.getMap('objects').toJSON())
    reader.destroy()
  })

  it('compacts a long log into a snapshot in a worker; content is unchanged after restart and the log is shorter', async () => {
    const threshold = 20
    const server = await startServerProcess({ COMPACT_THRESHOLD: threshold, FLUSH_INTERVAL_MS: 1 })
    const a = provider(server.wsUrl, 'doc/compact')
    const b = provider(server.wsUrl, 'doc/compact')
    await Promise.all([synced(a), synced(b)])
    const text = a.doc.getText('t')
    for (let i = 0; i < 60; i++) {
      a.doc.getMap('m').set(`k${i}`, i)
      if (i % 3 === 0) text.insert(text.length, `${i},`)
      if (i % 10 === 9) a.doc.getMap('m').delete(`k${i - 5}`)
      await untilDoc(b.doc, `edit ${i}`, (d) => d.getMap('m').get(`k${i}`) === i)
      // Each edit durable before the next: its own group commit, so the log really grows.
      await eventually(
        `edit ${i} durable`,
        () => metric(server.httpUrl, 'atrium_storage_pending_updates'),
        (n) => n === 0,
      )
    }
    await eventually(
      'a compaction',
      () => metric(server.httpUrl, 'atrium_compactions_total', { result: 'ok' }),
      (n) => n >= 1,
      30_000,
    )
    const expected = { m: a.doc.getMap('m').toJSON(), t: text.toString() }
    a.destroy()
    b.destroy()
    expect((await server.kill('SIGTERM')).code).toBe(0)

    const restarted = await startServerProcess({ COMPACT_THRESHOLD: threshold }, server.dataDir)
    const info = (await (await fetch(`${restarted.httpUrl}/api/documents/${encodeURIComponent('doc/compact')}`)).json()) as {
      updateLogLength: number
      snapshotBytes: number
      content: Record<string, unknown>
    }
    expect(info.snapshotBytes).toBeGreaterThan(0)
    expect(info.updateLogLength).toBeLessThan(threshold)
    expect(info.content).toEqual(expected)
    const reader = provider(restarted.wsUrl, 'doc/compact')
    await synced(reader)
    expect({ m: reader.doc.getMap('m').toJSON(), t: reader.doc.getText('t').toString() }).toEqual(expected)
    reader.destroy()
  })
})

describe('graceful shutdown', () => {
  it('SIGTERM closes sockets with 1001, flushes every document and exits 0', async () => {
    // A long flush window: only the shutdown flush can have written these edits.
    const server = await startServerProcess({ FLUSH_INTERVAL_MS: 1000 })
    const editor = provider(server.wsUrl, 'doc/shutdown')
    await synced(editor)
    const raw = await rawClient(`${server.wsUrl}/doc/shutdown-raw`)
    const watcher = provider(server.wsUrl, 'doc/shutdown')
    await synced(watcher)
    editor.doc.getMap('m').set('last words', 'flushed on SIGTERM')
    await untilDoc(watcher.doc, 'accepted', (d) => d.getMap('m').has('last words'))
    editor.shouldConnect = false
    watcher.shouldConnect = false
    const exit = await server.kill('SIGTERM')
    expect(exit.code).toBe(0)
    expect((await raw.closed).code).toBe(CloseCodes.GOING_AWAY.code)
    editor.destroy()
    watcher.destroy()

    const restarted = await startServerProcess({}, server.dataDir)
    const reader = provider(restarted.wsUrl, 'doc/shutdown')
    await synced(reader)
    expect(reader.doc.getMap('m').get('last words')).toBe('flushed on SIGTERM')
    expect(Y.encodeStateAsUpdate(reader.doc).length).toBeGreaterThan(0)
    reader.destroy()
  })
})
