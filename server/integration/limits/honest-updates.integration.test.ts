/**
 * What admission must never refuse (issue 12): a client back from a long offline session with
 * concurrent edits at the same places, a client carrying other clients' edits in one sync step 2
 * after the server lost its data, typing a long text one keystroke at a time, a large upload in
 * one message. Unchanged y-websocket clients against a real server process; none is closed, and
 * everyone converges. (The seed generator writing 100,000 objects through the schema guard is
 * server/compute/compute.integration.test.ts's test of a 100,000-object building.)
 */
import { rm } from 'node:fs/promises'
import { afterAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { WebsocketProvider } from 'y-websocket'
import { generateSite } from '../../../shared/schema/generate.ts'
import { objectsOf } from '../../../shared/schema/document.ts'
import { provider, synced, until, untilDoc } from '../../../load-tests/harness/clients.ts'
import { killAllServers, metric, startServerProcess } from '../../../load-tests/harness/server-process.ts'

/** Fails the test if the server closes this provider with a code of its own (≥ 4000). */
function watchCloses(p: WebsocketProvider): string[] {
  const closes: string[] = []
  p.on('connection-close', (e: CloseEvent | null) => {
    if (e && e.code >= 4000) closes.push(`${e.code} ${e.reason}`)
  })
  return closes
}

const sorted = (d: Y.Doc) => JSON.stringify([...d.getMap('m').entries()].sort(([x], [y]) => (x < y ? -1 : 1)))
const sameContent = (a: Y.Doc, b: Y.Doc) => a.getText('t').toString() === b.getText('t').toString() && sorted(a) === sorted(b)

describe('honest clients pass admission', () => {
  afterAll(() => killAllServers())

  it('a long offline session with concurrent edits at the same places, merged in one sync step 2', async () => {
    const server = await startServerProcess()
    // The returning client has the higher id: Yjs then scans the other's run at every shared
    // spot (1.3 million steps for this session, the expensive way round; BENCHMARKS.md).
    const docA = new Y.Doc()
    const docB = new Y.Doc()
    docA.clientID = 2_000_000_000
    docB.clientID = 1_000_000_000
    const a = provider(server.wsUrl, 'doc/offline', docA)
    const b = provider(server.wsUrl, 'doc/offline', docB)
    const closesA = watchCloses(a)
    const closesB = watchCloses(b)
    await Promise.all([synced(a), synced(b)])
    a.doc.getText('t').insert(0, 'shared base text for both editors')
    await untilDoc(b.doc, 'the base', (d) => d.getText('t').length > 0)
    a.disconnect()
    // Both type at the same few positions for a long while, one keystroke per transaction.
    for (let i = 0; i < 3000; i++) {
      for (const [p, who] of [
        [a, 'a'],
        [b, 'b'],
      ] as const) {
        const t = p.doc.getText('t')
        t.insert(i % 7 === 0 ? 0 : Math.min(t.length, 10 + (i % 5)), who)
        if (i % 50 === 0) t.delete(Math.min(t.length - 1, 3), 1)
        p.doc.getMap('m').set(`k${i % 40}`, `${who}${i}`)
      }
    }
    a.connect()
    await synced(a)
    // Either document may be the one that moves last.
    await until(
      'convergence',
      () => sameContent(a.doc, b.doc),
      (wake) => {
        a.doc.on('update', wake)
        b.doc.on('update', wake)
        return () => {
          a.doc.off('update', wake)
          b.doc.off('update', wake)
        }
      },
      20_000,
    )
    expect([...closesA, ...closesB]).toEqual([])
    expect(await metric(server.httpUrl, 'atrium_updates_refused_total')).toBe(0)
    a.destroy()
    b.destroy()
  })

  it("a client's sync step 2 carrying other clients' edits after the server lost its data", async () => {
    const first = await startServerProcess()
    const editors = [0, 1, 2].map(() => provider(first.wsUrl, 'doc/lost'))
    await Promise.all(editors.map((p) => synced(p)))
    editors.forEach((p, k) => {
      for (let i = 0; i < 200; i++) p.doc.getMap('m').set(`e${k}-${i}`, i)
      p.doc.getText('t').insert(0, `editor ${k} `)
    })
    const keeper = editors[0]!
    await untilDoc(keeper.doc, 'every edit', (d) => d.getMap('m').size === 600 && d.getText('t').length === 27)
    for (const p of editors) p.destroy()
    // The server is gone with its data; a new one starts empty. The one client still holding
    // the document connects (y-websocket sends everything the server lacks in one sync step 2).
    await first.kill('SIGKILL')
    await rm(first.dataDir, { recursive: true, force: true })
    const second = await startServerProcess()
    const back = provider(second.wsUrl, 'doc/lost', keeper.doc)
    const closes = watchCloses(back)
    const check = provider(second.wsUrl, 'doc/lost')
    await synced(check)
    await untilDoc(check.doc, 'the recovered document', (d) => d.getMap('m').size === 600 && d.getText('t').length === 27, 20_000)
    expect(closes).toEqual([])
    back.destroy()
    check.destroy()
  })

  it('typing a long text one keystroke at a time', async () => {
    const server = await startServerProcess()
    const writer = provider(server.wsUrl, 'doc/typing')
    const reader = provider(server.wsUrl, 'doc/typing')
    const closes = watchCloses(writer)
    await Promise.all([synced(writer), synced(reader)])
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(200)
    for (let i = 0; i < text.length; i++) writer.doc.getText('t').insert(i, text[i]!)
    await untilDoc(reader.doc, 'the whole text', (d) => d.getText('t').length === text.length, 30_000)
    expect(reader.doc.getText('t').toString()).toBe(text)
    expect(closes).toEqual([])
    writer.destroy()
    reader.destroy()
  })

  it('a 20,000-object site uploaded in one message, applied in slices while another editor keeps working', async () => {
    const server = await startServerProcess()
    const src = new Y.Doc()
    generateSite(src, { objects: 20_000, batch: 20_000 })
    const uploader = provider(server.wsUrl, 'site/upload', src)
    const closes = watchCloses(uploader)
    const other = provider(server.wsUrl, 'site/upload')
    await synced(other)
    // The upload is one sync step 2 of several MB (y-websocket sends the offline state at once).
    await untilDoc(other.doc, 'the whole site', (d) => objectsOf(d).size === 20_000, 60_000)
    expect(closes).toEqual([])
    expect(await metric(server.httpUrl, 'atrium_updates_sliced_total', { origin: 'client' })).toBeGreaterThanOrEqual(1)
    uploader.destroy()
    other.destroy()
  })
})
