import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, provider, synced, untilDoc } from '../../../load-tests/harness/clients.ts'
import { killAllServers, metric, startServerProcess, type ServerProcess } from '../../../load-tests/harness/server-process.ts'

describe('HTTP on the WebSocket port', () => {
  let server: ServerProcess
  const get = (path: string) => fetch(`${server.httpUrl}${path}`)
  beforeAll(async () => {
    server = await startServerProcess()
    // Three documents with content, one of them with a slash in its name.
    for (const name of ['doc/hq-tower', 'alpha', 'doc/annex']) {
      const a = provider(server.wsUrl, name)
      const b = provider(server.wsUrl, name)
      await Promise.all([synced(a), synced(b)])
      a.doc.getMap('objects').set('b1', { type: 'building', name })
      a.doc.getText('notes').insert(0, `notes of ${name}`)
      a.doc.getArray('list').push([1, 2])
      await untilDoc(b.doc, 'edit seen', (d) => d.getArray('list').length === 2)
      a.destroy()
      b.destroy()
    }
  })
  afterAll(() => killAllServers())

  it('answers /healthz and /readyz', async () => {
    expect(await (await get('/healthz')).json()).toEqual({ status: 'ok' })
    const ready = await get('/readyz')
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ status: 'ready', checks: { listening: true, storageWritable: true } })
  })

  it('exposes Prometheus metrics', async () => {
    const res = await get('/metrics')
    expect(res.headers.get('content-type')).toMatch(/text\/plain/)
    const text = await res.text()
    for (const name of [
      'atrium_connections',
      'atrium_documents_loaded',
      'atrium_messages_received_total',
      'atrium_bytes_received_total',
      'atrium_messages_sent_total',
      'atrium_bytes_sent_total',
      'atrium_update_apply_seconds_bucket',
      'atrium_storage_flush_seconds_bucket',
      'atrium_compactions_total',
      'atrium_compaction_seconds_bucket',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(text, name).toContain(name)
    }
    expect(await metric(server.httpUrl, 'atrium_messages_received_total', { type: 'update' })).toBeGreaterThan(0)
    expect(await metric(server.httpUrl, 'atrium_bytes_sent_total')).toBeGreaterThan(0)
  })

  it('lists documents in pages', async () => {
    const first = (await (await get('/api/documents?limit=2')).json()) as { documents: string[]; next: string | null }
    expect(first.documents).toEqual(['alpha', 'doc/annex'])
    expect(first.next).toBe('doc/annex')
    const second = (await (await get(`/api/documents?limit=2&after=${encodeURIComponent(first.next!)}`)).json()) as { documents: string[]; next: string | null }
    expect(second).toEqual({ documents: ['doc/hq-tower'], next: null })
    const bad = await get('/api/documents?limit=0')
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ error: 'bad_limit' })
  })

  it('returns a document as JSON with its size and log length (name URL-encoded)', async () => {
    const res = await get('/api/documents/doc%2Fhq-tower')
    expect(res.status).toBe(200)
    const body = (await res.json()) as Record<string, unknown>
    expect(body).toMatchObject({
      name: 'doc/hq-tower',
      content: { objects: { b1: { type: 'building', name: 'doc/hq-tower' } }, notes: 'notes of doc/hq-tower', list: [1, 2] },
    })
    expect(body.size).toBeGreaterThan(0)
    expect(body.updateLogLength).toBeGreaterThan(0)
  })

  it("keeps a document's JSON current across edits made after it was first read (parts start with the first read)", async () => {
    const content = async () => ((await (await get('/api/documents/alpha')).json()) as { content: { list: unknown[]; notes: string } }).content
    expect((await content()).list).toEqual([1, 2])
    const a = provider(server.wsUrl, 'alpha')
    await synced(a)
    // More edits than PARTS_REBASE_AT, so the parts are merged in the pool while it is read.
    for (let i = 0; i < 600; i++) a.doc.getArray('list').push([i + 3])
    a.doc.getText('notes').insert(0, 'new ')
    const seen = await eventually('every edit in the JSON', content, (c) => c.list.length === 602 && c.notes.startsWith('new '))
    expect(seen.list.at(-1)).toBe(602)
    expect(seen.notes).toBe('new notes of alpha')
    a.destroy()
  })

  it('answers 404 for an unknown document or route and 400 for a bad name', async () => {
    const missing = await get('/api/documents/doc%2Fnowhere')
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ error: 'not_found' })
    expect((await get('/api/documents/bad%20name')).status).toBe(400)
    expect((await get('/api/documents/%E0%A4%A')).status).toBe(400)
    expect((await get('/no/such/route')).status).toBe(404)
  })
})
