/**
 * Issue 12, finding 7: what the node buffers for clients that do not read is bounded node-wide
 * (the sockets holding the most are closed with 4509 and resync when they reconnect), and a
 * document larger than one socket's outbound limit can still be joined while it is edited
 * (its first sync goes in chunks, paced by the joiner's socket).
 */
import type { Socket } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { CloseCodes } from '../../../shared/protocol/close-codes.ts'
import { encodeSyncStep1, encodeUpdate } from '../../../shared/protocol/messages.ts'
import { generateSite } from '../../../shared/schema/generate.ts'
import { objectsOf, setAnchor } from '../../../shared/schema/document.ts'
import { eventually, provider, rawClient, serverHas, synced, untilDoc } from '../../../load-tests/harness/clients.ts'
import { killAllServers, metric, startServerProcess } from '../../../load-tests/harness/server-process.ts'

/** One writer: 400 updates of 30 KB (12 MB), fanned out to every socket of the document. */
async function write12MB(url: string) {
  const writer = await rawClient(url)
  const local = new Y.Doc()
  local.on('update', (u: Uint8Array) => writer.send(encodeUpdate(u)))
  for (let i = 0; i < 400; i++) {
    local.getText('t').insert(0, 'x'.repeat(30_000))
    // Readers share this process: let them read, or they are as slow as the stalled sockets.
    if (i % 10 === 9) await new Promise((r) => setImmediate(r))
  }
  return writer
}

describe('outbound bytes', () => {
  afterAll(() => killAllServers())

  it('a document four times larger than a socket may buffer is joined while it is being edited', async () => {
    const server = await startServerProcess({ MAX_BACKPRESSURE_BYTES: 1024 * 1024 })
    const src = new Y.Doc()
    generateSite(src, { objects: 15_000, batch: 1000 })
    expect(Y.encodeStateAsUpdate(src).length).toBeGreaterThan(3 * 1024 * 1024)
    const owner = provider(server.wsUrl, 'site/large', src)
    await synced(owner)
    // The whole site is in before anyone joins (an upload is applied in slices).
    await serverHas(server.wsUrl, 'site/large', (d) => objectsOf(d).size === 15_000, 30_000)
    let editing = true
    let k = 0
    const edits = (async () => {
      while (editing) {
        setAnchor(owner.doc, `live${k++}`, { pose: { p: [k, 0, 0], q: [0, 0, 0, 1] }, parentAnchorId: null, label: 'live', confidence: 1, updatedBy: 't' })
        await new Promise((r) => setTimeout(r, 5)) // paces the owner's live edits during the join, not a wait for a condition
      }
    })()
    const joiner = provider(server.wsUrl, 'site/large')
    const closes: number[] = []
    joiner.on('connection-close', (e: CloseEvent | null) => e && closes.push(e.code))
    await synced(joiner, 30_000)
    await untilDoc(joiner.doc, 'every object', (d) => objectsOf(d).size === 15_000, 30_000)
    editing = false
    await edits
    await untilDoc(joiner.doc, 'every live edit', (d) => d.getMap('anchors').has(`live${k - 1}`), 20_000)
    expect(closes).toEqual([])
    owner.destroy()
    joiner.destroy()
  })

  it('sockets that never read are closed, largest first, once the node buffers more than MAX_OUTBOUND_BYTES; readers carry on', async () => {
    const server = await startServerProcess({ MAX_OUTBOUND_BYTES: 4 * 1024 * 1024, MAX_BACKPRESSURE_BYTES: 64 * 1024 * 1024 })
    const doc = 'doc/slow'
    const reader = provider(server.wsUrl, doc)
    await synced(reader)
    const stalled = await Promise.all(Array.from({ length: 12 }, () => rawClient(`${server.wsUrl}/${doc}`)))
    for (const s of stalled) {
      s.send(encodeSyncStep1(new Uint8Array([0])))
      ;(s.ws as unknown as { _socket: Socket })._socket.pause() // stops reading: the server's buffer for it grows
    }
    const writer = await write12MB(`${server.wsUrl}/${doc}`)
    reader.doc.getMap('m').set('still', 'working')
    await eventually(
      'slow sockets closed',
      () => metric(server.httpUrl, 'atrium_protocol_errors_total', { reason: 'TOO_SLOW' }),
      (n) => n >= 1,
      20_000,
    )
    expect(await metric(server.httpUrl, 'atrium_outbound_buffered_bytes')).toBeLessThanOrEqual(4 * 1024 * 1024)
    // The stalled clients learn it once they read again: the close frame is behind what they never read.
    for (const s of stalled) (s.ws as unknown as { _socket: Socket })._socket.resume()
    const closes = await Promise.all(
      stalled.map((s) => Promise.race([s.closed, new Promise<{ code: number }>((r) => setTimeout(() => r({ code: 0 }), 20_000))])),
    )
    expect(closes.filter((c) => c.code === CloseCodes.TOO_SLOW.code).length).toBeGreaterThanOrEqual(1)
    // The reader kept up and is still connected, and sees the last state.
    const check = provider(server.wsUrl, doc)
    await synced(check)
    await untilDoc(check.doc, 'the reader edit', (d) => d.getMap('m').get('still') === 'working')
    expect(reader.wsconnected).toBe(true)
    reader.destroy()
    check.destroy()
    writer.ws.close()
  })

  it('an unchanged y-websocket provider closed as too slow (4509, retryable) reconnects and resyncs by itself', async () => {
    const server = await startServerProcess({ MAX_OUTBOUND_BYTES: 1024 * 1024, MAX_BACKPRESSURE_BYTES: 64 * 1024 * 1024 })
    const doc = 'doc/sleeper'
    const sleeper = provider(server.wsUrl, doc)
    await synced(sleeper)
    const closes: number[] = []
    sleeper.on('connection-close', (e: CloseEvent | null) => e && closes.push(e.code))
    const socket = (sleeper.ws as unknown as { _socket: Socket })._socket
    socket.pause() // the only socket that stops reading: once the node holds more than 1 MiB, it is the largest
    const writer = await write12MB(`${server.wsUrl}/${doc}`)
    await eventually(
      'the sleeper closed',
      () => metric(server.httpUrl, 'atrium_protocol_errors_total', { reason: 'TOO_SLOW' }),
      (n) => n >= 1,
      20_000,
    )
    socket.resume()
    await untilDoc(sleeper.doc, 'the sleeper resynced', (d) => d.getText('t').length === 400 * 30_000, 20_000)
    expect(closes).toContain(CloseCodes.TOO_SLOW.code)
    sleeper.destroy()
    writer.ws.close()
  })
})
