/**
 * Quotas and rates (issue 14), each breached on purpose against a real server process while a
 * well-behaved client on the same document keeps editing with no loss: messages, bytes and
 * awareness per second per connection (4429), sockets per address (4532), documents per node
 * (4533 and REST 503), and over REST: named snapshots per minute and per document, compute
 * requests per address.
 */
import { afterAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { closeCode, closeCodes, eventually, on, provider, rawClient, synced, until, untilDoc } from '../../../load-tests/harness/clients.ts'
import { killAllServers, metric, type ServerProcess, startServerProcess } from '../../../load-tests/harness/server-process.ts'
import { encodeAwarenessUpdate } from '../../../shared/protocol/awareness.ts'
import { CloseCodes } from '../../../shared/protocol/close-codes.ts'
import { encodeAwareness, encodeUpdate } from '../../../shared/protocol/messages.ts'

/** A flood from a raw socket; resolves with the close code it gets (0: never closed). */
async function flood(server: ServerProcess, doc: string, frames: () => Uint8Array, count: number): Promise<number> {
  const c = await rawClient(`${server.wsUrl}/${doc}`)
  for (let i = 0; i < count && c.ws.readyState === c.ws.OPEN; i++) c.send(frames())
  return closeCode(c)
}

/** An editor that writes `n` keys at 20 a second and must see every one stored. */
async function steadyEditor(server: ServerProcess, doc: string, n: number): Promise<{ done: Promise<void>; codes: number[] }> {
  const p = provider(server.wsUrl, doc)
  const codes = closeCodes(p)
  await synced(p)
  const done = (async () => {
    for (let i = 0; i < n; i++) {
      p.doc.getMap('steady').set(`k${i}`, i)
      await new Promise((r) => setTimeout(r, 50)) // a person's pace, the point of the test
    }
    const check = provider(server.wsUrl, doc)
    await synced(check)
    await untilDoc(check.doc, 'every steady edit', (d) => d.getMap('steady').size === n)
    check.destroy()
    p.destroy()
  })()
  return { done, codes }
}

describe('quotas and rates', () => {
  afterAll(() => killAllServers())

  it('a connection over its messages, bytes or awareness per second is closed with 4429; an editor at a human pace is not', async () => {
    const server = await startServerProcess({
      MAX_MESSAGES_PER_S: 50,
      MESSAGE_BURST: 100,
      MAX_BYTES_PER_S: 64 * 1024,
      BYTES_BURST: 256 * 1024,
      MAX_AWARENESS_PER_S: 10,
      AWARENESS_BURST: 20,
    })
    const editor = await steadyEditor(server, 'doc/q', 40)
    const local = new Y.Doc()
    let k = 0
    const tiny = () => {
      let u: Uint8Array = new Uint8Array()
      local.once('update', (x: Uint8Array) => (u = x))
      local.getMap('flood').set(`f${k++}`, k)
      return encodeUpdate(u)
    }
    expect(await flood(server, 'doc/q', tiny, 500)).toBe(CloseCodes.RATE_LIMITED.code)
    const big = () => encodeUpdate(new Uint8Array(100 * 1024)) // never parsed: the rate refuses it first
    expect(await flood(server, 'doc/q', big, 10)).toBe(CloseCodes.RATE_LIMITED.code)
    let clock = 1
    const presence = () =>
      encodeAwareness(encodeAwarenessUpdate([{ clientId: 4242, clock: clock++, state: new TextEncoder().encode('{"user":{"name":"loud"}}') }]))
    expect(await flood(server, 'doc/q', presence, 100)).toBe(CloseCodes.RATE_LIMITED.code)
    await editor.done
    expect(editor.codes).toEqual([])
    expect(await metric(server.httpUrl, 'atrium_protocol_errors_total', { reason: 'RATE_LIMITED' })).toBe(3)
  })

  it('an unchanged y-websocket client that echoes busy presence is not charged for the echoes (only for its own presence)', async () => {
    const server = await startServerProcess({ MAX_AWARENESS_PER_S: 10, AWARENESS_BURST: 20 })
    // y-websocket 3.1 sends back every awareness change it receives (yjs/yjs#732).
    const viewer = provider(server.wsUrl, 'doc/echo')
    const codes = closeCodes(viewer)
    await synced(viewer)
    viewer.awareness.setLocalStateField('user', { name: 'viewer' })
    // Five headsets at 8 Hz each: each under its own rate, 40 changes a second that the viewer echoes.
    const headsets = await Promise.all(Array.from({ length: 5 }, () => rawClient(`${server.wsUrl}/doc/echo`)))
    for (let tick = 1; tick <= 24; tick++) {
      for (const [i, h] of headsets.entries()) {
        h.send(encodeAwareness(encodeAwarenessUpdate([{ clientId: 9000 + i, clock: tick, state: new TextEncoder().encode(`{"tick":${tick}}`) }])))
        await new Promise((r) => setTimeout(r, 25)) // staggered: each headset 8 times a second, the server relays 40 changes a second
      }
    }
    const states = () => [...viewer.awareness.getStates().values()].filter((st) => st.tick === 24).length
    await until('every headset’s last pose at the viewer', () => states() === 5, on(viewer.awareness, 'change'))
    expect(codes).toEqual([])
    for (const h of headsets) expect(await closeCode(h, 100)).toBe(0)
    viewer.destroy()
  })

  it('sockets past MAX_CONNECTIONS_PER_ADDRESS are closed with 4532 (retryable); a place frees when one leaves', async () => {
    const server = await startServerProcess({ MAX_CONNECTIONS_PER_ADDRESS: 3 })
    const three = await Promise.all([1, 2, 3].map(() => rawClient(`${server.wsUrl}/doc/c`)))
    const fourth = await rawClient(`${server.wsUrl}/doc/c`)
    expect((await fourth.closed).code).toBe(CloseCodes.TOO_MANY_CONNECTIONS.code)
    three[0]!.ws.close()
    await three[0]!.closed
    const again = await rawClient(`${server.wsUrl}/doc/c`)
    expect(await closeCode(again, 1000)).toBe(0) // still open
    for (const c of three) c.ws.close()
  })

  it('a node holding MAX_LOADED_DOCUMENTS refuses to load one more (4533, REST 503) and serves the loaded ones', async () => {
    const server = await startServerProcess({ MAX_LOADED_DOCUMENTS: 2, DOC_UNLOAD_GRACE_MS: 200 })
    // doc/three is stored, then unloaded.
    const writer = provider(server.wsUrl, 'doc/three')
    await synced(writer)
    writer.doc.getMap('m').set('k', 'v')
    await eventually(
      'doc/three stored',
      async () => (await fetch(`${server.httpUrl}/api/documents`)).text(),
      (t) => t.includes('doc/three'),
    )
    writer.destroy()
    await eventually(
      'doc/three unloaded',
      () => metric(server.httpUrl, 'atrium_documents_loaded'),
      (n) => n === 0,
    )
    const a = provider(server.wsUrl, 'doc/one')
    const b = provider(server.wsUrl, 'doc/two')
    await Promise.all([synced(a), synced(b)])
    const c = provider(server.wsUrl, 'doc/three')
    const codes = closeCodes(c)
    await eventually(
      'the refusal',
      async () => codes.length,
      (n) => n > 0,
    )
    expect(codes[0]).toBe(CloseCodes.TOO_MANY_DOCUMENTS.code)
    c.destroy()
    const rest = await fetch(`${server.httpUrl}/api/documents/doc%2Fthree`)
    expect(rest.status).toBe(503)
    expect(rest.headers.get('retry-after')).toBe('5')
    a.doc.getMap('m').set('still', 'served')
    const a2 = provider(server.wsUrl, 'doc/one')
    await synced(a2)
    await untilDoc(a2.doc, 'the edit on a loaded document', (d) => d.getMap('m').get('still') === 'served')
    for (const p of [a, b, a2]) p.destroy()
  })
})

describe('REST quotas', () => {
  afterAll(() => killAllServers())

  it('snapshots: past MAX_SNAPSHOTS_PER_MINUTE 429 with Retry-After, past MAX_SNAPSHOTS_PER_DOCUMENT 409; compute requests past their rate 429', async () => {
    const server = await startServerProcess({ MAX_SNAPSHOTS_PER_MINUTE: 3, MAX_SNAPSHOTS_PER_DOCUMENT: 5, MAX_COMPUTE_REQUESTS_PER_S: 5 })
    const p = provider(server.wsUrl, 'site/snap')
    await synced(p)
    p.doc.getMap('anchors').set('a', { pose: { p: [0, 0, 0], q: [0, 0, 0, 1] }, parentAnchorId: null, label: 'x', confidence: 1, updatedBy: 't' })
    const url = `${server.httpUrl}/api/documents/${encodeURIComponent('site/snap')}`
    await eventually(
      'stored',
      async () => (await fetch(`${server.httpUrl}/api/documents`)).text(),
      (t) => t.includes('site/snap'),
    )
    const post = () => fetch(`${url}/snapshots`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"label":"v"}' })
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push((await post()).status)
    expect(statuses).toEqual([201, 201, 201, 429])
    const limited = await post()
    expect(limited.headers.get('retry-after')).toBe('60')
    expect(((await limited.json()) as { error: string }).error).toBe('rate_limited')
    // The compute rate: 5/s with a burst of 20 from one address (the snapshot POSTs took some).
    const codes: number[] = []
    for (let i = 0; i < 30; i++) codes.push((await fetch(`${url}/snapshots`)).status)
    expect(codes).toContain(429)
    expect(codes[0]).toBe(200)
    expect(await metric(server.httpUrl, 'atrium_http_rate_limited_total')).toBeGreaterThan(0)
    p.destroy()

    const small = await startServerProcess({ MAX_SNAPSHOTS_PER_DOCUMENT: 2 })
    const q = provider(small.wsUrl, 'site/snap')
    await synced(q)
    q.doc.getMap('anchors').set('a', { pose: { p: [0, 0, 0], q: [0, 0, 0, 1] }, parentAnchorId: null, label: 'x', confidence: 1, updatedBy: 't' })
    await eventually(
      'stored',
      async () => (await fetch(`${small.httpUrl}/api/documents`)).text(),
      (t) => t.includes('site/snap'),
    )
    const postSmall = () =>
      fetch(`${small.httpUrl}/api/documents/site%2Fsnap/snapshots`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"label":"v"}' })
    const kept: number[] = []
    for (let i = 0; i < 3; i++) kept.push((await postSmall()).status)
    expect(kept).toEqual([201, 201, 409])
    q.destroy()
  })
})

describe('the largest document', () => {
  afterAll(() => killAllServers())

  it('an update that would take a document past MAX_DOCUMENT_BYTES is refused with 4413, nothing of it applied; others keep editing small', async () => {
    const server = await startServerProcess({ MAX_DOCUMENT_BYTES: 1024 * 1024 })
    const steady = await steadyEditor(server, 'doc/big', 10)
    const writer = provider(server.wsUrl, 'doc/big')
    const codes = closeCodes(writer)
    await synced(writer)
    writer.doc.getText('t').insert(0, 'x'.repeat(700 * 1024)) // fits
    await eventually(
      'the first half stored',
      () => metric(server.httpUrl, 'atrium_updates_refused_total'),
      (n) => n === 0,
    )
    writer.doc.getText('t').insert(0, 'y'.repeat(700 * 1024)) // would pass 1 MiB
    await eventually(
      'the refusal',
      async () => codes.length,
      (n) => n >= 1,
    )
    expect(codes[0]).toBe(CloseCodes.UPDATE_OVER_LIMIT.code)
    writer.destroy()
    await steady.done
    expect(steady.codes).toEqual([])
    const check = provider(server.wsUrl, 'doc/big')
    await synced(check)
    await untilDoc(check.doc, 'the first insert', (d) => d.getText('t').length >= 700 * 1024)
    expect(check.doc.getText('t').toString().includes('y')).toBe(false)
    expect(await metric(server.httpUrl, 'atrium_updates_refused_total', { reason: 'document' })).toBe(1)
    check.destroy()
  })
})
